"""Start the assistant's two servers as `scripts/run` does, for tests and benchmarks.

A `LocalStack` seeds its own SQLite knowledge base and tracker store in a work folder,
starts the action server (answering only with this stack's shared secret) and a Rasa server
(REST channel; HTTP API when given a token) on free ports bound to 127.0.0.1, and stops them
on `close()`. Secrets go to the servers in their environment, never on a command line.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def wait_until_ready(url: str, process: subprocess.Popen | None = None, timeout: float = 300) -> None:
    """Wait for `url` to answer 200; fail early if `process` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        if answers(url):
            return
        time.sleep(0.5)
    raise TimeoutError(url)


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


class LocalStack:
    """The assistant's servers for tests and benchmarks.

    One action server and one Rasa server on SQLite by default. For scale-out (README, "Scale-out"):
    `instances=N` starts N action servers and N Rasa servers (Rasa server i calls action server i);
    `tracker_url` (a PostgreSQL URL; `extra_env` may carry POSTGRESQL_SCHEMA) and `lock_url` (Redis) are
    the shared stores they need; `start_web` starts web processes (`python -m bot serve`) that route
    conversations over all the Rasa servers.
    """

    def __init__(
        self,
        work: Path,
        model: Path,
        api_token: str | None = None,
        *,
        instances: int = 1,
        tracker_url: str | None = None,
        lock_url: str | None = None,
        extra_env: dict[str, str] | None = None,
        ready_timeout: float = 300,
    ) -> None:
        if not model.exists():
            raise FileNotFoundError(f"No trained model at {model}: run scripts/train first.")
        self.work = work
        self.model = model
        self.api_token = api_token
        self.action_secret = secrets.token_urlsafe(24)
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "SANIC_HOST": "127.0.0.1",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "LOCAL_OFFER_DATABASE_URL": f"sqlite:///{work / 'kb.db'}",
            "RASA_TRACKER_STORE_URL": tracker_url or f"sqlite:///{work / 'tracker.db'}",
            "LOCAL_OFFER_ACTION_SECRET": self.action_secret,
        }
        for name in ("RASA_LOCK_STORE_URL", "RASA_AUTH_TOKEN", "RASA_AUTH_TOKEN_FILE", "LOCAL_OFFER_ACTION_SECRET_FILE"):
            self.env.pop(name, None)
        if api_token:
            self.env["RASA_AUTH_TOKEN"] = api_token  # never on a command line (scripts/rasa_server.py reads it)
        if lock_url:
            self.env["RASA_LOCK_STORE_URL"] = lock_url
        self.env.update(extra_env or {})
        subprocess.run([sys.executable, "-m", "knowledge", "seed"], env=self.env, cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        self.actions_ports = [free_port() for _ in range(instances)]
        self.rasa_ports = [free_port() for _ in range(instances)]
        self.actions_port, self.rasa_port = self.actions_ports[0], self.rasa_ports[0]
        self.actions_servers: list[subprocess.Popen | None] = [None] * instances
        self.rasa_servers: list[subprocess.Popen | None] = [None] * instances
        self.web: list[subprocess.Popen] = []
        self.web_ports: list[int] = []
        try:
            for index in range(instances):
                self.start_actions(index)
            for index in range(instances):  # started together: they load the model in parallel
                self._launch_rasa(index)
            for index in range(instances):
                wait_until_ready(self.rasa_url(index), self.rasa_servers[index], timeout=ready_timeout)
        except BaseException:
            self.close()  # nothing left running when start-up fails (no one else holds the processes)
            raise

    # --- One server, as before (the first of each) ---

    @property
    def actions(self) -> subprocess.Popen | None:
        return self.actions_servers[0]

    @property
    def rasa(self) -> subprocess.Popen | None:
        return self.rasa_servers[0]

    @property
    def url(self) -> str:
        return self.rasa_url(0)

    def rasa_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.rasa_ports[index]}"

    @property
    def rasa_urls(self) -> list[str]:
        return [self.rasa_url(i) for i in range(len(self.rasa_ports))]

    def say(self, sender: str, text: str) -> list[dict]:
        """What a parent's widget does: one message over the REST channel, the bot's replies back."""
        body = json.dumps({"sender": sender, "message": text}).encode()
        request = urllib.request.Request(f"{self.url}/webhooks/rest/webhook", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def tracker(self, sender: str, token: str | None = "") -> dict:
        """A conversation from the HTTP API (with this stack's token unless another, or None, is given)."""
        token = self.api_token if token == "" else token
        query = f"?token={token}" if token else ""
        with urllib.request.urlopen(f"{self.url}/conversations/{sender}/tracker{query}", timeout=30) as response:
            return json.loads(response.read())

    # --- Starting and stopping servers ---

    def start_actions(self, index: int = 0) -> None:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "action_server.py"), "--port", str(self.actions_ports[index])],
            env=self.env, cwd=ROOT, stdout=open(self.work / f"actions{self._suffix(index)}.log", "ab"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.actions_servers[index] = process
        wait_until_ready(f"http://127.0.0.1:{self.actions_ports[index]}/health", process)

    def stop_actions(self, index: int | None = None) -> None:
        """Stop action server `index`, or all of them."""
        for i in range(len(self.actions_servers)) if index is None else [index]:
            stop(self.actions_servers[i])

    def restart_actions(self) -> None:
        for index in range(len(self.actions_servers)):
            if self.actions_servers[index] is None or self.actions_servers[index].poll() is not None:
                self.start_actions(index)

    def _suffix(self, index: int) -> str:
        return "" if index == 0 else f"-{index}"

    def _launch_rasa(self, index: int) -> None:
        endpoints = self.work / f"endpoints{self._suffix(index)}.yml"
        endpoints.write_text((ROOT / "endpoints.yml").read_text().replace("5055", str(self.actions_ports[index])))
        port = str(self.rasa_ports[index])
        command = [sys.executable, str(ROOT / "scripts" / "rasa_server.py"), "--model", str(self.model),
                   "--endpoints", str(endpoints), "--credentials", str(ROOT / "credentials.yml"),
                   "-i", "127.0.0.1", "-p", port]  # fmt: skip
        if self.api_token:
            command += ["--enable-api"]  # the token is in the environment (RASA_AUTH_TOKEN), never on the command line
        self.rasa_servers[index] = subprocess.Popen(
            command, env=self.env, cwd=ROOT, stdout=open(self.work / f"rasa{self._suffix(index)}.log", "ab"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip

    def kill_rasa(self, index: int) -> None:
        """Kill Rasa server `index` at once (SIGKILL: no goodbye, as in a crash)."""
        process = self.rasa_servers[index]
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=30)

    def start_web(self, count: int = 1, extra_env: dict[str, str] | None = None) -> list[str]:
        """Start `count` web processes routing over all the Rasa servers; their base URLs."""
        env = {
            **self.env,
            "RASA_URLS": ",".join(self.rasa_urls),
            "LOCAL_OFFER_COOKIE_SECURE": "0",
            **({"RASA_AUTH_TOKEN": self.api_token} if self.api_token else {}),
        }
        env.setdefault("LOCAL_OFFER_SECRET_KEY", "stack-" + os.urandom(8).hex())
        env.update(extra_env or {})
        urls = []
        for _ in range(count):
            port = free_port()
            process = subprocess.Popen(
                [sys.executable, "-m", "bot", "serve", "--port", str(port)], env=env, cwd=ROOT,
                stdout=open(self.work / f"web-{port}.log", "ab"), stderr=subprocess.STDOUT,
            )  # fmt: skip
            self.web.append(process)
            self.web_ports.append(port)
            urls.append(f"http://127.0.0.1:{port}")
        for url, process in zip(urls, self.web[-count:], strict=True):
            wait_until_ready(url + "/", process, timeout=60)
        return urls

    def stop_web(self) -> None:
        for process in self.web:
            stop(process)
        self.web, self.web_ports = [], []

    def processes(self) -> dict[str, subprocess.Popen]:
        found = {}
        for index, process in enumerate(self.actions_servers):
            found[f"action server{self._suffix(index)}"] = process
        for index, process in enumerate(self.rasa_servers):
            found[f"rasa server{self._suffix(index)}"] = process
        return found

    def close(self) -> None:
        self.stop_web()
        for process in self.rasa_servers:
            stop(process)
        for process in self.actions_servers:
            stop(process)

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
    def __init__(self, work: Path, model: Path, api_token: str | None = None) -> None:
        if not model.exists():
            raise FileNotFoundError(f"No trained model at {model}: run scripts/train first.")
        self.work = work
        self.api_token = api_token
        self.action_secret = secrets.token_urlsafe(24)
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "SANIC_HOST": "127.0.0.1",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "LOCAL_OFFER_DATABASE_URL": f"sqlite:///{work / 'kb.db'}",
            "RASA_TRACKER_STORE_URL": f"sqlite:///{work / 'tracker.db'}",
            "LOCAL_OFFER_ACTION_SECRET": self.action_secret,
        }
        for name in ("RASA_LOCK_STORE_URL", "RASA_AUTH_TOKEN", "RASA_AUTH_TOKEN_FILE", "LOCAL_OFFER_ACTION_SECRET_FILE"):
            self.env.pop(name, None)
        if api_token:
            self.env["RASA_AUTH_TOKEN"] = api_token
        subprocess.run([sys.executable, "-m", "knowledge", "seed"], env=self.env, cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        self.actions_port, self.rasa_port = free_port(), free_port()
        endpoints = work / "endpoints.yml"
        endpoints.write_text((ROOT / "endpoints.yml").read_text().replace("5055", str(self.actions_port)))
        self.actions: subprocess.Popen | None = None
        self.start_actions()
        command = [sys.executable, str(ROOT / "scripts" / "rasa_server.py"), "--model", str(model),
                   "--endpoints", str(endpoints), "--credentials", str(ROOT / "credentials.yml"),
                   "-i", "127.0.0.1", "-p", str(self.rasa_port)]  # fmt: skip
        if api_token:
            command += ["--enable-api"]  # the token is in the environment (RASA_AUTH_TOKEN), never on the command line
        self.rasa = subprocess.Popen(command, env=self.env, cwd=ROOT, stdout=open(work / "rasa.log", "wb"),
                                     stderr=subprocess.STDOUT)  # fmt: skip
        wait_until_ready(self.url, self.rasa)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

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

    def start_actions(self) -> None:
        self.actions = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "action_server.py"), "--port", str(self.actions_port)],
            env=self.env, cwd=ROOT, stdout=open(self.work / "actions.log", "ab"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_until_ready(f"http://127.0.0.1:{self.actions_port}/health", self.actions)

    def stop_actions(self) -> None:
        stop(self.actions)

    def processes(self) -> dict[str, subprocess.Popen]:
        return {"action server": self.actions, "rasa server": self.rasa}

    def close(self) -> None:
        stop(self.rasa)
        stop(self.actions)

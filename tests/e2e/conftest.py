"""End-to-end fixtures: the whole stack (Rasa, action server, web app) and headless Chromium.

The web app runs as `python -m bot serve` does in scripts/run, in its own process, against the
assistant stack's knowledge base and tracker store. Chromium is Debian's (/usr/bin/chromium),
driven by Playwright without downloading a browser.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge.db import PROJECT_ROOT
from scripts.stack import free_port, stop, wait_until_ready

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = PROJECT_ROOT / "tests" / "e2e" / "artifacts" / "screenshots"
"""A build output (gitignored); the README's copies in docs/screenshots/ are refreshed on purpose."""
AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "e2e passphrase " + secrets.token_hex(4)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class WebServer:
    def __init__(self, stack, work: Path) -> None:
        self.port = free_port()
        self.env = {
            **stack.env,
            "RASA_URL": stack.url,
            "RASA_AUTH_TOKEN": stack.api_token,
            "LOCAL_OFFER_SECRET_KEY": secrets.token_urlsafe(32),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env, cwd=PROJECT_ROOT, stdout=open(work / "web.log", "wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_until_ready(self.url + "/", self.process, timeout=60)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def create_account(self, username: str, role: str) -> str:
        """An account made the way an administrator makes the first one: with the command line."""
        subprocess.run(
            [sys.executable, "-m", "bot", "create-account", "--username", username, "--role", role, "--password-stdin"],
            input=PASSWORD + "\n", text=True, env=self.env, cwd=PROJECT_ROOT, check=True, capture_output=True,
        )  # fmt: skip
        return username


@pytest.fixture(scope="session")
def web_server(assistant_stack, tmp_path_factory):
    server = WebServer(assistant_stack, tmp_path_factory.mktemp("web"))
    yield server
    stop(server.process)


@pytest.fixture(scope="module")
def browser():
    """Per module: while Playwright's sync API runs it holds an event loop, which pytest-asyncio's
    tests elsewhere in the session can't share, so it is stopped when its module is done."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: scripts/setup installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def sign_in(page, base_url: str, username: str) -> None:
    page.goto(base_url + "/sign-in")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/sign-in" not in page.url, page.content()[:2000]


def run_axe(page) -> list[dict]:
    """Serious and critical axe-core violations on the page as it is now (its context must bypass the CSP)."""
    page.add_script_tag(path=str(AXE))
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def axe_violations(browser, url: str, *, signed_in_as: str | None = None, viewport=None) -> list[dict]:
    """Serious and critical axe-core violations on `url` (axe is injected, so this context bypasses the CSP)."""
    context = browser.new_context(bypass_csp=True, viewport=viewport or {"width": 1280, "height": 900})
    page = context.new_page()
    try:
        if signed_in_as:
            sign_in(page, "/".join(url.split("/", 3)[:3]), signed_in_as)
        page.goto(url)
        page.wait_for_load_state("networkidle")
        return run_axe(page)
    finally:
        context.close()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path

"""A test client for the web app that behaves like a browser: CSRF tokens from the page, signing in."""

from __future__ import annotations

import re

from bot.auth import create_account
from knowledge.kb import KnowledgeBase

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class WebClient:
    def __init__(self, client, kb: KnowledgeBase) -> None:
        self.client = client
        self.kb = kb
        self.app = client.server.app

    def __getattr__(self, name):
        return getattr(self.client, name)  # get, post, ... of aiohttp's TestClient

    async def csrf(self, path: str = "/sign-in") -> str:
        """The CSRF token a form on `path` carries for this browser."""
        response = await self.client.get(path)
        match = _CSRF.search(await response.text())
        assert match, f"no CSRF token on {path} ({response.status})"
        return match.group(1)

    async def submit(self, path: str, data: dict | list, *, form_page: str | None = None, **kwargs):
        """POST a form as a browser would: with the CSRF token from the page the form is on."""
        token = await self.csrf(form_page or "/sign-in")
        fields = list(data.items()) if isinstance(data, dict) else list(data)
        return await self.client.post(path, data=[("csrf_token", token), *fields], allow_redirects=False, **kwargs)

    def make_account(self, username: str, role: str, password: str = PASSWORD) -> None:
        with self.kb.sessions.begin() as session:
            create_account(session, username, password, role, display_name=username.title())

    async def sign_in(self, role: str, username: str | None = None) -> str:
        """Create an account with `role` and sign in as it; returns the username."""
        username = username or f"{role}-user"
        self.make_account(username, role)
        response = await self.submit("/sign-in", {"username": username, "password": PASSWORD})
        assert response.status == 303, await response.text()
        return username

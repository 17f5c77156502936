"""Signing in: accounts, roles, server-side sessions and the permission check for handlers.

Roles: administrator (everything, manages accounts), editor (services, signposts and the
rest of the knowledge base), staff (the helpline console only).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import delete, select, update

from bot.security import hash_password, new_token, password_problem, sha256, verify_password
from knowledge import models as m

ROLES = {"administrator": "Administrator", "editor": "Editor", "staff": "Helpline staff"}
PERMISSIONS = {
    "console": {"administrator", "staff"},
    "edit": {"administrator", "editor"},
    "accounts": {"administrator"},
}
SESSION_COOKIE = "lo_session"
"""The session cookie's name over plain HTTP (development); over HTTPS it is `__Host-lo_session`."""
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-@")


@dataclass(frozen=True)
class SignedIn:
    id: int
    username: str
    display_name: str
    role: str

    @classmethod
    def of(cls, account: m.Account) -> SignedIn:
        return cls(account.id, account.username, account.display_name, account.role)

    def may(self, permission: str) -> bool:
        return self.role in PERMISSIONS[permission]

    @property
    def role_name(self) -> str:
        return ROLES[self.role]


class AccountError(ValueError):
    """A request to create or change an account that can't be done; the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def normalise_username(username: str) -> str:
    return (username or "").strip().lower()


def username_problem(username: str) -> str | None:
    if not username:
        return "Enter a username"
    if len(username) > 120 or not set(username) <= USERNAME_CHARS:
        return "Username must be letters, numbers, dots, dashes, underscores or @ (up to 120)"
    return None


def create_account(session, username: str, password: str, role: str, display_name: str = "") -> m.Account:
    username = normalise_username(username)
    problem = username_problem(username)
    if problem:
        raise AccountError("username", problem)
    if role not in ROLES:
        raise AccountError("role", "Choose a role")
    problem = password_problem(password, username)
    if problem:
        raise AccountError("password", problem)
    if session.execute(select(m.Account.id).where(m.Account.username == username)).first():
        raise AccountError("username", "An account with that username already exists")
    account = m.Account(
        username=username, display_name=display_name.strip() or username, role=role, password_hash=hash_password(password)
    )
    session.add(account)
    session.flush()
    return account


def authenticate(session, username: str, password: str) -> m.Account | None:
    account = session.execute(select(m.Account).where(m.Account.username == normalise_username(username))).scalar_one_or_none()
    if account is None:
        verify_password(password, _DUMMY_HASH)  # same work whether or not the account exists
        return None
    if not verify_password(password, account.password_hash) or not account.active:
        return None
    return account


def session_cookie_name(secure: bool) -> str:
    """`__Host-` makes browsers refuse the cookie unless it is Secure, for the whole site and from this host only."""
    return "__Host-" + SESSION_COOKIE if secure else SESSION_COOKIE


def _expiry(created_at, now, hours: int, idle_minutes: int):
    """A session lasts `idle_minutes` from its last request, and never beyond `hours` from sign-in."""
    return min(now + timedelta(minutes=idle_minutes), created_at + timedelta(hours=hours))


def start_session(session, account: m.Account, hours: int, idle_minutes: int, replacing: str | None = None) -> str:
    """A new session for `account`; returns the cookie value (only its hash is stored).

    `replacing` is the session cookie the browser already had: that session ends, whoever it was for.
    """
    token = new_token()
    now = m.utcnow()
    end_session(session, replacing)
    session.execute(delete(m.WebSession).where(m.WebSession.expires_at < now))
    expires_at = _expiry(now, now, hours, idle_minutes)
    session.add(m.WebSession(id=sha256(token), account_id=account.id, created_at=now, expires_at=expires_at))
    # A plain UPDATE: signing in is not an edit, so it must not move the version an administrator's form holds.
    session.execute(update(m.Account).where(m.Account.id == account.id).values(last_sign_in_at=now))
    return token


def end_session(session, token: str | None) -> None:
    if token:
        session.execute(delete(m.WebSession).where(m.WebSession.id == sha256(token)))


def end_all_sessions(session, account_id: int) -> None:
    session.execute(delete(m.WebSession).where(m.WebSession.account_id == account_id))


def signed_in(session, token: str | None, hours: int, idle_minutes: int) -> SignedIn | None:
    """Who this session cookie is for (None if nobody, or the session ended); moves its idle expiry on.

    The expiry is written at most once a minute per session, not on every request.
    """
    if not token:
        return None
    now = m.utcnow()
    row = session.execute(
        select(m.Account, m.WebSession)
        .join(m.WebSession, m.WebSession.account_id == m.Account.id)
        .where(m.WebSession.id == sha256(token), m.WebSession.expires_at > now, m.Account.active.is_(True))
    ).first()
    if row is None:
        return None
    account, web_session = row
    expires_at = _expiry(web_session.created_at, now, hours, idle_minutes)
    if expires_at - web_session.expires_at > timedelta(minutes=1):
        session.execute(update(m.WebSession).where(m.WebSession.id == web_session.id).values(expires_at=expires_at))
    return SignedIn.of(account)


def requires(permission: str):
    """Handler decorator: signed in (else to the sign-in page) with a role that has `permission` (else 403)."""

    def decorate(handler):
        @functools.wraps(handler)
        async def wrapped(request: web.Request):
            account: SignedIn | None = request.get("account")
            if account is None:
                raise web.HTTPSeeOther("/sign-in?" + urlencode({"next": request.rel_url.path}))
            if not account.may(permission):
                raise web.HTTPForbidden(text="You do not have access to this page.")
            return await handler(request)

        wrapped.permission = permission
        return wrapped

    return decorate


_DUMMY_HASH = hash_password(new_token())

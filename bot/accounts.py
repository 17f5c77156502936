"""Account rules for administrators: change a role or name, deactivate, reset a password.

Plain functions on a database session (no aiohttp), beside bot/auth.py's signing in and
account creation. Every change is audited, never with password data.
"""

from __future__ import annotations

from sqlalchemy import func, select

from bot.auth import ROLES, AccountError, SignedIn, end_all_sessions
from bot.security import hash_password, password_problem
from knowledge import models as m
from knowledge.audit import check_version, record_change


def account_record(account: m.Account) -> dict:
    """An account as the audit trail keeps it: never the password hash."""
    return {"username": account.username, "display_name": account.display_name, "role": account.role, "active": account.active}


def other_active_administrators(session, account_id: int) -> int:
    query = select(func.count()).select_from(m.Account)
    query = query.where(m.Account.role == "administrator", m.Account.active.is_(True), m.Account.id != account_id)
    return session.execute(query).scalar_one()


LAST_ADMINISTRATOR = (
    "{name} is the only active administrator. Make another account an administrator first, "
    "so that someone can still manage accounts."
)


def change_account(
    session, account_id: int, expected_version: int | None, actor: SignedIn, display_name: str, role: str, active: bool
) -> m.Account:
    """Change an account's name, role or whether it can sign in. Raises AccountError or EditConflict."""
    account = session.get(m.Account, account_id)
    if account is None:
        raise LookupError(account_id)
    check_version("account", str(account_id), account.version, expected_version, account_record(account))
    if role not in ROLES:
        raise AccountError("role", "Choose a role")
    display_name = display_name.strip()
    if len(display_name) > 200:
        raise AccountError("display_name", "Keep the name to 200 characters or fewer")
    was_admin = account.role == "administrator" and account.active
    if was_admin and (role != "administrator" or not active) and other_active_administrators(session, account_id) == 0:
        raise AccountError("role" if role != "administrator" else "active", LAST_ADMINISTRATOR.format(name=account.username))
    if account.id == actor.id and not active:
        raise AccountError("active", "You cannot deactivate your own account. Ask another administrator to do it.")
    before = account_record(account)
    account.display_name = display_name or account.username
    account.role = role
    account.active = active
    after = account_record(account)
    if before == after:
        return account
    if before["active"] and not active:
        end_all_sessions(session, account.id)
    session.flush()
    record_change(session, actor.username, "account", str(account.id), "update", before, after, _account_summary(before, after))
    return account


def _account_summary(before: dict, after: dict) -> str:
    parts = []
    if before["role"] != after["role"]:
        parts.append(f"role {ROLES[before['role']]} to {ROLES[after['role']]}")
    if before["active"] != after["active"]:
        parts.append("reactivated" if after["active"] else "deactivated (signed out everywhere)")
    if before["display_name"] != after["display_name"]:
        parts.append("changed the name")
    return f"Account {after['username']}: " + ", ".join(parts)


def reset_password(session, account_id: int, expected_version: int | None, actor: SignedIn, password: str, confirm: str):
    """An administrator sets a new password for someone; all that account's sessions end."""
    account = session.get(m.Account, account_id)
    if account is None:
        raise LookupError(account_id)
    check_version("account", str(account_id), account.version, expected_version, account_record(account))
    problem = password_problem(password, account.username)
    if problem:
        raise AccountError("password", problem)
    if password != confirm:
        raise AccountError("confirm", "The two passwords do not match")
    account.password_hash = hash_password(password)
    end_all_sessions(session, account.id)
    session.flush()
    summary = f"Account {account.username}: password reset by an administrator (signed out everywhere)"
    record_change(session, actor.username, "account", str(account.id), "password", None, None, summary)
    return account

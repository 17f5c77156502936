"""Settings for the web app, from the environment, with embedded defaults under var/."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from bot.proxy import parse_networks
from knowledge.db import PROJECT_ROOT

VAR = PROJECT_ROOT / "var"


def _read_or_create_secret(path: Path) -> str:
    """A random secret kept in a private file, made on first use (never a default)."""
    if path.exists() and path.read_text().strip():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes", "on")


def _number(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


@dataclass
class Settings:
    database_url: str | None = None
    """Knowledge base URL; None means $LOCAL_OFFER_DATABASE_URL or the SQLite default."""
    tracker_store_url: str | None = None
    """Rasa's tracker store (read by the staff console); None means Rasa's own default."""
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str | None = None
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    cookie_secure: bool = True
    session_hours: int = 8
    widget_burst: int = 20
    """Messages a browser may send at once before the widget's rate limit applies."""
    widget_per_minute: int = 30
    trusted_proxies: tuple = ()
    """Addresses or networks of the reverse proxy in front of the app (LOCAL_OFFER_TRUSTED_PROXIES):
    only requests from them have their X-Forwarded-For / Forwarded / X-Forwarded-Proto read (see bot/proxy.py)."""
    behind_https: bool = False
    """The public site is HTTPS (LOCAL_OFFER_BEHIND_HTTPS): send HSTS and expect https:// Origins."""
    hsts_seconds: int = 365 * 24 * 3600
    session_idle_minutes: int = 30
    """A staff session ends after this long without a request (and in any case after session_hours)."""
    sign_in_free_failures: int = 5
    """Wrong passwords for one account before each further try must wait (1 s, 2 s, 4 s, ... up to 15 minutes)."""
    sign_in_free_failures_per_address: int = 20
    """The same, for all accounts tried from one client address (an office may share one address)."""
    new_conversations_per_hour: int = 20
    """New chats one client address may start in an hour (keeps one sender from flooding the call-back queue)."""
    messages_per_conversation_per_minute: int = 20
    widget_frame_ancestors: str = "*"
    """Which sites may embed the widget (CSP frame-ancestors); '*' for any council page."""
    rasa_timeout_seconds: float = 30.0
    handoff_wait_seconds: int = 300
    """How long a parent waits in the queue for a person before being offered a call-back."""
    handoff_poll_per_minute: int = 120
    """Polls a browser may make while waiting for or chatting with a person (its own rate limit)."""
    oruk_publish_sample: bool = True
    """Whether the Open Referral API publishes records marked as sample data (turn off once real data is in)."""
    oruk_burst: int = 60
    """Requests an address may make to the Open Referral API at once before its rate limit applies."""
    oruk_per_minute: int = 300
    sync_url: str | None = None
    """LOCAL_OFFER_SYNC_URL: an Open Referral UK API whose services the web app syncs on a schedule (none: no sync)."""
    sync_interval_minutes: float = 0.0
    """LOCAL_OFFER_SYNC_INTERVAL_MINUTES: minutes between those syncs (default 60 when started from the environment
    with a sync URL); 0 means no scheduled sync (`python -m knowledge sync URL` from cron instead)."""
    # --- Retention and scale-out (bot/retention.py, bot/routing.py, bot/security.py) ---
    retention_days: int = 90
    """Days a conversation is kept after its last message (LOCAL_OFFER_RETENTION_DAYS); said in the privacy notice."""
    callback_retention_days: int = 30
    """Days a call-back request's contact details are kept at most (LOCAL_OFFER_CALLBACK_RETENTION_DAYS, never
    more than retention_days); said on the call-back form. Closing the request erases them at once."""
    purge_interval_minutes: float = 0.0
    """Minutes between the web app's scheduled purges (LOCAL_OFFER_PURGE_INTERVAL_MINUTES, default 60 when
    started from the environment); 0 means no scheduled purge (tests, or `python -m bot purge` from cron)."""
    rasa_urls: tuple[str, ...] = ()
    """Several Rasa servers (RASA_URLS, comma-separated): each conversation goes to one by a stable hash of
    its id, and to the next when that one does not answer. Empty means `rasa_url` alone."""
    redis_url: str | None = None
    """LOCAL_OFFER_REDIS_URL: keep the rate limits, new-chat counts and sign-in throttle in Redis, shared by every
    web process; else in each process's memory (bot/shared_state.py)."""
    redis_prefix: str = "local_offer:rate:"
    """LOCAL_OFFER_REDIS_PREFIX: the start of every key the web app keeps in Redis (one per deployment sharing a Redis)."""
    rasa_connect_timeout_seconds: float = 2.0
    """How long to wait for a Rasa server to accept the connection before trying the next one."""
    rasa_retry_seconds: float = 15.0
    """With several Rasa servers: how long to keep trying them all again when none answered (a server that died
    mid-turn holds that conversation's lock until the lock store's TICKET_LOCK_LIFETIME runs out)."""

    @property
    def rasa_servers(self) -> tuple[str, ...]:
        return self.rasa_urls or (self.rasa_url,)

    @classmethod
    def from_env(cls) -> Settings:
        if os.environ.get("LOCAL_OFFER_TRUST_FORWARDED_FOR"):
            raise ValueError(
                "LOCAL_OFFER_TRUST_FORWARDED_FOR is replaced by LOCAL_OFFER_TRUSTED_PROXIES: "
                "set it to your reverse proxy's address (see the README's security settings)."
            )
        token = os.environ.get("RASA_AUTH_TOKEN")
        token_file = VAR / "rasa_api_token"
        if not token and token_file.exists():
            token = token_file.read_text().strip() or None
        return cls(
            database_url=os.environ.get("LOCAL_OFFER_DATABASE_URL") or None,
            tracker_store_url=os.environ.get("RASA_TRACKER_STORE_URL") or None,
            rasa_url=os.environ.get("RASA_URL", "http://127.0.0.1:5005").rstrip("/"),
            rasa_token=token,
            secret_key=os.environ.get("LOCAL_OFFER_SECRET_KEY") or _read_or_create_secret(VAR / "web_secret"),
            cookie_secure=_flag("LOCAL_OFFER_COOKIE_SECURE", True),
            trusted_proxies=parse_networks(os.environ.get("LOCAL_OFFER_TRUSTED_PROXIES", "")),
            behind_https=_flag("LOCAL_OFFER_BEHIND_HTTPS", False),
            session_idle_minutes=_number("LOCAL_OFFER_SESSION_IDLE_MINUTES", 30),
            widget_frame_ancestors=os.environ.get("LOCAL_OFFER_WIDGET_FRAME_ANCESTORS", "*"),
            handoff_wait_seconds=int(os.environ.get("LOCAL_OFFER_HANDOFF_WAIT_SECONDS", "300")),
            oruk_publish_sample=_flag("LOCAL_OFFER_ORUK_PUBLISH_SAMPLE", True),
            **_sync_settings_from_env(),
            **_scale_settings_from_env(),
        )


def _sync_settings_from_env() -> dict:
    """The scheduled Open Referral UK sync (see the README's "Sync from a live directory")."""
    url = os.environ.get("LOCAL_OFFER_SYNC_URL", "").strip() or None
    raw = os.environ.get("LOCAL_OFFER_SYNC_INTERVAL_MINUTES", "").strip()
    try:
        minutes = max(0.0, float(raw)) if raw else 60.0
    except ValueError:
        raise ValueError(f"LOCAL_OFFER_SYNC_INTERVAL_MINUTES must be a number of minutes, not {raw!r}") from None
    return {"sync_url": url, "sync_interval_minutes": minutes if url else 0.0}


def _scale_settings_from_env() -> dict:
    """Retention, several Rasa servers and the shared rate-limit store (see the README's "Privacy" and "Scale-out")."""
    from bot.retention import callback_retention_days_from_env, purge_interval_from_env, retention_days_from_env

    urls = tuple(u.strip().rstrip("/") for u in os.environ.get("RASA_URLS", "").split(",") if u.strip())
    limits = {}
    for name, variable in (
        ("widget_burst", "LOCAL_OFFER_WIDGET_BURST"),
        ("widget_per_minute", "LOCAL_OFFER_WIDGET_PER_MINUTE"),
        ("new_conversations_per_hour", "LOCAL_OFFER_NEW_CONVERSATIONS_PER_HOUR"),
        ("messages_per_conversation_per_minute", "LOCAL_OFFER_MESSAGES_PER_CONVERSATION_PER_MINUTE"),
    ):
        if os.environ.get(variable, "").strip():
            limits[name] = int(os.environ[variable])
    return {
        **limits,
        "redis_prefix": os.environ.get("LOCAL_OFFER_REDIS_PREFIX") or "local_offer:rate:",
        "retention_days": retention_days_from_env(),
        "callback_retention_days": callback_retention_days_from_env(retention_days_from_env()),
        "purge_interval_minutes": purge_interval_from_env(),
        "rasa_urls": urls,
        "redis_url": os.environ.get("LOCAL_OFFER_REDIS_URL") or None,
    }

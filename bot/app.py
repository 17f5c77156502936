"""The aiohttp application: one app for the widget, the staff console, the editor and public pages."""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.config import Settings
from bot.limits import ConversationStarts
from bot.middlewares import browser_session, error_pages, security_headers
from bot.render import make_environment
from bot.security import RateLimiter
from bot.throttle import SignInThrottle
from bot.views import admin, admin_data, console, openreferral, oversight, public, widget
from knowledge.db import PROJECT_ROOT
from knowledge.kb import KnowledgeBase
from knowledge.outage_helpline import OutageHelpline
from knowledge.schema import migrate

logger = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
GOVUK_FRONTEND = PROJECT_ROOT / "node_modules" / "govuk-frontend" / "dist" / "govuk"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


async def _open_rasa_client(app: web.Application) -> None:
    timeout = aiohttp.ClientTimeout(total=app["settings"].rasa_timeout_seconds)
    app["rasa_http"] = aiohttp.ClientSession(timeout=timeout)


async def _close(app: web.Application) -> None:
    await app["rasa_http"].close()
    if app.get("owns_kb"):
        app["kb"].dispose()


def create_app(settings: Settings | None = None, kb: KnowledgeBase | None = None) -> web.Application:
    settings = settings or Settings.from_env()
    app = web.Application(middlewares=[security_headers, error_pages, browser_session], client_max_size=MAX_UPLOAD_BYTES)
    app["settings"] = settings
    app["owns_kb"] = kb is None
    if kb is None:
        kb = KnowledgeBase(settings.database_url)
        migrate(kb.engine)
    app["kb"] = kb
    app["jinja"] = make_environment()
    app["helpline"] = OutageHelpline(kb.engine)
    # Rate limits: each keyed by a string and asked `allow(key)` (bot/security.py's RateLimiter).
    app["widget_limiter"] = RateLimiter(settings.widget_burst, settings.widget_per_minute)  # per client address
    app["new_conversation_limiter"] = RateLimiter(settings.new_conversations_per_hour, settings.new_conversations_per_hour / 60)
    app["conversation_limiter"] = RateLimiter(settings.messages_per_conversation_per_minute,
                                              settings.messages_per_conversation_per_minute)  # fmt: skip
    app["conversation_starts"] = ConversationStarts()
    app["sign_in_throttle"] = SignInThrottle(settings.sign_in_free_failures, settings.sign_in_free_failures_per_address)
    app.on_startup.append(_open_rasa_client)
    app.on_cleanup.append(_close)
    for module in (public, widget, console, admin, admin_data, oversight, openreferral):
        module.setup(app)
    app.router.add_static("/static/app/", STATIC, append_version=False)
    if GOVUK_FRONTEND.exists():
        app.router.add_static("/static/govuk/", GOVUK_FRONTEND)
    else:
        logger.warning("GOV.UK Frontend is not installed (run scripts/setup): pages will be unstyled")
    return app

"""The aiohttp application: one app for the widget, the staff console, the editor and public pages."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.config import Settings
from bot.limits import ConversationStarts
from bot.middlewares import browser_session, error_pages, security_headers
from bot.render import make_environment
from bot.retention import Retention
from bot.routing import RasaRouter
from bot.security import RateLimiter, make_rate_limiter
from bot.throttle import SignInThrottle
from bot.views import admin, admin_data, admin_import, console, openreferral, oversight, public, widget
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


async def _close_limiter(app: web.Application) -> None:
    await app["widget_limiter"].close()


async def _scheduled_purge(app: web.Application):
    """A background task: purge conversations past the retention period now, then every interval.

    The purge runs in a worker thread, in short batches, so chat turns carry on meanwhile."""

    async def loop() -> None:
        interval = app["settings"].purge_interval_minutes * 60
        while True:
            try:
                await asyncio.get_running_loop().run_in_executor(None, app["retention"].purge)
            except Exception:  # a database outage must not end the schedule
                logger.exception("scheduled purge failed; trying again at the next interval")
            await asyncio.sleep(interval)

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


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
    # Rate limits: each keyed by a string and asked `await check(key)` (bot/security.py). The widget's is kept in
    # Redis when LOCAL_OFFER_REDIS_URL is set, so every web process shares it; the others are per process.
    app["widget_limiter"] = make_rate_limiter(
        settings.redis_url, settings.widget_burst, settings.widget_per_minute, settings.redis_prefix
    )  # per client address
    app["new_conversation_limiter"] = RateLimiter(settings.new_conversations_per_hour, settings.new_conversations_per_hour / 60)
    app["conversation_limiter"] = RateLimiter(settings.messages_per_conversation_per_minute,
                                              settings.messages_per_conversation_per_minute)  # fmt: skip
    app["conversation_starts"] = ConversationStarts()
    app["sign_in_throttle"] = SignInThrottle(settings.sign_in_free_failures, settings.sign_in_free_failures_per_address)
    app["rasa_router"] = RasaRouter(settings.rasa_servers, settings.rasa_connect_timeout_seconds, settings.rasa_retry_seconds)
    app["jinja"].globals["retention_days"] = settings.retention_days
    app.on_startup.append(_open_rasa_client)
    app.on_cleanup.append(_close)
    for module in (public, widget, console, admin, admin_data, admin_import, oversight, openreferral):
        module.setup(app)
    app["retention"] = Retention(app[console.STORE], kb.engine, settings.retention_days)
    app.on_cleanup.append(_close_limiter)
    if settings.purge_interval_minutes > 0:
        app.cleanup_ctx.append(_scheduled_purge)
    app.router.add_static("/static/app/", STATIC, append_version=False)
    if GOVUK_FRONTEND.exists():
        app.router.add_static("/static/govuk/", GOVUK_FRONTEND)
    else:
        logger.warning("GOV.UK Frontend is not installed (run scripts/setup): pages will be unstyled")
    return app

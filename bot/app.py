"""The aiohttp application: one app for the widget, the staff console, the editor and public pages."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

import aiohttp
from aiohttp import web

from bot import shared_state
from bot.config import Settings
from bot.middlewares import browser_session, error_pages, security_headers
from bot.render import make_environment
from bot.retention import Retention
from bot.routing import RasaRouter
from bot.views import admin, admin_data, admin_import, console, openreferral, oversight, public, widget
from knowledge.db import PROJECT_ROOT
from knowledge.kb import KnowledgeBase
from knowledge.outage_helpline import OutageHelpline
from knowledge.scheduled_sync import run_scheduled_sync
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


def _periodic_jobs(settings: Settings) -> list[tuple[str, float, Callable[[web.Application], object]]]:
    """The web app's background jobs: (name, minutes between runs, the work, which runs in a worker thread)."""
    jobs = []
    if settings.purge_interval_minutes > 0:
        jobs.append(("retention purge", settings.purge_interval_minutes, lambda app: app["retention"].scheduled_purge()))
    if settings.sync_url and settings.sync_interval_minutes > 0:
        jobs.append(
            (
                "Open Referral sync",
                settings.sync_interval_minutes,
                lambda app: run_scheduled_sync(app["kb"].engine, app["kb"].sessions, settings.sync_url),
            )
        )
    return jobs


async def _background_jobs(app: web.Application):
    """Run each periodic job now, then every interval, until the app stops.

    Jobs run in worker threads (the purge in short batches), so chat turns carry on meanwhile;
    a job that fails (a database outage) is logged and tried again at its next interval."""

    async def every(name: str, minutes: float, work) -> None:
        while True:
            try:
                await asyncio.get_running_loop().run_in_executor(None, work, app)
            except Exception:
                logger.exception("scheduled %s failed; trying again at the next interval", name)
            await asyncio.sleep(minutes * 60)

    tasks = [asyncio.create_task(every(*job)) for job in _periodic_jobs(app["settings"])]
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
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
    shared_state.install(app, settings)  # rate limits, new chats, sign-in throttle: in Redis or in memory
    app["rasa_router"] = RasaRouter(settings.rasa_servers, settings.rasa_connect_timeout_seconds, settings.rasa_retry_seconds)
    app["jinja"].globals["retention_days"] = settings.retention_days
    app["jinja"].globals["callback_retention_days"] = min(settings.callback_retention_days, settings.retention_days)
    app.on_startup.append(_open_rasa_client)
    app.on_cleanup.append(_close)
    for module in (public, widget, console, admin, admin_data, admin_import, oversight, openreferral):
        module.setup(app)
    app["retention"] = Retention(app[console.STORE], kb.engine, settings.retention_days, settings.callback_retention_days)
    if _periodic_jobs(settings):
        app.cleanup_ctx.append(_background_jobs)
    app.router.add_static("/static/app/", STATIC, append_version=False)
    if GOVUK_FRONTEND.exists():
        app.router.add_static("/static/govuk/", GOVUK_FRONTEND)
    else:
        logger.warning("GOV.UK Frontend is not installed (run scripts/setup): pages will be unstyled")
    return app

"""The scheduled sync: the web app syncs from a live feed (a real local server) in its background jobs,
one process at a time, and a failure is shown to administrators without stopping the app."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from knowledge import models as m
from knowledge.locks import held_if_free
from knowledge.scheduled_sync import LOCK, run_scheduled_sync
from tests.oruk_feed import ORG_ID, FeedServer, feed_app, generated_services


@pytest.fixture
def feed():
    server = FeedServer(feed_app(generated_services(15)))
    yield server
    server.close()


def _count(kb, model, *where) -> int:
    with kb.sessions() as session:
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def _sync_entries(kb) -> list[m.AuditEntry]:
    with kb.sessions() as session:
        query = select(m.AuditEntry).where(m.AuditEntry.entity_type == "sync").order_by(m.AuditEntry.id)
        return list(session.execute(query).scalars())


def test_only_one_process_syncs_at_a_time(fresh_kb, feed):
    synced = m.Service.source_url == feed.url
    with held_if_free(fresh_kb.engine, LOCK) as first:  # another web process, syncing now
        assert first is True
        with held_if_free(fresh_kb.engine, LOCK) as second:
            assert second is False
        assert run_scheduled_sync(fresh_kb.engine, fresh_kb.sessions, feed.url) is None
        assert _count(fresh_kb, m.Service, synced) == 0
    report = run_scheduled_sync(fresh_kb.engine, fresh_kb.sessions, feed.url)  # the lock was let go
    assert len(report.added) == 15 and _count(fresh_kb, m.Service, synced) == 15


def test_a_failure_is_recorded_once_and_the_recovery_too(fresh_kb, feed):
    feed.runner.app["fail_from_page"] = 1
    for _ in range(3):
        assert run_scheduled_sync(fresh_kb.engine, fresh_kb.sessions, feed.url) is None
    entries = _sync_entries(fresh_kb)
    assert [e.action for e in entries] == ["sync_failed"]  # a feed that stays down does not fill the trail
    assert "the server answered 500" in entries[0].summary and entries[0].actor == "scheduled sync"
    assert _count(fresh_kb, m.Service, m.Service.source_url == feed.url) == 0
    feed.runner.app["fail_from_page"] = None
    assert len(run_scheduled_sync(fresh_kb.engine, fresh_kb.sessions, feed.url).added) == 15
    assert run_scheduled_sync(fresh_kb.engine, fresh_kb.sessions, feed.url).unchanged == 15
    assert [e.action for e in _sync_entries(fresh_kb)] == ["sync_failed", "sync"]  # the quiet sync wrote nothing
    feed.runner.app["fail_from_page"] = 1
    run_scheduled_sync(fresh_kb.engine, fresh_kb.sessions, feed.url)
    feed.runner.app["fail_from_page"] = None
    run_scheduled_sync(fresh_kb.engine, fresh_kb.sessions, feed.url)
    last = _sync_entries(fresh_kb)[-2:]
    assert [e.action for e in last] == ["sync_failed", "sync"]
    assert last[1].summary.startswith(f"Synced from {feed.url} again: nothing had changed")


async def _until(check, seconds: float = 20.0) -> None:
    for _ in range(int(seconds / 0.1)):
        if check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the background job did not run in time")


async def test_the_web_app_syncs_on_a_schedule_and_shows_failures(aiohttp_client, web_kb, web_settings, feed):
    from bot.app import create_app
    from tests.web_helpers import WebClient

    web_settings.sync_url, web_settings.sync_interval_minutes = feed.url, 60
    client = WebClient(await aiohttp_client(create_app(web_settings, web_kb)), web_kb)
    await _until(lambda: _count(web_kb, m.Service, m.Service.source_url == feed.url) == 15)
    published = await (await client.get(f"/openreferral/services?organization_id={ORG_ID}")).json()
    assert published["total_items"] == 15
    await client.client.close()

    web_settings.sync_url = "http://127.0.0.1:9"  # nothing listens here
    client = WebClient(await aiohttp_client(create_app(web_settings, web_kb)), web_kb)
    await _until(lambda: _sync_entries(web_kb)[-1].action == "sync_failed")
    assert (await client.get("/openreferral/")).status == 200  # the app carries on
    await client.sign_in("administrator")
    dashboard = await (await client.get("/admin")).text()
    assert "Sync from http://127.0.0.1:9 failed, nothing was changed: page 1 of /services: can&#39;t reach" in dashboard


def test_an_in_memory_database_is_locked_within_the_process():
    from knowledge.db import make_engine

    engine = make_engine("sqlite://")
    with held_if_free(engine, LOCK) as first, held_if_free(engine, LOCK) as second:
        assert (first, second) == (True, False)
    with held_if_free(engine, LOCK) as again:
        assert again is True

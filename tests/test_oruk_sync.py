"""Sync from a live Open Referral UK API, served by a local aiohttp server: create, update, retire by id,
keep our annotations, report changes in the audit trail, and change nothing when the feed fails."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from knowledge import models as m
from knowledge.sync import SyncFailed, sync
from tests.oruk_feed import FeedServer, feed_app, generated_services


@pytest.fixture
def serve():
    servers = []

    def start(services, **kwargs) -> str:
        servers.append(FeedServer(feed_app(services, **kwargs)))
        return servers[-1].url

    yield start
    for server in servers:
        server.close()


def _snapshot(kb):
    with kb.sessions() as session:
        rows = session.execute(select(m.Service.id, m.Service.name, m.Service.status, m.Service.version)).all()
        audits = session.execute(select(func.count()).select_from(m.AuditEntry)).scalar_one()
    return sorted(rows), audits


def test_sync_creates_updates_retires_and_keeps_local_annotations(fresh_kb, serve):
    services = generated_services(45)
    url = serve(services)
    report = sync(fresh_kb.sessions, url, per_page=20)
    assert len(report.added) == 45 and not report.changed and not report.retired
    assert report.pages == 3 and report.details_fetched == 12  # every 4th list item was partial
    first, second, gone = services[0]["id"], services[1]["id"], services[2]["id"]
    with fresh_kb.sessions.begin() as session:
        service = session.get(m.Service, first)
        assert float(service.maximum_age) == 25 and service.source_url == url  # 99 clamped
        assert [c.phone for c in service.contacts] == ["023 8000 0000"]
        assert [a.gss_code for a in service.service_areas] == ["E07000090"]
        service.tier, service.who_for = "targeted", "Families in Havant with a child who has SEND"
    changed = [dict(s) for s in services if s["id"] != gone]
    changed[1]["name"] = "Renamed community service"
    url = serve(changed)
    report = sync(fresh_kb.sessions, url, per_page=20)
    assert report.added == [] and report.retired == []  # a different base URL: nothing of its own to retire yet
    assert report.changed == {second: {"name": ["Community service 1", "Renamed community service"]}}
    with fresh_kb.sessions.begin() as session:  # the same directory, moved: services now come from the new URL
        assert session.get(m.Service, first).source_url == url
        session.get(m.Service, gone).source_url = url
    report = sync(fresh_kb.sessions, url, per_page=20)
    assert report.retired == [gone] and not report.added and not report.changed
    with fresh_kb.sessions() as session:
        service = session.get(m.Service, first)
        assert service.tier == "targeted" and service.who_for.startswith("Families in Havant")
        assert session.get(m.Service, gone).status == "inactive"
        entries = (
            session.execute(select(m.AuditEntry).where(m.AuditEntry.entity_type == "sync").order_by(m.AuditEntry.id))
            .scalars()
            .all()
        )
    assert [len(e.after["added"]) for e in entries] == [45, 0, 0]
    assert entries[1].after["changed"][second]["name"][1] == "Renamed community service"
    assert entries[2].after["retired"] == [gone]
    before = _snapshot(fresh_kb)
    again = sync(fresh_kb.sessions, url, per_page=20)
    assert not again.has_changes and again.unchanged == 44
    assert _snapshot(fresh_kb) == before  # no writes, no audit noise


@pytest.mark.parametrize("kind", ["fails half-way", "unreachable", "wrong address"])
def test_a_broken_feed_changes_nothing_and_says_why(fresh_kb, serve, kind):
    services = generated_services(30)
    if kind == "fails half-way":
        url, words = serve(services, fail_from_page=2), "page 2 of /services: the server answered 500"
    elif kind == "unreachable":
        url, words = "http://127.0.0.1:9", "can't reach"
    else:
        url, words = serve(services) + "/services/nothing-here", "answered 404"
    before = _snapshot(fresh_kb)
    with pytest.raises(SyncFailed, match=words):
        sync(fresh_kb.sessions, url, per_page=10)
    assert _snapshot(fresh_kb) == before


def test_an_invalid_feed_changes_nothing(fresh_kb, serve):
    services = generated_services(10)
    services[7]["name"] = ""
    url = serve(services)
    before = _snapshot(fresh_kb)
    with pytest.raises(SyncFailed, match="1 error"):
        sync(fresh_kb.sessions, url, per_page=5)
    assert _snapshot(fresh_kb) == before


def test_the_command_line_reports_the_sync_and_its_failures(tmp_path, serve, capsys):
    from knowledge.cli import main

    database = f"sqlite:///{tmp_path / 'kb.db'}"
    assert main(["--database", database, "seed"]) == 0
    capsys.readouterr()
    url = serve(generated_services(12))
    assert main(["--database", database, "sync", url, "--per-page", "5", "--dry-run"]) == 0
    assert "(dry run, nothing written)" in capsys.readouterr().out
    assert main(["--database", database, "sync", url, "--per-page", "5"]) == 0
    assert "12 added, 0 changed, 0 retired" in capsys.readouterr().out
    assert main(["--database", database, "sync", "http://127.0.0.1:9"]) == 1
    assert "Sync failed, nothing was changed: page 1 of /services: can't reach" in capsys.readouterr().err


def test_unchanged_items_are_passed_over_until_the_feed_the_service_or_the_mapping_changes(fresh_kb, serve):
    services = generated_services(12)
    url = serve(services)
    sync(fresh_kb.sessions, url, per_page=5)
    first, mapped = services[0]["id"], [s["id"] for s in services if s["attributes"][0]["taxonomy_term"]["id"] == "esd-1"]
    with fresh_kb.sessions.begin() as session:
        session.get(m.Service, first).name = "Renamed here"  # a local edit of a field the feed owns
        mapping = session.execute(select(m.TaxonomyMapping).where(m.TaxonomyMapping.term_id == "esd-1")).scalar_one()
        mapping.need_code = "autism"  # what the feed's term means here, decided after the first sync
    report = sync(fresh_kb.sessions, url, per_page=5)
    assert report.changed[first]["name"] == ["Renamed here", "Community service 0"]  # the feed's value wins again
    assert set(report.changed) == {first, *mapped} and all(report.changed[sid]["needs"][1] == ["autism"] for sid in mapped)
    before = _snapshot(fresh_kb)
    again = sync(fresh_kb.sessions, url, per_page=5)
    assert not again.has_changes and again.unchanged == 12 and again.warnings == 0  # nothing read again
    assert _snapshot(fresh_kb) == before
    full = sync(fresh_kb.sessions, url, per_page=5, full=True)
    assert not full.has_changes and full.unchanged == 12 and full.warnings > 0  # every item read and checked again
    assert _snapshot(fresh_kb) == before

"""Import, export and validation: all-or-nothing, idempotent, every problem with its row and field."""

from __future__ import annotations

import copy
import json

import pytest
from sqlalchemy import func, select

from knowledge import models as m
from knowledge.catalogue import current_version
from knowledge.formats import FileFormatError, read_text, to_oruk_service, write_csv, write_json
from knowledge.importer import ImportRejected, export_records, import_dataset
from knowledge.store import area_names
from tests.conftest import TODAY


def _export(kb, fmt):
    with kb.sessions() as session:
        organizations, services = export_records(session)
        names = area_names(session)
    if fmt == "csv":
        return write_csv({o["id"]: o for o in organizations}, services), organizations, services
    by_id = {o["id"]: o for o in organizations}
    return (
        write_json(organizations, [to_oruk_service(s, by_id[s["organization_id"]], names, {}) for s in services]),
        organizations,
        services,
    )


def _import(kb, text, fmt, **kwargs):
    with kb.sessions.begin() as session:
        return import_dataset(session, read_text(text, fmt), today=TODAY, **kwargs)


def _service_count(kb):
    with kb.sessions() as session:
        return session.execute(select(func.count()).select_from(m.Service)).scalar_one()


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_then_reimport_changes_nothing(fresh_kb, fmt):
    text, _orgs, services = _export(fresh_kb, fmt)
    with fresh_kb.sessions() as session:
        before = current_version(session)
    report = _import(fresh_kb, text, fmt)
    assert not report.changed, report.summary()
    assert len(report.unchanged) == len(services)
    with fresh_kb.sessions() as session:
        assert current_version(session) == before
    again, _o, _s = _export(fresh_kb, fmt)
    assert again == text


def test_reimporting_the_seed_changes_nothing(fresh_kb):
    from knowledge.seed import load_seed

    with fresh_kb.sessions.begin() as session:
        report = load_seed(session, today=TODAY)
    assert not report.services.changed
    assert all(count == 0 for count in report.changed.values()), report.changed


def test_bad_file_is_rejected_whole_with_row_and_field(fresh_kb):
    text, _orgs, _services = _export(fresh_kb, "json")
    data = json.loads(text)
    good = copy.deepcopy(data["services"][0])
    good["id"] = "svc-new-good-one"
    good["name"] = "A brand new service"
    bad_age = copy.deepcopy(data["services"][1])
    bad_age["id"] = "svc-new-bad-age"
    bad_age["minimum_age"] = "twelve"
    bad_need = copy.deepcopy(data["services"][2])
    bad_need["id"] = "svc-new-bad-need"
    bad_need["needs"] = ["autism", "telepathy"]
    bad_area = copy.deepcopy(data["services"][3])
    bad_area["id"] = "svc-new-bad-area"
    bad_area["service_areas"] = [{"name": "Atlantis"}]
    upside_down = copy.deepcopy(data["services"][4])
    upside_down["id"] = "svc-new-ages-reversed"
    upside_down["minimum_age"], upside_down["maximum_age"] = 18, 5
    renamed = copy.deepcopy(data["services"][5])
    renamed["name"] = "Changed name that must not land"
    payload = {"services": [good, bad_age, bad_need, bad_area, upside_down, renamed]}
    count = _service_count(fresh_kb)
    with pytest.raises(ImportRejected) as rejected:
        _import(fresh_kb, json.dumps(payload), "json")
    errors = {(p.row, p.field) for p in rejected.value.problems if p.severity == "error"}
    assert (2, "minimum_age") in errors
    assert (3, "needs") in errors
    assert (4, "service_areas") not in errors  # an area we don't know is a data-quality warning, left out
    warnings = {(p.row, p.field) for p in rejected.value.problems if p.severity == "warning"}
    assert (4, "service_areas") in warnings
    assert (5, "maximum_age") in errors
    assert _service_count(fresh_kb) == count
    with fresh_kb.sessions() as session:
        assert session.get(m.Service, "svc-new-good-one") is None
        assert session.get(m.Service, renamed["id"]).name != "Changed name that must not land"


def test_csv_problems_name_the_line_and_column(fresh_kb):
    text, _orgs, _services = _export(fresh_kb, "csv")
    lines = text.splitlines()
    header = lines[0].split(",")
    tier = header.index("tier")
    import csv
    import io

    rows = list(csv.reader(io.StringIO(text)))
    rows[3][tier] = "premium"
    rows[5][header.index("last_reviewed")] = "31/02/2026"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    with pytest.raises(ImportRejected) as rejected:
        _import(fresh_kb, out.getvalue(), "csv")
    errors = {(p.row, p.field) for p in rejected.value.problems if p.severity == "error"}
    assert (4, "tier") in errors
    assert (6, "last_reviewed") in errors


@pytest.mark.parametrize(
    ("text", "fmt"),
    [("{not json", "json"), ('{"foo": 1}', "json"), ("42", "json"), ("", "csv"), ("a,b\n1,2\n", "csv"), ("- [", "yaml")],
)
def test_unreadable_files_say_why(text, fmt):
    with pytest.raises(FileFormatError):
        read_text(text, fmt)


def test_update_and_create_are_counted_and_bump_the_version(fresh_kb):
    text, _orgs, _services = _export(fresh_kb, "json")
    data = json.loads(text)
    changed = data["services"][0]
    changed["maximum_age"] = 25
    new = copy.deepcopy(data["services"][1])
    new["id"] = "svc-test-new-service"
    with fresh_kb.sessions() as session:
        before = current_version(session)
    report = _import(fresh_kb, json.dumps({"services": [changed, new]}), "json")
    assert report.updated == [changed["id"]]
    assert report.created == ["svc-test-new-service"]
    with fresh_kb.sessions() as session:
        assert current_version(session) > before
        assert float(session.get(m.Service, changed["id"]).maximum_age) == 25


def test_dry_run_writes_nothing(fresh_kb):
    text, _orgs, _services = _export(fresh_kb, "json")
    data = json.loads(text)
    data["services"][0]["name"] = "Dry run name"
    with fresh_kb.sessions.begin() as session:
        report = import_dataset(session, read_text(json.dumps(data), "json"), dry_run=True, today=TODAY)
        session.rollback()
    assert report.updated == [data["services"][0]["id"]]
    with fresh_kb.sessions() as session:
        assert session.get(m.Service, data["services"][0]["id"]).name != "Dry run name"


def test_plain_oruk_feed_without_local_offer_fields_imports_and_reports_quality(fresh_kb):
    """A council feed in ORUK shape: taxonomy terms as attributes, no age range, no contact."""
    feed = {
        "contents": [
            {
                "id": "oruk-feed-1",
                "name": "Riverside inclusive swimming",
                "description": "Quiet swimming sessions.",
                "organization": {"id": "org-oruk-feed", "name": "Riverside Leisure"},
                "service_areas": [{"name": "Havant", "uri": "http://statistics.data.gov.uk/id/statistical-geography/E07000090"}],
                "attributes": [{"taxonomy_term": {"code": "autism", "taxonomy": "local-offer-needs"}}],
            },
            {
                "id": "oruk-feed-2",
                "name": "Untagged service",
                "organization": {"id": "org-oruk-feed", "name": "Riverside Leisure"},
                "service_areas": [{"name": "Fareham"}],
            },
        ]
    }
    report = _import(fresh_kb, json.dumps(feed), "json")
    assert sorted(report.created) == ["oruk-feed-1", "oruk-feed-2"]
    warnings = {(p.ref, p.field) for p in report.warnings}
    assert ("oruk-feed-1", "no_age_range") in warnings
    assert ("oruk-feed-1", "no_contact") in warnings
    assert ("oruk-feed-2", "no_need_tags") in warnings
    result = fresh_kb.find(30 / 12, ["autism"], "Havant", record_unmet=False)
    assert "oruk-feed-1" in {mt.service.id for mt in result.eligible}


def test_admin_change_reaches_the_next_answer(fresh_kb):
    before = fresh_kb.find(9, ["autism"], "Havant", record_unmet=False)
    target = before.eligible[0].service
    with fresh_kb.sessions.begin() as session:
        service = session.get(m.Service, target.id)
        service.minimum_age = 10
    after = fresh_kb.find(9, ["autism"], "Havant", record_unmet=False)
    assert target.id not in {mt.service.id for mt in after.eligible}
    assert target.id in {nm.service.id for nm in after.near_misses} or len(after.near_misses) == 10


def test_unmet_searches_are_recorded_without_personal_data(fresh_kb):
    fresh_kb.find(26, ["autism"], "Havant")
    fresh_kb.find(7, ["autism"], "Reading")
    with fresh_kb.sessions() as session:
        rows = session.execute(select(m.UnmetSearch).order_by(m.UnmetSearch.id)).scalars().all()
    assert [(r.reason, r.age_band, r.needs) for r in rows] == [("over_age", "26+", "autism"), ("out_of_area", "5-10", "autism")]
    assert rows[0].district_gss == "E07000090"
    assert rows[1].authority_gss == "E06000038"

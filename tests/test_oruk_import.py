"""Importing real Open Referral UK feeds: every shape, the profile's own examples, ages clamped,
other directories' taxonomy terms mapped to our needs, and still all or nothing for real errors."""

from __future__ import annotations

import copy
import io
import json
import zipfile

import pytest
from sqlalchemy import select

from knowledge import models as m
from knowledge.editing import read_upload, services_due_review
from knowledge.formats import FileFormatError, read_file, read_text
from knowledge.importer import ImportRejected, import_dataset
from knowledge.taxonomy_mapping import list_mappings, set_mapping
from tests.conftest import TODAY
from tests.oruk_schemas import EXAMPLES

EXAMPLE_ID = "ac148810-d857-441c-9679-408f346de14b"


def _import(kb, dataset, **kwargs):
    with kb.sessions.begin() as session:
        return import_dataset(session, dataset, today=TODAY, **kwargs)


@pytest.mark.parametrize("name", ["service_full.json", "service_list.json", "csv"])
def test_the_profiles_examples_import_with_the_all_ages_service_clamped_and_flagged(fresh_kb, name):
    report = _import(fresh_kb, read_file(EXAMPLES / name))
    assert report.created == [EXAMPLE_ID]
    warnings = {(p.ref, p.field): p.message for p in report.warnings}
    assert "imported as 25" in warnings[(EXAMPLE_ID, "maximum_age")]
    assert (EXAMPLE_ID, "no_tier") in warnings and (EXAMPLE_ID, "no_need_tags") in warnings
    with fresh_kb.sessions() as session:
        service = session.get(m.Service, EXAMPLE_ID)
        assert (float(service.minimum_age), float(service.maximum_age)) == (12, 25)
        assert service.name == "Community Counselling" and service.organization.name == "Example Organization Inc."
        due = {d.id: d for d in services_due_review(session, TODAY)}
    assert "no tier (universal, targeted or specialist)" in due[EXAMPLE_ID].gaps
    assert "no need tags" in due[EXAMPLE_ID].gaps
    if name != "service_list.json":  # a list item carries only the one-to-one fields
        with fresh_kb.sessions() as session:
            assert [(c.name, c.title) for c in service_contacts(session)] == [("Ann Persona", "Reception Manager")]


def service_contacts(session):
    return session.execute(select(m.Contact).where(m.Contact.service_id == EXAMPLE_ID)).scalars().all()


def test_every_feed_shape_reads_the_same_service():
    service = json.loads((EXAMPLES / "service_full.json").read_text())
    expected = read_text(json.dumps([service]), "json").services
    shapes = {
        "one object": json.dumps(service),
        "services": json.dumps({"services": [service]}),
        "page": json.dumps({"total_items": 1, "contents": [service]}),
        "ndjson": json.dumps(service) + "\n" + json.dumps({**service, "id": "second"}) + "\n",
    }
    for label, text in shapes.items():
        services = read_text(text, "json").services
        assert services[0] == expected[0], label
    assert [r["id"] for _row, r in read_text(shapes["ndjson"], "ndjson").services] == [EXAMPLE_ID, "second"]


def test_a_zipped_csv_package_reads_like_the_folder():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in (EXAMPLES / "csv").glob("*.csv"):
            archive.write(path, f"package/{path.name}")
    zipped = read_upload("directory.zip", buffer.getvalue())
    assert zipped.services == read_file(EXAMPLES / "csv").services
    with pytest.raises(FileFormatError, match="zip"):
        read_upload("directory.zip", b"not a zip")


@pytest.mark.parametrize(
    "change, field_name",
    [
        (lambda s: s.pop("id"), "id"),
        (lambda s: s.update(name=""), "name"),
        (lambda s: s.update(minimum_age="twelve"), "minimum_age"),
    ],
)
def test_real_errors_still_reject_the_whole_feed(fresh_kb, change, field_name):
    service = json.loads((EXAMPLES / "service_full.json").read_text())
    good = copy.deepcopy(service)
    bad = copy.deepcopy(service)
    bad["id"] = "second-service"
    change(bad)
    with pytest.raises(ImportRejected) as rejected:
        _import(fresh_kb, read_text(json.dumps([good, bad]), "json"))
    assert field_name in {p.field for p in rejected.value.problems if p.severity == "error"}
    with fresh_kb.sessions() as session:
        assert session.get(m.Service, EXAMPLE_ID) is None


@pytest.mark.parametrize("text", ['{"services": [', '{"id": "a", "name": "A"}\n{"id": "b", "name": '])
def test_broken_json_and_ndjson_say_where(text):
    with pytest.raises(FileFormatError, match="JSON"):
        read_text(text, "json")


def _feed_with_foreign_terms():
    service = json.loads((EXAMPLES / "service_full.json").read_text())
    service["attributes"] = [
        {"id": "a1", "taxonomy_term": {"id": "esd-123", "name": "Autism support", "taxonomy": "esdServiceTypes"}},
        {"id": "a2", "taxonomy_term": {"id": "esd-456", "name": "Swimming", "taxonomy": "esdServiceTypes"}},
    ]
    return json.dumps(service)


def test_foreign_taxonomy_terms_are_listed_then_mapped_to_needs(fresh_kb):
    report = _import(fresh_kb, read_text(_feed_with_foreign_terms(), "json"))
    unmapped = [p.message for p in report.warnings if p.field == "attributes"]
    assert len(unmapped) == 2 and "'Autism support'" in unmapped[0]
    with fresh_kb.sessions() as session:
        rows = {r.term_id: r for r in list_mappings(session)}
        assert set(rows) == {"esd-123", "esd-456"} and all(r.need_code is None for r in rows.values())
        assert session.get(m.Service, EXAMPLE_ID).attributes == []
    with fresh_kb.sessions.begin() as session:
        set_mapping(session, "admin", rows["esd-123"].id, "autism")
    report = _import(fresh_kb, read_text(_feed_with_foreign_terms(), "json"))
    assert report.updated == [EXAMPLE_ID]
    assert [p.message for p in report.warnings if p.field == "attributes"] == [
        "taxonomy term 'Swimming' (esdServiceTypes) is not mapped to a need yet (Taxonomy mapping page)"
    ]
    with fresh_kb.sessions() as session:
        assert [a.taxonomy_term.code for a in session.get(m.Service, EXAMPLE_ID).attributes] == ["autism"]
        audit = session.execute(select(m.AuditEntry).where(m.AuditEntry.entity_type == "taxonomy_mapping")).scalar_one()
        assert audit.after == {"need_code": "autism"} and audit.actor == "admin"
    again = _import(fresh_kb, read_text(_feed_with_foreign_terms(), "json"))
    assert again.unchanged == [EXAMPLE_ID]


async def test_administrators_map_terms_in_the_browser(web):
    with web.kb.sessions.begin() as session:
        import_dataset(session, read_text(_feed_with_foreign_terms(), "json"), today=TODAY)
    await web.sign_in("editor")
    page = await (await web.get("/admin/taxonomy-mapping")).text()
    assert "Autism support" in page and "Swimming" in page and "2 of 2 terms not mapped" in page
    with web.kb.sessions() as session:
        row = next(r for r in list_mappings(session) if r.term_id == "esd-123")
    bad = await web.submit(f"/admin/taxonomy-mapping/{row.id}", {"need_code": "telepathy"}, form_page="/admin/taxonomy-mapping")
    assert bad.status == 400 and "Choose one of the needs" in await bad.text()
    response = await web.submit(f"/admin/taxonomy-mapping/{row.id}", {"need_code": "autism"}, form_page="/admin/taxonomy-mapping")
    assert response.status == 303
    page = await (await web.get("/admin/taxonomy-mapping?done=term-mapped")).text()
    assert "1 of 2 terms not mapped" in page and "Mapping saved" in page
    assert (await web.submit("/admin/taxonomy-mapping/99999", {"need_code": "autism"})).status == 404

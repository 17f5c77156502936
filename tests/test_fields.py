"""The field registry (knowledge/fields.py) covers every column, and every field it lists survives every path.

Both tests are driven by the registry, so a field added to it (or a column added to the model
and forgotten in it) is checked without changing this file.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from knowledge import models as m
from knowledge.editing import ORGANISATION_LABELS, SERVICE_LABELS, blank_service
from knowledge.fields import BOOL, CHOICE, DATE, INTEGER, LIST, NUMBER, ORGANISATION, SERVICE, TEXT_KINDS, max_length
from knowledge.formats import CSV_COLUMNS, read_text
from knowledge.importer import export_records, export_text, import_dataset
from knowledge.records import EXTENSION_FIELDS
from knowledge.sync import ANNOTATIONS

CHILD_KEYS = {"id", "service_id"}


def _columns(model) -> set[str]:
    return set(model.__table__.columns.keys())


@pytest.mark.parametrize("shape", [SERVICE, ORGANISATION], ids=["service", "organisation"])
def test_every_column_of_the_model_is_a_field_of_the_registry_or_bookkeeping(shape):
    fields = {f.key for f in shape.fields if f.column}
    assert _columns(shape.model) == fields | set(shape.system_columns)
    for children in shape.children:
        assert _columns(children.model) == {f.key for f in children.fields} | CHILD_KEYS, children.key


def test_the_derived_lists_come_from_the_registry():
    assert set(SERVICE_LABELS) == {f.key for f in SERVICE.fields} | {c.key for c in SERVICE.children}
    assert set(ORGANISATION_LABELS) == {f.key for f in ORGANISATION.fields}
    assert set(blank_service()) == set(SERVICE_LABELS)
    for f in SERVICE.fields:
        assert (f.key in CSV_COLUMNS) == f.csv, f.key
        assert (f.key in EXTENSION_FIELDS) == f.local_offer, f.key
        assert (f.key in ANNOTATIONS) == f.kept_across_sync, f.key
    for children in SERVICE.children:
        assert all(f"{children.csv_prefix}_{f.key}" in CSV_COLUMNS for f in children.fields)


def _value(f, model, n: int, session):
    """A distinct, valid value for one field, chosen from its kind alone (a new field needs no case here)."""
    if f.key == "organization_id":
        return session.execute(select(m.Organization.id).order_by(m.Organization.id)).scalars().first()
    if f.key == "needs":
        return ["autism", "hearing"]
    if f.key == "service_areas":
        return [session.execute(select(m.District.gss_code).order_by(m.District.gss_code)).scalars().first()]
    if f.key in ("url",):
        return "https://example.org/registry"
    if "email" in f.key:
        return f"registry{n}@example.org"
    if f.kind == CHOICE:
        return f.choices[-1] if f.choices else None
    if f.kind in TEXT_KINDS:
        text = f"{f.label} {n}"
        return text[: max_length(model, f.key) or len(text)]
    return {
        NUMBER: 3.5 + n,
        INTEGER: 30 + n,
        DATE: date(2026, 1, 1 + n).isoformat(),
        BOOL: True,
        LIST: [f"{f.label} {n}", f"{f.label} {n + 1}"],
    }[f.kind]


def _full_record(session) -> dict:
    """A service with every registry field filled in, and two rows of every child list."""
    record = {f.key: _value(f, SERVICE.model, n, session) for n, f in enumerate(SERVICE.fields)}
    record["id"] = "svc-registry-round-trip"
    record["status"] = "active"
    record["minimum_age"], record["maximum_age"] = 2.5, 19
    for children in SERVICE.children:
        record[children.key] = [
            {f.key: _value(f, children.model, n + row, session) for n, f in enumerate(children.fields)} for row in (0, 1)
        ]
    schedules = record["schedules"]
    for schedule in schedules:  # a schedule's values have their own grammar
        schedule.update(freq="WEEKLY", byday="MO,WE", opens_at="09:30", closes_at="15:00")
    for cost in record["cost_options"]:
        cost["currency"] = "GBP"
    for location in record["locations"]:
        location["postcode"] = "PO9 1AB"
    return record


def test_every_field_survives_the_database_csv_and_open_referral_json(fresh_kb):
    with fresh_kb.sessions.begin() as session:
        record = _full_record(session)
        dataset = read_text(_csv_of(session, record), "csv")
        assert not [p for p in dataset.problems if p.severity == "error"]
        import_dataset(session, dataset, today=date(2026, 6, 1))
    with fresh_kb.sessions() as session:
        stored = {r["id"]: r for r in export_records(session)[1]}[record["id"]]
        assert stored == record  # CSV -> database -> record: nothing lost or changed
        for fmt in ("csv", "json"):
            text, _count = export_text(session, fmt)
            again = {r["id"]: r for _row, r in read_text(text, fmt).services}[record["id"]]
            assert again == record, fmt  # database -> file -> record


def _csv_of(session, record: dict) -> str:
    from knowledge.formats import write_csv

    organisations = {o["id"]: o for o in export_records(session)[0]}
    return write_csv(organisations, [record])

"""Editing organisations by hand: checked like an import, audited, version-checked."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from knowledge import models as m
from knowledge.audit import NotFound, ValidationFailed, record_change
from knowledge.editing.common import check, flush, form_errors, form_value, plain_changes, unique_id
from knowledge.fields import ORGANISATION as ORGANISATION_FIELDS
from knowledge.records import Dataset, Problem, normalise_organization
from knowledge.store import build_context, organization_to_record
from knowledge.validation import validate

ORGANISATION = "organization"  # the model's (and ORUK's) name, as the importer records it
ORGANISATION_LABELS: dict[str, str] = ORGANISATION_FIELDS.labels
ORGANISATION_FORM_FIELDS = tuple(f.key for f in ORGANISATION_FIELDS.fields if f.form)


def organisation_form(record: dict) -> dict:
    form = {name: record.get(name) or "" for name in ORGANISATION_FORM_FIELDS}
    form["is_sample"] = "yes" if record.get("is_sample") else ""
    return form


def _organisation_raw(form: Mapping) -> dict:
    raw = {name: form_value(form, name) or None for name in ORGANISATION_FORM_FIELDS}
    raw["is_sample"] = "yes" if form_value(form, "is_sample") else "no"
    return raw


def _check_organisation(session: Session, raw: dict) -> dict:
    problems: list[Problem] = []
    record = normalise_organization(raw, 1, problems)
    dataset = Dataset(organizations=[(1, record)], problems=problems)
    errors: dict[str, str] = {}
    if not record["name"]:
        errors["name"] = "Enter the organisation's name"
    website = record.get("website")
    if website and not website.startswith(("http://", "https://")):
        errors["website"] = f"{website!r} should start with https://"
    errors = form_errors(validate(dataset, build_context(session), clamp_ages=False), errors)
    if errors:
        raise ValidationFailed(errors)
    return record


def create_organisation(session: Session, form: Mapping, actor: str) -> dict:
    raw = _organisation_raw(form)
    raw["id"] = unique_id(session, m.Organization, "org", raw.get("name"))
    record = _check_organisation(session, raw)
    organisation = m.Organization(**{"description": "", "is_sample": False, **record})
    session.add(organisation)
    flush(session, ORGANISATION, record["id"])
    after = organization_to_record(organisation)
    record_change(
        session, actor, ORGANISATION, record["id"], "create", None, after, summary=f"Added organisation {record['name']}"
    )
    session.flush()
    return after


def load_organisation(session: Session, organisation_id: str) -> m.Organization:
    organisation = session.get(m.Organization, organisation_id)
    if organisation is None:
        raise NotFound(f"There is no organisation with the id {organisation_id}")
    return organisation


def update_organisation(session: Session, organisation_id: str, form: Mapping, expected_version: int | None, actor: str) -> dict:
    organisation = load_organisation(session, organisation_id)
    before = organization_to_record(organisation)
    check(ORGANISATION, organisation_id, organisation, expected_version, before)
    record = _check_organisation(session, {**_organisation_raw(form), "id": organisation_id})
    after = {**before, **record}
    if after == before:
        return before
    for name, value in record.items():
        setattr(organisation, name, value)
    flush(session, ORGANISATION, organisation_id)
    after = organization_to_record(organisation)
    record_change(
        session, actor, ORGANISATION, organisation_id, "update", before, after,
        summary=plain_changes(before, after, ORGANISATION_LABELS),
    )  # fmt: skip
    session.flush()
    return after


def attempted_organisation(form: Mapping, current: dict) -> dict:
    return {**current, **normalise_organization({**_organisation_raw(form), "id": current["id"]}, 1, [])}


def organisations(session: Session) -> list[dict]:
    """Every organisation with its number of services, by name."""
    counts = dict(session.execute(select(m.Service.organization_id, func.count()).group_by(m.Service.organization_id)).all())
    rows = session.execute(select(m.Organization).order_by(func.lower(m.Organization.name), m.Organization.id)).scalars()
    return [{**organization_to_record(o), "version": o.version, "services": counts.get(o.id, 0)} for o in rows]

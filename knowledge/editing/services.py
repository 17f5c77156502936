"""Editing services by hand: the same rules as an import, with an audit entry for each change.

Every save goes through the knowledge base's own path: the input is turned into a
canonical record (`knowledge.records`), checked by `knowledge.validation` against
what the knowledge base knows, written by `knowledge.store.apply_record`, and
recorded in the audit trail (full before and after records) in the same
transaction. A save against a record someone else has changed since the editor
opened it raises `EditConflict` and writes nothing.

The form helpers turn what an editor typed (plain strings and lists) into input
for that path, and back; they keep the data the form does not show (schedules,
locations, further contacts and cost options) as it was.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from knowledge import models as m
from knowledge.age_wording import disagreements as age_disagreements
from knowledge.audit import NotFound, ValidationFailed, record_change
from knowledge.editing.common import (
    FRIENDLY_MESSAGES,
    PER_PAGE,
    Page,
    check,
    flush,
    form_errors,
    form_value,
    form_values,
    like,
    plain_changes,
    unique_id,
)
from knowledge.fields import SERVICE as SERVICE_FIELDS
from knowledge.fields import TEXT_KINDS
from knowledge.records import Dataset, Problem, normalise_service
from knowledge.store import apply_record, area_names, build_context, need_term_ids, service_query, service_to_record
from knowledge.validation import QUALITY_CHECKS, review_due, validate
from knowledge.vocabulary import OFFERED_STATUS

SERVICE = "service"
RETIRED_STATUS = "inactive"
SERVICE_LABELS: dict[str, str] = SERVICE_FIELDS.labels
SERVICE_TEXT_FIELDS = tuple(f.key for f in SERVICE_FIELDS.fields if f.form and f.kind in TEXT_KINDS)
"""Fields the service form shows as plain text inputs."""
FORM_CHILDREN = tuple(c for c in SERVICE_FIELDS.children if c.form_fields)
"""Child lists whose first row the form shows (contact, venue, opening times); further rows are kept as they are."""
SERVICE_FORM_LABELS = {c.form_name(f): f.label for c in FORM_CHILDREN for f in c.form_fields}
SERVICE_LIST_FIELDS = ("needs", "service_areas")
"""Form fields that carry several values (checkboxes)."""


def blank_service() -> dict:
    """A canonical record with nothing filled in (what a new service starts from)."""
    return SERVICE_FIELDS.blank()


def _check_service(session: Session, raw: dict, errors: dict[str, str] | None = None) -> dict:
    """The canonical record for `raw`, or ValidationFailed with every problem (form-level ones first)."""
    problems: list[Problem] = []
    record = normalise_service(raw, 1, problems)
    dataset = Dataset(services=[(1, record)], problems=problems)
    errors = form_errors(validate(dataset, build_context(session), clamp_ages=False), errors)
    if errors:
        raise ValidationFailed(errors)
    return record


def load_service(session: Session, service_id: str) -> m.Service:
    service = session.execute(service_query().where(m.Service.id == service_id)).scalar_one_or_none()
    if service is None:
        raise NotFound(f"There is no service with the id {service_id}")
    return service


def create_service(
    session: Session, changes: dict, actor: str, *, errors: dict[str, str] | None = None, today: date | None = None
) -> dict:
    """Add a new service (id made from its name) and its audit entry; returns the stored record."""
    raw = {**blank_service(), **changes}
    raw["id"] = unique_id(session, m.Service, "svc", raw.get("name"))
    record = _check_service(session, raw, errors)
    term_ids, names = need_term_ids(session), area_names(session)
    service = m.Service(id=record["id"])
    apply_record(session, service, record, term_ids, names)
    session.add(service)
    flush(session, SERVICE, record["id"])
    record_change(session, actor, SERVICE, record["id"], "create", None, record, summary=f"Added service {record['name']}")
    session.flush()
    return record


def update_service(
    session: Session,
    service_id: str,
    changes: dict,
    expected_version: int | None,
    actor: str,
    *,
    errors: dict[str, str] | None = None,
    action: str = "update",
    summary: str = "",
) -> dict:
    """Change a service if it is still at `expected_version`; returns the stored record.

    `changes` are raw values (as an import row would give them) over the stored record,
    so whatever they do not mention stays as it is. Nothing changed, nothing written.
    """
    service = load_service(session, service_id)
    before = service_to_record(service)
    check(SERVICE, service_id, service, expected_version, before)
    record = _check_service(session, {**copy.deepcopy(before), **changes, "id": service_id}, errors)
    if record == before:
        return before
    term_ids, names = need_term_ids(session), area_names(session)
    apply_record(session, service, record, term_ids, names)
    service.updated_at = m.utcnow()  # the row itself is written (and its version moves) even when only tags changed
    flush(session, SERVICE, service_id)
    record_change(
        session,
        actor,
        SERVICE,
        service_id,
        action,
        before,
        record,
        summary=summary or plain_changes(before, record, SERVICE_LABELS),
    )
    session.flush()
    return record


def retire_service(session: Session, service_id: str, actor: str, expected_version: int | None) -> dict:
    """Stop offering a service (status inactive); the engine offers only active services."""
    return update_service(
        session, service_id, {"status": RETIRED_STATUS}, expected_version, actor, action="retire", summary="Retired the service"
    )


def reinstate_service(session: Session, service_id: str, actor: str, expected_version: int | None) -> dict:
    """Offer a retired service again (status active)."""
    return update_service(
        session, service_id, {"status": OFFERED_STATUS}, expected_version, actor, action="reinstate",
        summary="Reinstated the service",
    )  # fmt: skip


def service_version(session: Session, service_id: str) -> tuple[dict, int]:
    service = load_service(session, service_id)
    return service_to_record(service), service.version


# --- The service form --------------------------------------------------------------------------


def _age_text(value) -> str:
    return "" if value is None else f"{value:g}"


def _cost_kind(option: dict | None) -> str:
    if option is None:
        return ""
    if option.get("amount") is not None and float(option["amount"]) == 0:
        return "free"
    return "paid"


def service_form(record: dict) -> dict:
    """What the service form shows for a record: strings, and lists for the checkboxes."""
    form = {name: record.get(name) or "" for name in SERVICE_TEXT_FIELDS}
    form["referrers"] = "\n".join(record.get("referrers") or [])
    form["diagnosis_required"] = "yes" if record.get("diagnosis_required") else "no"
    form["minimum_age"] = _age_text(record.get("minimum_age"))
    form["maximum_age"] = _age_text(record.get("maximum_age"))
    form["needs"] = list(record.get("needs") or [])
    form["service_areas"] = list(record.get("service_areas") or [])
    first_cost = (record.get("cost_options") or [None])[0]
    form["cost"] = _cost_kind(first_cost)
    amount = first_cost.get("amount") if first_cost else None
    form["cost_amount"] = "" if amount is None or form["cost"] == "free" else f"{amount:.2f}".removesuffix(".00")
    form["cost_description"] = (first_cost.get("amount_description") or first_cost.get("option") or "") if first_cost else ""
    if form["cost"] == "free" and form["cost_description"] == "Free":
        form["cost_description"] = ""
    for children in FORM_CHILDREN:
        first = (record.get(children.key) or [None])[0] or {}
        for f in children.form_fields:
            form[children.form_name(f)] = first.get(f.key) or ""
    reviewed = record.get("last_reviewed")
    reviewed = date.fromisoformat(reviewed) if reviewed else None
    form["last_reviewed_day"] = str(reviewed.day) if reviewed else ""
    form["last_reviewed_month"] = str(reviewed.month) if reviewed else ""
    form["last_reviewed_year"] = str(reviewed.year) if reviewed else ""
    form["mark_reviewed"] = ""
    form["review_interval_days"] = str(record.get("review_interval_days") or "")
    form["is_sample"] = "yes" if record.get("is_sample") else ""
    return form


def _reviewed_date(form: Mapping) -> tuple[str | None, str | None]:
    """The last-reviewed date typed as day, month, year: (ISO date or None, error or None)."""
    parts = [form_value(form, f"last_reviewed_{p}") for p in ("day", "month", "year")]
    if not any(parts):
        return None, None
    try:
        day, month, year = (int(p) for p in parts)
        if year < 1900:
            raise ValueError
        return date(year, month, day).isoformat(), None
    except ValueError:
        return None, FRIENDLY_MESSAGES["last_reviewed"]


def service_changes_from_form(form: Mapping, base: dict, today: date) -> tuple[dict, dict[str, str]]:
    """Raw values for the knowledge base's reader from what the editor typed, over `base` (the stored record).

    Returns (changes, errors the form itself can see). Values the reader must judge
    (ages, the cost, e-mail addresses) are passed on as typed, so its rules apply.
    """
    errors: dict[str, str] = {}
    changes: dict = {name: form_value(form, name) or None for name in SERVICE_TEXT_FIELDS}
    changes["status"] = changes["status"] or OFFERED_STATUS
    changes["referrers"] = [line.strip() for line in form_value(form, "referrers").splitlines() if line.strip()]
    changes["diagnosis_required"] = form_value(form, "diagnosis_required") or "no"
    changes["minimum_age"] = form_value(form, "minimum_age")
    changes["maximum_age"] = form_value(form, "maximum_age")
    for name in SERVICE_LIST_FIELDS:
        changes[name] = form_values(form, name)
    changes["review_interval_days"] = form_value(form, "review_interval_days")
    changes["is_sample"] = "yes" if form_value(form, "is_sample") else "no"

    other_costs = copy.deepcopy((base.get("cost_options") or [])[1:])
    first_cost = copy.deepcopy((base.get("cost_options") or [None])[0]) or {}
    kind, amount, description = form_value(form, "cost"), form_value(form, "cost_amount"), form_value(form, "cost_description")
    if kind == "free":
        first = {"option": "Free", "amount": 0, "currency": "GBP", "amount_description": description or "Free"}
        changes["cost_options"] = [first, *other_costs]
    elif kind == "paid":
        if not amount and not description:
            errors["cost_amount"] = "Enter the cost, or describe it (for example, £5 a session)"
        option = first_cost.get("option") if _cost_kind(first_cost or None) == "paid" else None
        first = {
            "option": option,
            "amount": amount or None,
            "currency": first_cost.get("currency") or "GBP",
            "amount_description": description or None,
        }
        changes["cost_options"] = [first, *other_costs]
    elif kind:
        errors["cost"] = "Choose whether the service is free or has a cost"
    else:
        changes["cost_options"] = other_costs

    for children in FORM_CHILDREN:
        changes[children.key] = _first_row_from_form(form, children, base)

    if form_value(form, "mark_reviewed"):
        changes["last_reviewed"] = changes["assured_date"] = today.isoformat()
    else:
        reviewed, problem = _reviewed_date(form)
        if problem:
            errors["last_reviewed"] = problem
            reviewed = base.get("last_reviewed")
        changes["last_reviewed"] = reviewed
    return changes, errors


def _first_row_from_form(form: Mapping, children, base: dict) -> list[dict]:
    """The child rows with the first one's shown fields as typed; its other fields and the other rows kept."""
    rows = copy.deepcopy(base.get(children.key) or [])
    first = rows[0] if rows else {f.key: None for f in children.fields}
    first.update({f.key: form_value(form, children.form_name(f)) or None for f in children.form_fields})
    return [first, *rows[1:]] if any(v is not None for v in first.values()) else rows[1:]


def save_service_form(
    session: Session,
    service_id: str | None,
    form: Mapping,
    actor: str,
    *,
    expected_version: int | None = None,
    today: date | None = None,
) -> dict:
    """Create (service_id None) or update a service from the editor's form; returns the stored record."""
    today = today or date.today()
    if service_id is None:
        changes, errors = service_changes_from_form(form, blank_service(), today)
        return create_service(session, changes, actor, errors=errors)
    service = load_service(session, service_id)
    before = service_to_record(service)
    check(SERVICE, service_id, service, expected_version, before)
    changes, errors = service_changes_from_form(form, before, today)
    return update_service(session, service_id, changes, expected_version, actor, errors=errors)


def attempted_service(form: Mapping, current: dict, today: date | None = None) -> dict:
    """What the editor's form would have made of `current` (read leniently, for showing back)."""
    changes, _errors = service_changes_from_form(form, current, today or date.today())
    return normalise_service({**copy.deepcopy(current), **changes, "id": current["id"]}, 1, [])


# --- Finding services ----------------------------------------------------------------------------


def search_services(
    session: Session,
    *,
    q: str = "",
    status: str = "",
    tier: str = "",
    need: str = "",
    district: str = "",
    organisation: str = "",
    page: int = 1,
    per_page: int = PER_PAGE,
) -> Page:
    """Services whose name contains `q`, with the given status, tier, need tag and organisation, serving
    `district` (named for the district itself or its whole authority), by name."""
    query = select(m.Service.id, m.Service.name, m.Service.status, m.Service.tier, m.Service.last_reviewed,
                   m.Service.assured_date, m.Service.review_interval_days, m.Organization.name.label("organisation"))  # fmt: skip
    query = query.join(m.Organization, m.Service.organization_id == m.Organization.id)
    if q.strip():
        query = query.where(func.lower(m.Service.name).like(like(q.strip()), escape="\\"))
    if status:
        query = query.where(m.Service.status == status)
    if tier:
        query = query.where(m.Service.tier == tier)
    if organisation:
        query = query.where(m.Service.organization_id == organisation)
    if need:
        tagged = (
            select(m.Attribute.service_id)
            .join(m.TaxonomyTerm, m.Attribute.taxonomy_term_id == m.TaxonomyTerm.id)
            .where(m.TaxonomyTerm.taxonomy == m.NEEDS_TAXONOMY, m.TaxonomyTerm.code == need)
        )
        query = query.where(m.Service.id.in_(tagged))
    if district:
        codes = {district}
        authority = session.execute(select(m.District.authority_gss).where(m.District.gss_code == district)).scalar_one_or_none()
        if authority:
            codes.add(authority)
        query = query.where(m.Service.id.in_(select(m.ServiceArea.service_id).where(m.ServiceArea.gss_code.in_(codes))))
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    page = min(page, max(1, math.ceil(total / per_page)))
    rows = session.execute(query.order_by(func.lower(m.Service.name), m.Service.id).offset((page - 1) * per_page).limit(per_page))
    return Page([dict(r._mapping) for r in rows], total, page, per_page)


@dataclass
class DueReview:
    id: str
    name: str
    organization_name: str
    status: str
    reviewed: date | None
    interval_days: int
    due: date | None
    version: int
    gaps: list[str] = field(default_factory=list)
    """What the record lacks that the assistant needs (age range, tier, need tags), in plain words."""
    warnings: list[str] = field(default_factory=list)
    """Where its ages and its "who it's for" text disagree (knowledge.age_wording)."""


def _gaps(service: m.Service) -> list[str]:
    gaps = []
    if service.minimum_age is None and service.maximum_age is None:
        gaps.append(QUALITY_CHECKS["no_age_range"])
    if not service.tier:
        gaps.append(QUALITY_CHECKS["no_tier"])
    if not service.attributes:
        gaps.append(QUALITY_CHECKS["no_need_tags"])
    return gaps


def services_due_review(session: Session, today: date | None = None) -> list[DueReview]:
    """Services past their review date (or never reviewed), or missing an age range, tier or need tag
    (as imported feeds often are), the longest overdue first."""
    today = today or date.today()
    rows = session.execute(
        select(m.Service, m.Organization.name).join(m.Service.organization).options(selectinload(m.Service.attributes))
    ).all()
    due = []
    for service, org_name in rows:
        reviewed = service.last_reviewed or service.assured_date
        interval = service.review_interval_days or 365
        gaps = _gaps(service)
        warnings = age_disagreements(service.minimum_age, service.maximum_age, service.who_for)
        if gaps or warnings or review_due(reviewed, interval, today):
            when = reviewed + timedelta(days=interval) if reviewed else None
            due.append(
                DueReview(
                    service.id, service.name, org_name, service.status, reviewed, interval, when, service.version, gaps, warnings
                )
            )
    return sorted(due, key=lambda d: (d.due or date.min, d.name.casefold(), d.id))


def mark_reviewed(session: Session, actor: str, service_id: str, expected_version, today: date | None = None) -> m.Service:
    """Record that an editor checked this service today (version-checked, audited)."""
    today = today or date.today()
    service = session.get(m.Service, service_id)
    if service is None:
        raise NotFound(f"There is no service {service_id}")
    before = {"last_reviewed": service.last_reviewed.isoformat() if service.last_reviewed else None}
    check(SERVICE, service_id, service, expected_version, service_to_record(service))
    service.last_reviewed = today
    flush(session, SERVICE, service_id)
    record_change(
        session,
        actor,
        "service",
        service_id,
        "update",
        before,
        {"last_reviewed": today.isoformat()},
        f"Marked {service.name} as reviewed",
    )
    return service

"""Editing services and organisations by hand: the same rules as an import, with an audit entry for each change.

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
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from knowledge import models as m
from knowledge.audit import EditConflict, NotFound, ValidationFailed, changed_fields, check_version, record_change  # noqa: F401 (the errors callers catch)
from knowledge.records import (
    DEFAULT_REVIEW_INTERVAL_DAYS,
    Dataset,
    Problem,
    normalise_organization,
    normalise_service,
)
from knowledge.store import (
    apply_record,
    area_names,
    build_context,
    need_term_ids,
    organization_to_record,
    service_query,
    service_to_record,
)
from knowledge.validation import review_due, validate
from knowledge.vocabulary import OFFERED_STATUS

SERVICE = "service"
ORGANISATION = "organization"  # the model's (and ORUK's) name, as the importer records it
RETIRED_STATUS = "inactive"
PER_PAGE = 25

SERVICE_LABELS: dict[str, str] = {
    "id": "Id",
    "name": "Name",
    "organization_id": "Organisation",
    "description": "Description",
    "category": "Category",
    "tier": "Tier",
    "access_route": "Access route",
    "referrers": "Who can refer",
    "diagnosis_required": "Diagnosis required",
    "minimum_age": "Minimum age",
    "maximum_age": "Maximum age",
    "needs": "Needs",
    "service_areas": "Service areas",
    "who_for": "Who it is for",
    "how_to_access": "How to access",
    "what_to_expect": "What to expect",
    "eligibility_description": "Eligibility",
    "application_process": "Application process",
    "fees_description": "Fees",
    "cost_options": "Cost",
    "contacts": "Contacts",
    "email": "Service e-mail",
    "url": "Website",
    "status": "Status",
    "assured_date": "Assured date",
    "last_reviewed": "Last reviewed",
    "review_interval_days": "Review interval (days)",
    "is_sample": "Sample data",
    "schedules": "Opening times",
    "locations": "Locations",
}
ORGANISATION_LABELS: dict[str, str] = {
    "id": "Id",
    "name": "Name",
    "description": "Description",
    "website": "Website",
    "email": "E-mail",
    "is_sample": "Sample data",
}
SERVICE_TEXT_FIELDS = (
    "name",
    "organization_id",
    "description",
    "category",
    "tier",
    "access_route",
    "who_for",
    "how_to_access",
    "what_to_expect",
    "eligibility_description",
    "application_process",
    "url",
    "status",
)
SERVICE_LIST_FIELDS = ("needs", "service_areas")
"""Form fields that carry several values (checkboxes)."""

_FRIENDLY = {
    "minimum_age": "Enter the minimum age as a number of years, like 5 or 2.5",
    "maximum_age": "Enter the maximum age as a number of years, like 11 or 18",
    "review_interval_days": "Enter the review interval as a whole number of days, like 365",
    "cost_amount": "Enter the cost as an amount in pounds, like 12.50",
    "last_reviewed": "Enter the date it was last reviewed as a real date, like 14 9 2026",
    "diagnosis_required": "Say whether a diagnosis is needed",
    "is_sample": "Say whether this is sample data",
}
"""Plain messages for values the reader could not read at all (its own messages name the raw value)."""


# --- Ids ---------------------------------------------------------------------------------------


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def unique_id(session: Session, model, prefix: str, name: str | None) -> str:
    """`prefix-slug-of-the-name`, with -2, -3, ... when that id is taken (ids are at most 120 characters)."""
    base = f"{prefix}-{slugify(name or '')[:100].strip('-') or 'new'}"
    taken = set(session.execute(select(model.id).where(or_(model.id == base, model.id.like(base + "-%")))).scalars())
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


# --- Problems to form errors -------------------------------------------------------------------


def _form_field(problem_field: str) -> str:
    if problem_field in ("id", "organization.id", "organization.name"):
        return "name"
    if problem_field.startswith("organization."):
        return problem_field.split(".", 1)[1]
    if problem_field == "cost_options[1].amount":
        return "cost_amount"
    if problem_field.startswith("cost_options"):
        return "cost"
    if problem_field in ("contacts[1].email", "email"):
        return "contact_email"
    if problem_field.startswith("contacts"):
        return "contact_phone"
    return problem_field


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:]


def form_errors(problems: list[Problem], errors: dict[str, str] | None = None) -> dict[str, str]:
    """The first error for each form field, in plain words (warnings never block a save)."""
    errors = dict(errors or {})
    for problem in problems:
        if problem.severity != "error":
            continue
        name = _form_field(problem.field)
        if name in errors:
            continue
        unreadable = problem.message.startswith("expected ")
        errors[name] = _FRIENDLY[name] if unreadable and name in _FRIENDLY else _sentence(problem.message)
    return errors


# --- Services ----------------------------------------------------------------------------------


def blank_service() -> dict:
    """A canonical record with nothing filled in (what a new service starts from)."""
    record: dict = {name: None for name in SERVICE_LABELS}
    record.update(
        status=OFFERED_STATUS,
        referrers=[],
        diagnosis_required=False,
        review_interval_days=DEFAULT_REVIEW_INTERVAL_DAYS,
        is_sample=False,
        needs=[],
        service_areas=[],
        cost_options=[],
        contacts=[],
        schedules=[],
        locations=[],
        email=None,
        fees_description=None,
    )
    return record


def _check_service(session: Session, raw: dict, errors: dict[str, str] | None = None) -> dict:
    """The canonical record for `raw`, or ValidationFailed with every problem (form-level ones first)."""
    problems: list[Problem] = []
    record = normalise_service(raw, 1, problems)
    dataset = Dataset(services=[(1, record)], problems=problems)
    errors = form_errors(validate(dataset, build_context(session), clamp_ages=False), errors)
    if errors:
        raise ValidationFailed(errors)
    return record


def _load_service(session: Session, service_id: str) -> m.Service:
    service = session.execute(service_query().where(m.Service.id == service_id)).scalar_one_or_none()
    if service is None:
        raise NotFound(f"There is no service with the id {service_id}")
    return service


def _flush(session: Session, entity_type: str, entity_id: str) -> None:
    """Write now; a row changed by someone else in the meantime is a conflict, not an overwrite."""
    try:
        session.flush()
    except StaleDataError as error:
        raise EditConflict(entity_type, entity_id, None) from error


def plain_changes(before: dict | None, after: dict | None, labels: Mapping[str, str]) -> str:
    names = [labels.get(name, name).lower() for name in changed_fields(before, after)]
    return "Changed " + ", ".join(names)


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
    _flush(session, SERVICE, record["id"])
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
    service = _load_service(session, service_id)
    before = service_to_record(service)
    check_version(SERVICE, service_id, service.version, expected_version, before)
    record = _check_service(session, {**copy.deepcopy(before), **changes, "id": service_id}, errors)
    if record == before:
        return before
    term_ids, names = need_term_ids(session), area_names(session)
    apply_record(session, service, record, term_ids, names)
    service.updated_at = m.utcnow()  # the row itself is written (and its version moves) even when only tags changed
    _flush(session, SERVICE, service_id)
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
    service = _load_service(session, service_id)
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
    first_contact = (record.get("contacts") or [None])[0] or {}
    form["contact_phone"] = first_contact.get("phone") or ""
    form["contact_email"] = first_contact.get("email") or ""
    reviewed = record.get("last_reviewed")
    reviewed = date.fromisoformat(reviewed) if reviewed else None
    form["last_reviewed_day"] = str(reviewed.day) if reviewed else ""
    form["last_reviewed_month"] = str(reviewed.month) if reviewed else ""
    form["last_reviewed_year"] = str(reviewed.year) if reviewed else ""
    form["mark_reviewed"] = ""
    form["review_interval_days"] = str(record.get("review_interval_days") or "")
    form["is_sample"] = "yes" if record.get("is_sample") else ""
    return form


def _field(form: Mapping, name: str) -> str:
    value = form.get(name, "")
    if isinstance(value, (list, tuple)):
        value = value[0] if value else ""
    return str(value if value is not None else "").strip()


def _values(form: Mapping, name: str) -> list[str]:
    value = form.get(name) or []
    if isinstance(value, str):
        value = [value]
    return [str(v).strip() for v in value if str(v).strip()]


def _reviewed_date(form: Mapping) -> tuple[str | None, str | None]:
    """The last-reviewed date typed as day, month, year: (ISO date or None, error or None)."""
    parts = [_field(form, f"last_reviewed_{p}") for p in ("day", "month", "year")]
    if not any(parts):
        return None, None
    try:
        day, month, year = (int(p) for p in parts)
        if year < 1900:
            raise ValueError
        return date(year, month, day).isoformat(), None
    except ValueError:
        return None, _FRIENDLY["last_reviewed"]


def service_changes_from_form(form: Mapping, base: dict, today: date) -> tuple[dict, dict[str, str]]:
    """Raw values for the knowledge base's reader from what the editor typed, over `base` (the stored record).

    Returns (changes, errors the form itself can see). Values the reader must judge
    (ages, the cost, e-mail addresses) are passed on as typed, so its rules apply.
    """
    errors: dict[str, str] = {}
    changes: dict = {name: _field(form, name) or None for name in SERVICE_TEXT_FIELDS}
    changes["status"] = changes["status"] or OFFERED_STATUS
    changes["referrers"] = [line.strip() for line in _field(form, "referrers").splitlines() if line.strip()]
    changes["diagnosis_required"] = _field(form, "diagnosis_required") or "no"
    changes["minimum_age"] = _field(form, "minimum_age")
    changes["maximum_age"] = _field(form, "maximum_age")
    for name in SERVICE_LIST_FIELDS:
        changes[name] = _values(form, name)
    changes["review_interval_days"] = _field(form, "review_interval_days")
    changes["is_sample"] = "yes" if _field(form, "is_sample") else "no"

    other_costs = copy.deepcopy((base.get("cost_options") or [])[1:])
    first_cost = copy.deepcopy((base.get("cost_options") or [None])[0]) or {}
    kind, amount, description = _field(form, "cost"), _field(form, "cost_amount"), _field(form, "cost_description")
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

    contacts = copy.deepcopy(base.get("contacts") or [])
    first_contact = contacts[0] if contacts else {"name": None, "title": None, "email": None, "phone": None}
    first_contact.update(phone=_field(form, "contact_phone") or None, email=_field(form, "contact_email") or None)
    rest = contacts[1:]
    changes["contacts"] = [first_contact, *rest] if any(first_contact.values()) else rest

    if _field(form, "mark_reviewed"):
        changes["last_reviewed"] = changes["assured_date"] = today.isoformat()
    else:
        reviewed, problem = _reviewed_date(form)
        if problem:
            errors["last_reviewed"] = problem
            reviewed = base.get("last_reviewed")
        changes["last_reviewed"] = reviewed
    return changes, errors


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
    service = _load_service(session, service_id)
    before = service_to_record(service)
    check_version(SERVICE, service_id, service.version, expected_version, before)
    changes, errors = service_changes_from_form(form, before, today)
    return update_service(session, service_id, changes, expected_version, actor, errors=errors)


def attempted_service(form: Mapping, current: dict, today: date | None = None) -> dict:
    """What the editor's form would have made of `current` (read leniently, for showing back)."""
    changes, _errors = service_changes_from_form(form, current, today or date.today())
    return normalise_service({**copy.deepcopy(current), **changes, "id": current["id"]}, 1, [])


# --- Organisations -----------------------------------------------------------------------------

ORGANISATION_FIELDS = ("name", "description", "website", "email")


def organisation_form(record: dict) -> dict:
    form = {name: record.get(name) or "" for name in ORGANISATION_FIELDS}
    form["is_sample"] = "yes" if record.get("is_sample") else ""
    return form


def _organisation_raw(form: Mapping) -> dict:
    raw = {name: _field(form, name) or None for name in ORGANISATION_FIELDS}
    raw["is_sample"] = "yes" if _field(form, "is_sample") else "no"
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
    _flush(session, ORGANISATION, record["id"])
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
    check_version(ORGANISATION, organisation_id, organisation.version, expected_version, before)
    record = _check_organisation(session, {**_organisation_raw(form), "id": organisation_id})
    after = {**before, **record}
    if after == before:
        return before
    for name, value in record.items():
        setattr(organisation, name, value)
    _flush(session, ORGANISATION, organisation_id)
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


# --- Lists: services, the audit trail, the dashboard -------------------------------------------


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int = PER_PAGE

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def first(self) -> int:
        return 0 if not self.total else (self.page - 1) * self.per_page + 1

    @property
    def last(self) -> int:
        return min(self.total, self.page * self.per_page)


def page_number(value) -> int:
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


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
        query = query.where(func.lower(m.Service.name).like(_like(q.strip()), escape="\\"))
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


def audit_entries(
    session: Session, *, entity_type: str = "", entity_id: str = "", actor: str = "", page: int = 1, per_page: int = PER_PAGE
) -> Page:
    """Audit entries, newest first, filtered by type and id (exact) and who (part of the name)."""
    query = select(m.AuditEntry)
    if entity_type:
        query = query.where(m.AuditEntry.entity_type == entity_type)
    if entity_id:
        query = query.where(m.AuditEntry.entity_id == entity_id)
    if actor.strip():
        query = query.where(func.lower(m.AuditEntry.actor).like(_like(actor.strip()), escape="\\"))
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    page = min(page, max(1, math.ceil(total / per_page)))
    rows = session.execute(
        query.order_by(m.AuditEntry.created_at.desc(), m.AuditEntry.id.desc()).offset((page - 1) * per_page).limit(per_page)
    ).scalars()
    return Page(list(rows), total, page, per_page)


def audit_types(session: Session) -> list[str]:
    return sorted(set(session.execute(select(m.AuditEntry.entity_type).distinct()).scalars()) | {SERVICE, ORGANISATION})


def history(session: Session, entity_type: str, entity_id: str, limit: int | None = None) -> list[m.AuditEntry]:
    """The audit entries for one record, newest first."""
    query = (
        select(m.AuditEntry)
        .where(m.AuditEntry.entity_type == entity_type, m.AuditEntry.entity_id == entity_id)
        .order_by(m.AuditEntry.created_at.desc(), m.AuditEntry.id.desc())
    )
    if limit:
        query = query.limit(limit)
    return list(session.execute(query).scalars())


def display(value) -> str:
    """A stored value as plain text for a summary list or a before/after table."""
    if value is None or value == "" or value == []:
        return "(none)"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return "; ".join(display(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k.replace('_', ' ')}: {display(v)}" for k, v in value.items() if v not in (None, "", []))
    return str(value)


def field_changes(before: dict | None, after: dict | None, labels: Mapping[str, str] | None = None) -> list[tuple[str, str, str]]:
    """(label, before, after) for every field that differs."""
    labels = labels or {}
    before_, after_ = before or {}, after or {}
    return [
        (labels.get(name, name.replace("_", " ").capitalize()), display(before_.get(name)), display(after_.get(name)))
        for name in changed_fields(before, after)
    ]


def labels_for(entity_type: str) -> Mapping[str, str]:
    return {SERVICE: SERVICE_LABELS, ORGANISATION: ORGANISATION_LABELS}.get(entity_type, {})


def dashboard_counts(session: Session, today: date | None = None) -> dict[str, int]:
    today = today or date.today()
    rows = session.execute(
        select(m.Service.status, m.Service.last_reviewed, m.Service.assured_date, m.Service.review_interval_days)
    ).all()
    active = [r for r in rows if r.status == OFFERED_STATUS]
    return {
        "services": len(rows),
        "active": len(active),
        "needs_review": sum(1 for r in active if review_due(r.last_reviewed or r.assured_date, r.review_interval_days, today)),
        "new_feedback": session.execute(
            select(func.count()).select_from(m.Feedback).where(m.Feedback.status == "new")
        ).scalar_one(),
        "organisations": session.execute(select(func.count()).select_from(m.Organization)).scalar_one(),
    }

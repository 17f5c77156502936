"""Between canonical records and the database: read a service as a record, write a record to a service."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from knowledge import models as m
from knowledge.records import NESTED_FIELDS, ORGANIZATION_FIELDS
from knowledge.validation import Context

NESTED_MODELS = {
    "cost_options": m.CostOption,
    "contacts": m.Contact,
    "schedules": m.Schedule,
    "locations": m.Location,
}
SCALAR_FIELDS = (
    "organization_id",
    "name",
    "description",
    "url",
    "email",
    "status",
    "fees_description",
    "eligibility_description",
    "application_process",
    "category",
    "tier",
    "access_route",
    "referrers",
    "diagnosis_required",
    "who_for",
    "how_to_access",
    "what_to_expect",
    "review_interval_days",
    "is_sample",
)


def _plain(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def service_query():
    return select(m.Service).options(
        selectinload(m.Service.service_areas),
        selectinload(m.Service.attributes).selectinload(m.Attribute.taxonomy_term),
        selectinload(m.Service.cost_options),
        selectinload(m.Service.contacts),
        selectinload(m.Service.schedules),
        selectinload(m.Service.locations),
        selectinload(m.Service.organization),
    )


def service_to_record(service: m.Service) -> dict:
    record = {"id": service.id}
    for name in SCALAR_FIELDS:
        record[name] = _plain(getattr(service, name))
    record["description"] = record["description"] or None
    record["referrers"] = list(service.referrers or [])
    for name in ("minimum_age", "maximum_age", "assured_date", "last_reviewed"):
        record[name] = _plain(getattr(service, name))
    record["needs"] = sorted(a.taxonomy_term.code for a in service.attributes if a.taxonomy_term.taxonomy == m.NEEDS_TAXONOMY)
    record["service_areas"] = [a.gss_code for a in service.service_areas]
    for key, fields in NESTED_FIELDS.items():
        record[key] = [{name: _plain(getattr(item, name)) for name in fields} for item in getattr(service, key)]
    return record


def organization_to_record(org: m.Organization) -> dict:
    record = {name: getattr(org, name) for name in ORGANIZATION_FIELDS}
    record["description"] = record["description"] or ""
    return record


def need_term_ids(session: Session) -> dict[str, str]:
    rows = session.execute(select(m.TaxonomyTerm.code, m.TaxonomyTerm.id).where(m.TaxonomyTerm.taxonomy == m.NEEDS_TAXONOMY))
    return dict(rows.all())


def need_names(session: Session) -> dict[str, str]:
    rows = session.execute(select(m.TaxonomyTerm.code, m.TaxonomyTerm.name).where(m.TaxonomyTerm.taxonomy == m.NEEDS_TAXONOMY))
    return dict(rows.all())


def postcode_counties(session: Session) -> dict[str, str]:
    """Outward code -> the name of its local authority (an address's `state_province`)."""
    rows = session.execute(
        select(m.PostcodeDistrict.outward_code, m.LocalAuthority.name).join(
            m.LocalAuthority, m.LocalAuthority.gss_code == m.PostcodeDistrict.authority_gss
        )
    )
    return dict(rows.all())


def apply_record(
    session: Session, service: m.Service, record: dict, term_ids: dict[str, str], area_names: dict[str, str]
) -> None:
    """Make `service` say exactly what `record` says (children replaced)."""
    for name in SCALAR_FIELDS:
        setattr(service, name, record[name])
    service.description = record["description"] or ""
    for name in ("minimum_age", "maximum_age"):
        setattr(service, name, None if record[name] is None else Decimal(str(record[name])))
    for name in ("assured_date", "last_reviewed"):
        setattr(service, name, date.fromisoformat(record[name]) if record[name] else None)
    service.service_areas = [m.ServiceArea(gss_code=code, name=area_names.get(code, code)) for code in record["service_areas"]]
    service.attributes = [m.Attribute(taxonomy_term_id=term_ids[code]) for code in record["needs"]]
    for key, model in NESTED_MODELS.items():
        items = []
        for item in record[key]:
            values = dict(item)
            if key == "cost_options" and values.get("amount") is not None:
                values["amount"] = Decimal(str(values["amount"]))
            items.append(model(**values))
        setattr(service, key, items)


def area_names(session: Session) -> dict[str, str]:
    names = {code: name for code, name in session.execute(select(m.LocalAuthority.gss_code, m.LocalAuthority.name))}
    names.update({code: name for code, name in session.execute(select(m.District.gss_code, m.District.name))})
    names.setdefault("E92000001", "England")
    return names


def build_context(session: Session) -> Context:
    return Context(
        area_names=area_names(session),
        organization_ids=set(session.execute(select(m.Organization.id)).scalars()),
        need_codes=set(need_term_ids(session)),
    )

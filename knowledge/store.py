"""Between canonical records and the database: read a service as a record, write a record to a service."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from knowledge import models as m
from knowledge.fields import DATE, NUMBER, SERVICE, TEXT_KINDS
from knowledge.records import ORGANIZATION_FIELDS
from knowledge.validation import Context

COLUMN_FIELDS = tuple(f for f in SERVICE.fields if f.column and f.key != "id")
"""The service's fields held in its own columns (needs and areas are rows of their own)."""


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
    for f in COLUMN_FIELDS:
        value = _plain(getattr(service, f.key))
        record[f.key] = list(value or []) if isinstance(f.default, list) else value
        if f.kind in TEXT_KINDS and not _nullable(m.Service, f.key):
            record[f.key] = record[f.key] or None  # stored as "" when there is none
    record["needs"] = sorted(a.taxonomy_term.code for a in service.attributes if a.taxonomy_term.taxonomy == m.NEEDS_TAXONOMY)
    record["service_areas"] = [a.gss_code for a in service.service_areas]
    for children in SERVICE.children:
        record[children.key] = [
            {f.key: _plain(getattr(item, f.key)) for f in children.fields} for item in getattr(service, children.key)
        ]
    return record


def _nullable(model, key: str) -> bool:
    return model.__table__.columns[key].nullable


def _column_value(model, f, value):
    """A record's value as the model's column takes it."""
    if value is None:
        return None if _nullable(model, f.key) or f.kind not in TEXT_KINDS else ""
    if f.kind == NUMBER:
        return Decimal(str(value))
    if f.kind == DATE:
        return date.fromisoformat(value)
    return value


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
    for f in COLUMN_FIELDS:
        setattr(service, f.key, _column_value(m.Service, f, record[f.key]))
    service.service_areas = [m.ServiceArea(gss_code=code, name=area_names.get(code, code)) for code in record["service_areas"]]
    service.attributes = [m.Attribute(taxonomy_term_id=term_ids[code]) for code in record["needs"]]
    for children in SERVICE.children:
        rows = [
            children.model(**{f.key: _column_value(children.model, f, item[f.key]) for f in children.fields})
            for item in record[children.key]
        ]
        setattr(service, children.key, rows)


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

"""The queries behind the Open Referral UK read API: filtered, paged services, organisations, taxonomies.

Pure knowledge-base code (the web app only parses parameters and writes JSON).
Published means: not retired (status inactive or defunct), and not sample data
unless the caller publishes sample data.
"""

from __future__ import annotations

import json
import math
import weakref
from collections import OrderedDict
from dataclasses import astuple, dataclass
from datetime import datetime

from sqlalchemy import bindparam, exists, func, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from knowledge import models as m
from knowledge.catalogue import current_version
from knowledge.oruk import (
    FIXED_TERMS,
    TAXONOMIES,
    iso,
    organization_to_oruk,
    service_to_oruk,
    slug,
    taxonomy_term,
    taxonomy_to_oruk,
)
from knowledge.records import FLAG_CODES, FLAG_TAXONOMY, ORGANIZATION_FIELDS, REFERRER_TAXONOMY
from knowledge.store import (
    area_names,
    need_names,
    organization_to_record,
    postcode_counties,
    service_query,
    service_to_record,
)
from knowledge.vocabulary import ENGLAND_GSS

RETIRED = ("inactive", "defunct")
COLUMN_TAXONOMIES = {"local-offer-category": "category", "local-offer-tier": "tier", "local-offer-access-route": "access_route"}
EARTH_RADIUS_M = 6_371_000


class BadParameter(ValueError):
    """A query parameter the API can't use; the message names it."""


@dataclass
class ServiceFilter:
    search: str | None = None
    taxonomy_term_id: str | None = None
    taxonomy_id: str | None = None
    minimum_age: float | None = None
    maximum_age: float | None = None
    modified_after: datetime | None = None
    organization_id: str | None = None


def published(include_sample: bool):
    conditions = [m.Service.status.notin_(RETIRED)]
    if not include_sample:
        conditions.append(m.Service.is_sample.is_(False))
    return conditions


def _term_condition(session: Session | Connection, term_id: str):
    taxonomy, _, code = term_id.rpartition(":")
    if taxonomy == "local-offer-needs":
        tagged = (
            select(m.Attribute.service_id)
            .join(m.TaxonomyTerm, m.TaxonomyTerm.id == m.Attribute.taxonomy_term_id)
            .where(m.TaxonomyTerm.code == code, m.TaxonomyTerm.taxonomy == m.NEEDS_TAXONOMY)
        )
        return m.Service.id.in_(tagged)  # not a correlated EXISTS: SQLite would scan the term's tags once per service
    if taxonomy in COLUMN_TAXONOMIES:
        return getattr(m.Service, COLUMN_TAXONOMIES[taxonomy]) == code
    if taxonomy == FLAG_TAXONOMY:
        field = {v: k for k, v in FLAG_CODES.items()}.get(code)
        return getattr(m.Service, field).is_(True) if field else False
    if taxonomy == REFERRER_TAXONOMY:
        ids = [
            sid
            for sid, referrers in session.execute(select(m.Service.id, m.Service.referrers))
            if code in map(slug, referrers or [])
        ]
        return m.Service.id.in_(ids)
    return False  # a term from no taxonomy of ours: no service has it


def _taxonomy_condition(taxonomy: str):
    if taxonomy == "local-offer-needs":
        return exists().where(m.Attribute.service_id == m.Service.id)
    if taxonomy in COLUMN_TAXONOMIES:
        return getattr(m.Service, COLUMN_TAXONOMIES[taxonomy]).isnot(None)
    if taxonomy == FLAG_TAXONOMY:
        return or_(m.Service.diagnosis_required.is_(True), m.Service.is_sample.is_(True))
    if taxonomy == REFERRER_TAXONOMY:
        return m.Service.access_route == "professional_referral"
    return False


def service_conditions(session: Session | Connection, f: ServiceFilter, include_sample: bool) -> list:
    conditions = published(include_sample)
    if f.search:
        words = f"%{f.search.strip().lower()}%"
        conditions.append(or_(func.lower(m.Service.name).like(words), func.lower(m.Service.description).like(words)))
    if f.taxonomy_term_id:
        conditions.append(_term_condition(session, f.taxonomy_term_id))
    if f.taxonomy_id:
        conditions.append(_taxonomy_condition(f.taxonomy_id))
    if f.minimum_age is not None:
        conditions.append(m.Service.minimum_age >= f.minimum_age)
    if f.maximum_age is not None:
        conditions.append(m.Service.maximum_age <= f.maximum_age)
    if f.modified_after is not None:
        conditions.append(m.Service.updated_at >= f.modified_after)
    if f.organization_id:
        conditions.append(m.Service.organization_id == f.organization_id)
    return conditions


def _count(session: Session, model, conditions) -> int:
    return session.execute(select(func.count()).select_from(model).where(*conditions)).scalar_one()


SUMMARY_COLUMNS = (
    m.Service.id,
    m.Service.organization_id,
    m.Service.name,
    m.Service.description,
    m.Service.url,
    m.Service.email,
    m.Service.status,
    m.Service.fees_description,
    m.Service.minimum_age,
    m.Service.maximum_age,
    m.Service.assured_date,
    m.Service.updated_at,
    *(getattr(m.Organization, name).label(f"org_{name}") for name in ORGANIZATION_FIELDS),
)

SUMMARIES = (
    select(*SUMMARY_COLUMNS)
    .join(m.Organization, m.Organization.id == m.Service.organization_id)
    .where(m.Service.id.in_(bindparam("ids", expanding=True)))
)
"""Built once: building a statement costs as much as running it on a warm database."""


def service_summary(row) -> dict:
    """A service's one-to-one fields and its organisation (the profile's service_list item), from SUMMARY_COLUMNS."""
    organization = {name: getattr(row, f"org_{name}") for name in ORGANIZATION_FIELDS}
    record = {
        "id": row.id,
        "organization_id": row.organization_id,
        "name": row.name,
        "description": row.description or "",
        "url": row.url,
        "email": row.email,
        "status": row.status,
        "fees": row.fees_description,
        "minimum_age": None if row.minimum_age is None else float(row.minimum_age),
        "maximum_age": None if row.maximum_age is None else float(row.maximum_age),
        "assured_date": iso(row.assured_date),
        "last_modified": row.updated_at.isoformat(timespec="milliseconds") + "Z",
        "organization": organization_to_oruk(organization),
    }
    return {k: v for k, v in record.items() if v is not None}


class _Published:
    """What the service list serves, for one database engine at one data version: the ids each filter
    selects (in order) and each service's summary, already encoded as JSON.

    The catalogue changes far less often than it is read, and every change moves the data version, so a
    page is a slice of a cached list, its total the list's length (no count, no OFFSET scan), and its
    items are joined from ready-made JSON."""

    MAX_LISTINGS = 32
    MAX_LISTED_IDS = 500_000
    MAX_SUMMARIES = 20_000
    """Bounds: filters' lists kept, ids held in them all (about 70 bytes each), encoded summaries (under 1 kB each)."""

    def __init__(self) -> None:
        self.version: int | None = None
        self.listings: OrderedDict = OrderedDict()
        self.summaries: dict[str, bytes] = {}

    def at(self, version: int) -> _Published:
        if version != self.version:
            self.version, self.listings, self.summaries = version, OrderedDict(), {}
        return self

    def ids(self, db: Session | Connection, f: ServiceFilter, include_sample: bool) -> tuple[str, ...]:
        key = (astuple(f), include_sample)
        if key in self.listings:
            self.listings.move_to_end(key)
            return self.listings[key]
        conditions = service_conditions(db, f, include_sample)
        ids = tuple(db.execute(select(m.Service.id).where(*conditions).order_by(m.Service.id)).scalars())
        self.listings[key] = ids
        while len(self.listings) > 1 and (
            len(self.listings) > self.MAX_LISTINGS or sum(map(len, self.listings.values())) > self.MAX_LISTED_IDS
        ):
            self.listings.popitem(last=False)
        return ids

    def encoded(self, db: Session | Connection, ids: tuple[str, ...]) -> list[bytes]:
        if len(self.summaries) + len(ids) > self.MAX_SUMMARIES:
            self.summaries = {}
        missing = [sid for sid in ids if sid not in self.summaries]
        if missing:
            for row in db.execute(SUMMARIES, {"ids": missing}):
                self.summaries[row.id] = json.dumps(service_summary(row), separators=(",", ":")).encode()
        return [self.summaries[sid] for sid in ids if sid in self.summaries]


_PUBLISHED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _published(connection: Connection) -> _Published:
    return _PUBLISHED.setdefault(connection.engine, _Published()).at(current_version(connection))


def encoded_services(
    connection: Connection, f: ServiceFilter, page: int, per_page: int, include_sample: bool
) -> tuple[list[bytes], int]:
    """One page of published services (the profile's service_list items, each encoded as JSON, ready to be
    joined into a response) and how many there are in all. Read on a plain connection: a warm page costs
    one query (the data version)."""
    published = _published(connection)
    ids = published.ids(connection, f, include_sample)
    return published.encoded(connection, ids[(page - 1) * per_page : page * per_page]), len(ids)


def full_services(session: Session, ids: list[str]) -> dict[str, dict]:
    """Fully nested ORUK services by id."""
    if not ids:
        return {}
    services = session.execute(service_query().where(m.Service.id.in_(ids))).scalars().all()
    names, needs, counties = area_names(session), need_names(session), postcode_counties(session)
    return {
        s.id: service_to_oruk(
            service_to_record(s), organization_to_record(s.organization), names, needs, counties, last_modified=s.updated_at
        )
        for s in services
    }


def get_service(session: Session, service_id: str, include_sample: bool) -> dict | None:
    row = session.execute(select(m.Service.id).where(m.Service.id == service_id, *published(include_sample))).first()
    return full_services(session, [service_id]).get(service_id) if row else None


def list_organizations(session: Session, page: int, per_page: int, include_sample: bool) -> tuple[list[dict], int]:
    conditions = [] if include_sample else [m.Organization.is_sample.is_(False)]
    total = _count(session, m.Organization, conditions)
    rows = session.execute(
        select(m.Organization).where(*conditions).order_by(m.Organization.id).limit(per_page).offset((page - 1) * per_page)
    ).scalars()
    return [organization_to_oruk(organization_to_record(o)) for o in rows], total


def get_organization(session: Session, org_id: str, include_sample: bool) -> dict | None:
    org = session.get(m.Organization, org_id)
    if org is None or (org.is_sample and not include_sample):
        return None
    out = organization_to_oruk(organization_to_record(org))
    ids = session.execute(select(m.Service.id).where(m.Service.organization_id == org_id, *published(include_sample))).scalars()
    full = full_services(session, sorted(ids))
    out["services"] = [full[sid] for sid in sorted(full)]
    return out


def all_taxonomies() -> list[dict]:
    return [taxonomy_to_oruk(t) for t in TAXONOMIES]


def all_terms(session: Session, include_sample: bool) -> list[dict]:
    """Every term of our taxonomies, in a fixed order."""
    terms = [
        taxonomy_term("local-offer-needs", t.code, t.name, t.description)
        for t in session.execute(
            select(m.TaxonomyTerm).where(m.TaxonomyTerm.taxonomy == m.NEEDS_TAXONOMY).order_by(m.TaxonomyTerm.code)
        ).scalars()
    ]
    for taxonomy, names in FIXED_TERMS.items():
        terms += [taxonomy_term(taxonomy, code, name) for code, name in names.items()]
    referrers: dict[str, str] = {}
    for (values,) in session.execute(select(m.Service.referrers).where(*published(include_sample))):
        for name in values or []:
            referrers.setdefault(slug(name), name)
    terms += [taxonomy_term(REFERRER_TAXONOMY, code, referrers[code]) for code in sorted(referrers)]
    return [{**t, "taxonomy_detail": taxonomy_to_oruk(t["taxonomy"])} for t in terms]


# --- services at locations ----------------------------------------------------------------------


def outward_code(postcode: str) -> str:
    text = postcode.upper().replace(" ", "")
    return text[:-3] if len(text) >= 5 else text


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres between two (latitude, longitude) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def centroids(session: Session) -> dict[str, tuple[float, float]]:
    rows = session.execute(
        select(m.PostcodeDistrict.outward_code, m.PostcodeDistrict.latitude, m.PostcodeDistrict.longitude).where(
            m.PostcodeDistrict.latitude.isnot(None)
        )
    )
    return {code: (float(lat), float(lon)) for code, lat, lon in rows}


def list_service_at_locations(
    session: Session,
    f: ServiceFilter,
    page: int,
    per_page: int,
    include_sample: bool,
    postcode: str | None = None,
    proximity: float | None = None,
) -> tuple[list[dict], int]:
    """Each published service's locations, in order; near a postcode (within `proximity` metres) if asked."""
    conditions = service_conditions(session, f, include_sample)
    if postcode:
        district = session.get(m.PostcodeDistrict, outward_code(postcode))
        if district is None:
            raise BadParameter(f"postcode: {postcode!r} is not a postcode we know")
        areas = [ENGLAND_GSS, district.authority_gss] + ([district.district_gss] if district.district_gss else [])
        conditions.append(exists().where(m.ServiceArea.service_id == m.Service.id, m.ServiceArea.gss_code.in_(areas)))
    rows = session.execute(
        select(m.Location.service_id, m.Location.id, m.Location.postcode)
        .join(m.Service, m.Service.id == m.Location.service_id)
        .where(*conditions)
        .order_by(m.Location.service_id, m.Location.id)
    ).all()
    numbered, position, previous = [], 0, None
    for sid, _lid, loc_postcode in rows:
        position = position + 1 if sid == previous else 1
        previous = sid
        numbered.append((sid, position, loc_postcode))
    if postcode and proximity is not None:
        points = centroids(session)
        here = points.get(outward_code(postcode))
        if here is None:
            raise BadParameter(f"proximity: we have no centre for {outward_code(postcode)}")
        numbered = [
            item
            for item in numbered
            if item[2] and outward_code(item[2]) in points and distance_m(here, points[outward_code(item[2])]) <= proximity
        ]
    total = len(numbered)
    chosen = numbered[(page - 1) * per_page : page * per_page]
    full = full_services(session, sorted({sid for sid, _i, _p in chosen}))
    return [_at_location(full[sid], index) for sid, index, _p in chosen], total


def _at_location(service: dict, index: int) -> dict:
    item = dict(service["service_at_locations"][index - 1])
    item["service"] = {k: v for k, v in service.items() if k != "service_at_locations"}
    return item


def get_service_at_location(session: Session, sal_id: str, include_sample: bool) -> dict | None:
    """`SERVICE:location:N:at`, as written by the exporter."""
    sid, marker, rest = sal_id.rpartition(":location:")
    number = rest.removesuffix(":at")
    if not marker or not rest.endswith(":at") or not number.isdigit():
        return None
    service = get_service(session, sid, include_sample)
    if service is None or not 1 <= int(number) <= len(service.get("service_at_locations", [])):
        return None
    return _at_location(service, int(number))

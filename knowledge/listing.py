"""Searching and paging the editors' long lists: the words families use for needs, places, postcode districts.

Each search returns one `knowledge.editing.Page`; a page number past the end gives the last page.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from knowledge import models as m
from knowledge.editing import PLACE_KINDS, SYNONYM_KINDS, Page, clean_outward_code, district_choices
from knowledge.places import FULL_POSTCODE
from knowledge.text import loose

PER_PAGE = 50


def bounded(page: int, total: int, per_page: int = PER_PAGE) -> int:
    """The page number to show: at least 1, at most the last page."""
    return min(max(1, page), max(1, math.ceil(total / per_page)))


def page_of(items: list, page: int, per_page: int = PER_PAGE) -> Page:
    """One page of a list already filtered and sorted."""
    page = bounded(page, len(items), per_page)
    return Page(items[(page - 1) * per_page : page * per_page], len(items), page, per_page)


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# --- Words families use for needs -----------------------------------------------------------------


@dataclass(frozen=True)
class Word:
    id: int
    phrase: str
    kind: str
    need_code: str
    need_name: str
    version: int


def search_words(session: Session, *, q: str = "", need: str = "", kind: str = "", page: int = 1) -> Page:
    """Words and phrases containing `q`, for the need with code `need`, of `kind`; by need, kind, then word."""
    need_name = func.coalesce(m.TaxonomyTerm.plain_name, m.TaxonomyTerm.name)
    kind_order = case({k: i for i, k in enumerate(SYNONYM_KINDS)}, value=m.NeedSynonym.kind, else_=len(SYNONYM_KINDS))
    query = (
        select(m.NeedSynonym.id, m.NeedSynonym.phrase, m.NeedSynonym.kind, m.TaxonomyTerm.code, need_name, m.NeedSynonym.version)
        .join(m.TaxonomyTerm, m.NeedSynonym.taxonomy_term_id == m.TaxonomyTerm.id)
        .where(m.TaxonomyTerm.taxonomy == m.NEEDS_TAXONOMY)
    )
    if q.strip():
        query = query.where(m.NeedSynonym.phrase.like(_like(" ".join(q.split())), escape="\\"))
    if need:
        query = query.where(m.TaxonomyTerm.code == need)
    if kind:
        query = query.where(m.NeedSynonym.kind == kind)
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    page = bounded(page, total)
    query = query.order_by(func.lower(need_name), kind_order, m.NeedSynonym.phrase).offset((page - 1) * PER_PAGE)
    rows = session.execute(query.limit(PER_PAGE)).all()
    words = [Word(r[0], r[1], r[2], r[3], r[4][:1].upper() + r[4][1:], r[5]) for r in rows]
    return Page(words, total, page, PER_PAGE)


def word_counts(session: Session) -> dict[str, int]:
    """How many words each need has, by need code."""
    query = (
        select(m.TaxonomyTerm.code, func.count(m.NeedSynonym.id))
        .outerjoin(m.NeedSynonym, m.NeedSynonym.taxonomy_term_id == m.TaxonomyTerm.id)
        .where(m.TaxonomyTerm.taxonomy == m.NEEDS_TAXONOMY)
        .group_by(m.TaxonomyTerm.code)
    )
    return dict(session.execute(query).all())


# --- Places and postcode districts ------------------------------------------------------------


@dataclass(frozen=True)
class Area:
    """Where a place or postcode district is: its district (if in ours) and its authority."""

    district: str
    authority: str
    in_coverage: bool

    @property
    def name(self) -> str:
        return self.district or self.authority


def _areas(session: Session):
    districts = dict(session.execute(select(m.District.gss_code, m.District.name)).all())
    authorities = {a.gss_code: a for a in session.execute(select(m.LocalAuthority)).scalars()}

    def area(district_gss: str | None, authority_gss: str) -> Area:
        authority = authorities.get(authority_gss)
        name = authority.name if authority else authority_gss
        return Area(districts.get(district_gss or "", ""), name, bool(authority and authority.in_coverage))

    return area


def area_choices(session: Session) -> list[tuple[str, str]]:
    """Districts of our area, then the authorities that have places or postcode districts, for a filter."""
    options = district_choices(session)
    districts = {code for code, _ in options}
    used = set(session.execute(select(m.Place.authority_gss).distinct()).scalars())
    used |= set(session.execute(select(m.PostcodeDistrict.authority_gss).distinct()).scalars())
    query = select(m.LocalAuthority.gss_code, m.LocalAuthority.name).order_by(m.LocalAuthority.name)
    authorities = [(code, f"{name} (the whole authority)") for code, name in session.execute(query) if code in used]
    return options + [(code, label) for code, label in authorities if code not in districts]


@dataclass(frozen=True)
class PlaceRow:
    id: int
    name: str
    kind: str
    aliases: list
    area: Area


def search_places(session: Session, *, q: str = "", kind: str = "", area: str = "", page: int = 1) -> Page:
    """Places whose name or another name contains `q` (ignoring case and accents), of `kind`, in the district or
    authority `area`; those in our area first, then by area and name."""
    key = loose(q)
    query = select(m.Place)
    if kind:
        query = query.where(m.Place.kind == kind)
    if area:
        query = query.where((m.Place.district_gss == area) | (m.Place.authority_gss == area))
    where = _areas(session)
    rows = [
        PlaceRow(p.id, p.name, PLACE_KINDS.get(p.kind, p.kind), list(p.aliases or []), where(p.district_gss, p.authority_gss))
        for p in session.execute(query).scalars()
        if not key or any(key in loose(n) for n in [p.name, *(p.aliases or [])])
    ]
    rows.sort(key=lambda r: (not r.area.in_coverage, r.area.name.casefold(), r.name.casefold()))
    return page_of(rows, page)


@dataclass(frozen=True)
class PostcodeRow:
    outward_code: str
    note: str
    area: Area
    version: int


def outward_code_of(text: str) -> str:
    """The outward code typed, or the first half of a full postcode ("po9 1ab" -> "PO9")."""
    code = clean_outward_code(text)
    full = FULL_POSTCODE.fullmatch(code)
    return full.group(1) if full else code


def search_postcodes(session: Session, *, q: str = "", area: str = "", page: int = 1) -> Page:
    """Postcode districts starting with `q` (or the one a full postcode is in), in the district or authority
    `area`; in postcode order (PO2 before PO10)."""
    code = outward_code_of(q)
    query = select(m.PostcodeDistrict)
    if code:
        query = query.where(m.PostcodeDistrict.outward_code.startswith(code, autoescape=True))
    if area:
        query = query.where((m.PostcodeDistrict.district_gss == area) | (m.PostcodeDistrict.authority_gss == area))
    where = _areas(session)
    found = session.execute(query).scalars()
    rows = [PostcodeRow(r.outward_code, r.note or "", where(r.district_gss, r.authority_gss), r.version) for r in found]
    rows.sort(key=lambda r: _postcode_order(r.outward_code))
    return page_of(rows, page)


def _postcode_order(code: str):
    match = re.match(r"([A-Z]+)(\d+)(.*)", code)
    return (match.group(1), int(match.group(2)), match.group(3)) if match else (code, 0, "")

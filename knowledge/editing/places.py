"""Editing the gazetteer: places (towns, villages, suburbs and their other names) and postcode districts."""

from __future__ import annotations

import re
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge import models as m
from knowledge.audit import NotFound, ValidationFailed, record_change
from knowledge.editing.common import check, checked_delete, flush, long_text, one_line
from knowledge.places import OUTWARD_CODE
from knowledge.text import loose

PLACE = "place"
POSTCODE = "postcode_district"
PLACE_KINDS = {"city": "City", "town": "Town", "village": "Village", "suburb": "Suburb", "area": "Area"}


def authority_choices(session: Session, coverage_only: bool = False) -> list[tuple[str, str]]:
    query = select(m.LocalAuthority.gss_code, m.LocalAuthority.name).order_by(m.LocalAuthority.name)
    if coverage_only:
        query = query.where(m.LocalAuthority.in_coverage.is_(True))
    return [(code, name) for code, name in session.execute(query)]


def district_choices(session: Session) -> list[tuple[str, str]]:
    return [
        (code, name) for code, name in session.execute(select(m.District.gss_code, m.District.name).order_by(m.District.name))
    ]


def place_to_record(place: m.Place) -> dict:
    return {
        "id": place.id,
        "name": place.name,
        "kind": place.kind,
        "district_gss": place.district_gss,
        "authority_gss": place.authority_gss,
        "aliases": list(place.aliases or []),
    }


def _split_aliases(text: str) -> list[str]:
    parts = re.split(r"[\n,|]", text or "")
    seen, out = set(), []
    for part in parts:
        alias = " ".join(part.split())
        if alias and loose(alias) not in seen:
            seen.add(loose(alias))
            out.append(alias)
    return out


def _where(session: Session, errors: dict, data: Mapping) -> tuple[str | None, str | None]:
    """(district, authority) from the form: the district decides the authority; without one, an authority is needed."""
    district_gss = one_line(data, "district_gss") or None
    authority_gss = one_line(data, "authority_gss") or None
    if district_gss:
        district = session.get(m.District, district_gss)
        if district is None:
            errors["district_gss"] = "Choose a district from the list"
            return None, None
        if authority_gss and authority_gss != district.authority_gss:
            errors["authority_gss"] = (
                "That district is not in that authority: leave the authority blank or choose the district's own"
            )
        return district.gss_code, district.authority_gss
    if not authority_gss:
        errors["district_gss"] = "Choose the district (or, for somewhere outside our districts, the authority)"
        return None, None
    if session.get(m.LocalAuthority, authority_gss) is None:
        errors["authority_gss"] = "Choose an authority from the list"
        return None, None
    if session.execute(select(m.District.gss_code).where(m.District.authority_gss == authority_gss)).first():
        errors["district_gss"] = "That authority has districts: choose the district"
    return None, authority_gss


def clean_place(session: Session, data: Mapping, place_id: int | None = None) -> dict:
    errors: dict[str, str] = {}
    name = one_line(data, "name")
    if not loose(name):
        errors["name"] = "Enter the name of the town, village or suburb"
    elif len(name) > 200:
        errors["name"] = "The name must be 200 characters or fewer"
    kind = one_line(data, "kind")
    if kind not in PLACE_KINDS:
        errors["kind"] = "Choose whether it is a city, town, village, suburb or area"
    district_gss, authority_gss = _where(session, errors, data)
    aliases = [a for a in _split_aliases(str(data.get("aliases") or "")) if loose(a) != loose(name)]
    if any(len(a) > 200 for a in aliases):
        errors["aliases"] = "Each other name must be 200 characters or fewer"
    if "name" not in errors and authority_gss:
        for other in session.execute(select(m.Place).where(m.Place.authority_gss == authority_gss)).scalars():
            if other.id != place_id and loose(other.name) == loose(name):
                errors["name"] = f"{other.name} is already a place in this authority"
                break
    if errors:
        raise ValidationFailed(errors)
    return {"name": name, "kind": kind, "district_gss": district_gss, "authority_gss": authority_gss, "aliases": aliases}


def get_place(session: Session, place_id) -> m.Place:
    try:
        place = session.get(m.Place, int(place_id))
    except (TypeError, ValueError):
        place = None
    if place is None:
        raise NotFound("There is no such place")
    return place


def create_place(session: Session, actor: str, data: Mapping) -> m.Place:
    place = m.Place(**clean_place(session, data))
    session.add(place)
    session.flush()
    record_change(session, actor, PLACE, place.id, "create", None, place_to_record(place), f"Added {place.kind} {place.name}")
    return place


def update_place(session: Session, actor: str, place_id, data: Mapping, expected_version) -> m.Place:
    """Change a place the editor saw at `expected_version`; EditConflict if it moved since."""
    place = get_place(session, place_id)
    before = place_to_record(place)
    check(PLACE, place.id, place, expected_version, before)
    values = clean_place(session, data, place.id)
    for name, value in values.items():
        if getattr(place, name) != value:
            setattr(place, name, value)
    if session.is_modified(place):
        flush(session, PLACE, place.id)
        record_change(session, actor, PLACE, place.id, "update", before, place_to_record(place))
    return place


def delete_place(session: Session, actor: str, place_id, expected_version) -> dict:
    """Remove a place the editor saw at `expected_version`; EditConflict if it changed since."""
    place = get_place(session, place_id)
    before = place_to_record(place)
    return checked_delete(
        session, actor, PLACE, place.id, place, expected_version, before, f"Removed {before['kind']} {before['name']}"
    )


def postcode_to_record(row: m.PostcodeDistrict) -> dict:
    return {
        "outward_code": row.outward_code,
        "district_gss": row.district_gss,
        "authority_gss": row.authority_gss,
        "note": row.note,
    }


def clean_outward_code(text: str) -> str:
    return "".join(str(text or "").split()).upper()


def set_postcode(session: Session, actor: str, data: Mapping) -> tuple[m.PostcodeDistrict, bool]:
    """Add an outward code, or move one the editor saw at `data["version"]` to another district; (row, created).

    Moving a listed code without its version (typed into the add form) is an EditConflict whose `current`
    says where it is now, so the editor confirms the move with that version."""
    errors: dict[str, str] = {}
    code = clean_outward_code(data.get("outward_code"))
    if not code:
        errors["outward_code"] = "Enter the first half of the postcode, like PO9 or SO23"
    elif not OUTWARD_CODE.fullmatch(code):
        errors["outward_code"] = f"{code} is not the first half of a postcode: enter something like PO9 or SO23"
    district_gss, authority_gss = _where(session, errors, data)
    note = long_text(data, "note")
    if errors:
        raise ValidationFailed(errors)
    row = session.get(m.PostcodeDistrict, code)
    values = {"district_gss": district_gss, "authority_gss": authority_gss, "note": note}
    if row is None:
        row = m.PostcodeDistrict(outward_code=code, **values)
        session.add(row)
        session.flush()
        record_change(session, actor, POSTCODE, code, "create", None, postcode_to_record(row), f"Added postcode district {code}")
        return row, True
    before = postcode_to_record(row)
    check(POSTCODE, code, row, data.get("version"), before)
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
    if session.is_modified(row):
        flush(session, POSTCODE, code)
        record_change(session, actor, POSTCODE, code, "update", before, postcode_to_record(row))
    return row, False


def delete_postcode(session: Session, actor: str, outward_code: str, expected_version) -> dict:
    """Remove a postcode district the editor saw at `expected_version`; EditConflict if it changed since."""
    row = session.get(m.PostcodeDistrict, clean_outward_code(outward_code))
    if row is None:
        raise NotFound(f"There is no postcode district {clean_outward_code(outward_code)}")
    before = postcode_to_record(row)
    summary = f"Removed postcode district {before['outward_code']}"
    return checked_delete(session, actor, POSTCODE, row.outward_code, row, expected_version, before, summary)

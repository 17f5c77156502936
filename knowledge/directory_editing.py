"""Editing the directory from the browser: signposts, need synonyms, places, postcodes, reviews, import and export.

Pure Python on a SQLAlchemy session: the caller owns the transaction, and every
change is audited in it (knowledge.audit.record_change). Form values arrive as
plain strings; anything wrong raises ValidationFailed with one plain message per
field, and nothing is written. The catalogue's data_version moves with every ORM
change to these tables, so the assistant reads the new vocabulary and gazetteer
on its next answer, without retraining.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import PurePath

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from knowledge import models as m
from knowledge.age_wording import disagreements as age_disagreements
from knowledge.audit import NotFound, ValidationFailed, changed_fields, check_fingerprint, check_version, record_change  # noqa: F401 (the errors callers catch)
from knowledge.formats import FORMATS, READ_FORMATS, FileFormatError, read_text
from knowledge.importer import ImportReport, check_dataset, export_text, import_dataset  # noqa: F401 (export_text for the views)
from knowledge.oruk_csv import read_zipped_package
from knowledge.places import FULL_POSTCODE, OUTWARD_CODE
from knowledge.records import Dataset, Problem
from knowledge.store import organization_to_record, service_query, service_to_record
from knowledge.text import loose
from knowledge.validation import EMAIL_PATTERN, ID_PATTERN, QUALITY_CHECKS, quality_summary, review_due
from knowledge.vocabulary import LOCAL_OFFER_MAX_AGE, SIGNPOST_KINDS, SIGNPOST_SCOPES

SIGNPOST_KIND_NAMES = {
    "sendias": "SENDIAS service",
    "parent_carer_forum": "Parent carer forum",
    "charity": "Charity",
    "nhs": "NHS",
    "helpline": "Helpline",
    "urgent": "Urgent help",
    "safeguarding": "Worried a child is being harmed",
    "adult_services": "Adult services",
    "local_offer": "Local Offer or council",
    "government": "Government",
}
SIGNPOST_SCOPE_NAMES = {"local": "Local (one authority)", "national": "National"}
SYNONYM_KINDS = {
    "synonym": "Synonym",
    "abbreviation": "Abbreviation",
    "misspelling": "Misspelling",
    "description": "Everyday description",
    "cue": "Cue word (counts only when a parent describes a difficulty)",
}
PLACE_KINDS = {"city": "City", "town": "Town", "village": "Village", "suburb": "Suburb", "area": "Area"}
PHONE_PATTERN = re.compile(r"^\+?[0-9][0-9 ()-]*$")
MAX_TEXT = {"name": 300, "website": 500, "email": 300, "phone": 60, "id": 120}


def _text(data: Mapping, name: str) -> str:
    value = data.get(name)
    return " ".join(str(value).split()) if value is not None else ""


def _long_text(data: Mapping, name: str) -> str | None:
    value = data.get(name)
    text = str(value).strip() if value is not None else ""
    return text or None


def _values(data: Mapping, name: str) -> list[str]:
    """Every value of a repeated form field (checkboxes): works with multidicts and plain dicts of lists."""
    if hasattr(data, "getall"):
        raw = data.getall(name, [])
    else:
        raw = data.get(name) or []
        raw = [raw] if isinstance(raw, str) else list(raw)
    return [str(v).strip() for v in raw if str(v).strip()]


def _age(errors: dict, data: Mapping, name: str, label: str) -> Decimal | None:
    text = _text(data, name)
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        errors[name] = f"Enter the {label} as a number of years, like 5 or 1.5"
        return None
    if not value.is_finite() or not 0 <= value <= LOCAL_OFFER_MAX_AGE:
        errors[name] = f"The {label} must be between 0 and {LOCAL_OFFER_MAX_AGE}"
        return None
    if value != value.quantize(Decimal("0.01")):
        errors[name] = f"Give the {label} to at most two decimal places"
        return None
    return value


def _plain_age(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", loose(text)).strip("-")[:100]


# --- Signposts ----------------------------------------------------------------------------------

SIGNPOST_FIELDS = (
    "name",
    "kind",
    "scope",
    "authority_gss",
    "needs",
    "minimum_age",
    "maximum_age",
    "description",
    "how_to_access",
    "website",
    "phone",
    "email",
    "opening_hours",
    "is_sample",
)


def signpost_to_record(signpost: m.Signpost) -> dict:
    """A signpost as plain JSON-safe values (for the audit trail and the edit form)."""
    record = {"id": signpost.id, "version": signpost.version}
    for name in SIGNPOST_FIELDS:
        record[name] = getattr(signpost, name)
    record["needs"] = sorted(record["needs"] or [])
    record["minimum_age"] = _plain_age(signpost.minimum_age)
    record["maximum_age"] = _plain_age(signpost.maximum_age)
    record["is_sample"] = bool(signpost.is_sample)
    return record


def _heading(text: str) -> str:
    """A plain name as a heading or label: first letter upper case ("autism (including ...)" -> "Autism (including ...)")."""
    return text[:1].upper() + text[1:]


def need_choices(session: Session) -> list[tuple[str, str]]:
    """(code, plain name as a label) of every need in the vocabulary, in name order."""
    terms = session.execute(select(m.TaxonomyTerm).where(m.TaxonomyTerm.taxonomy == m.NEEDS_TAXONOMY)).scalars()
    return sorted(((t.code, _heading(t.plain_name or t.name)) for t in terms), key=lambda pair: pair[1].casefold())


def authority_choices(session: Session, coverage_only: bool = False) -> list[tuple[str, str]]:
    query = select(m.LocalAuthority.gss_code, m.LocalAuthority.name).order_by(m.LocalAuthority.name)
    if coverage_only:
        query = query.where(m.LocalAuthority.in_coverage.is_(True))
    return [(code, name) for code, name in session.execute(query)]


def district_choices(session: Session) -> list[tuple[str, str]]:
    return [
        (code, name) for code, name in session.execute(select(m.District.gss_code, m.District.name).order_by(m.District.name))
    ]


def clean_signpost(session: Session, data: Mapping) -> dict:
    """Model values for a signpost from form strings, or ValidationFailed with every problem."""
    errors: dict[str, str] = {}
    values: dict = {}
    values["name"] = _text(data, "name")
    if not values["name"]:
        errors["name"] = "Enter the signpost's name"
    elif len(values["name"]) > MAX_TEXT["name"]:
        errors["name"] = f"The name must be {MAX_TEXT['name']} characters or fewer"
    values["kind"] = _text(data, "kind")
    if values["kind"] not in SIGNPOST_KINDS:
        errors["kind"] = "Choose what kind of help this is"
    values["scope"] = _text(data, "scope")
    if values["scope"] not in SIGNPOST_SCOPES:
        errors["scope"] = "Choose whether this is local or national"
    authority = _text(data, "authority_gss") or None
    if values["scope"] == "local":
        if not authority:
            errors["authority_gss"] = "A local signpost needs the authority it serves"
        elif session.get(m.LocalAuthority, authority) is None:
            errors["authority_gss"] = "Choose an authority from the list"
    elif values["scope"] == "national" and authority:
        errors["authority_gss"] = "A national signpost is not tied to one authority: leave the authority blank"
    values["authority_gss"] = authority
    known = {code for code, _name in need_choices(session)}
    needs = sorted(set(_values(data, "needs")))
    unknown = [n for n in needs if n not in known]
    if unknown:
        errors["needs"] = f"Not a need in the vocabulary: {', '.join(unknown)}"
    values["needs"] = needs
    values["minimum_age"] = _age(errors, data, "minimum_age", "minimum age")
    values["maximum_age"] = _age(errors, data, "maximum_age", "maximum age")
    low, high = values["minimum_age"], values["maximum_age"]
    if low is not None and high is not None and low > high:
        errors["maximum_age"] = f"The maximum age ({high:g}) must not be below the minimum age ({low:g})"
    values["description"] = _long_text(data, "description") or ""
    if not values["description"]:
        errors["description"] = "Describe what help they give, in plain words"
    values["how_to_access"] = _long_text(data, "how_to_access")
    values["opening_hours"] = _long_text(data, "opening_hours")
    website = _text(data, "website") or None
    if website and (not website.startswith(("http://", "https://")) or " " in website or len(website) > MAX_TEXT["website"]):
        errors["website"] = "Enter the website address starting with https://"
    values["website"] = website
    phone = _text(data, "phone") or None
    if phone:
        digits = sum(ch.isdigit() for ch in phone)
        if not PHONE_PATTERN.match(phone) or not 3 <= digits <= 15 or len(phone) > MAX_TEXT["phone"]:
            errors["phone"] = "Enter a phone number, like 01632 960901 or 0800 1111"
    values["phone"] = phone
    email = _text(data, "email") or None
    if email and (not EMAIL_PATTERN.match(email) or len(email) > MAX_TEXT["email"]):
        errors["email"] = "Enter an e-mail address, like name@example.org"
    values["email"] = email
    values["is_sample"] = _text(data, "is_sample") in ("yes", "on", "true", "1")
    if errors:
        raise ValidationFailed(errors)
    return values


def _version(value) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def create_signpost(session: Session, actor: str, data: Mapping) -> m.Signpost:
    errors: dict[str, str] = {}
    try:
        values = clean_signpost(session, data)
    except ValidationFailed as failed:
        errors.update(failed.errors)
        values = {}
    wanted = _text(data, "id")
    if wanted:
        if not ID_PATTERN.match(wanted):
            errors["id"] = "The id can only have letters, numbers, dots, dashes, underscores and colons"
        elif session.get(m.Signpost, wanted) is not None:
            errors["id"] = f"A signpost with the id {wanted} already exists"
    if errors:
        raise ValidationFailed(errors)
    signpost_id = wanted or _free_id(session, "sp-" + (_slug(values["name"]) or "signpost"))
    signpost = m.Signpost(id=signpost_id, **values)
    session.add(signpost)
    session.flush()
    record_change(
        session, actor, "signpost", signpost.id, "create", None, signpost_to_record(signpost), f"Added signpost {signpost.name}"
    )
    return signpost


def _free_id(session: Session, base: str) -> str:
    candidate, n = base, 1
    while session.get(m.Signpost, candidate) is not None:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def get_signpost(session: Session, signpost_id: str) -> m.Signpost:
    signpost = session.get(m.Signpost, signpost_id)
    if signpost is None:
        raise NotFound(f"There is no signpost {signpost_id}")
    return signpost


def update_signpost(session: Session, actor: str, signpost_id: str, data: Mapping, expected_version) -> m.Signpost:
    """Change a signpost the editor opened at `expected_version`; EditConflict if it moved since."""
    signpost = get_signpost(session, signpost_id)
    before = signpost_to_record(signpost)
    check_version("signpost", signpost_id, signpost.version, _version(expected_version), before)
    values = clean_signpost(session, data)
    for name, value in values.items():
        if getattr(signpost, name) != value:
            setattr(signpost, name, value)
    if not session.is_modified(signpost):
        return signpost
    session.flush()
    after = signpost_to_record(signpost)
    fields = [f for f in changed_fields(before, after) if f != "version"]
    record_change(
        session, actor, "signpost", signpost.id, "update", before, after, f"Changed {', '.join(fields)} of {signpost.name}"
    )
    return signpost


def delete_signpost(session: Session, actor: str, signpost_id: str, expected_version) -> dict:
    """Remove a signpost the assistant should no longer suggest; returns what it was."""
    signpost = get_signpost(session, signpost_id)
    before = signpost_to_record(signpost)
    check_version("signpost", signpost_id, signpost.version, _version(expected_version), before)
    session.delete(signpost)
    session.flush()
    record_change(session, actor, "signpost", signpost_id, "delete", before, None, f"Removed signpost {before['name']}")
    return before


def list_signposts(session: Session, kind: str | None = None, scope: str | None = None) -> list[m.Signpost]:
    query = select(m.Signpost).order_by(m.Signpost.scope, m.Signpost.name)
    if kind:
        query = query.where(m.Signpost.kind == kind)
    if scope:
        query = query.where(m.Signpost.scope == scope)
    return list(session.execute(query).scalars())


# --- Need synonyms ------------------------------------------------------------------------------


def normalise_phrase(phrase: str) -> str:
    """As the seed stores phrases: spaces folded, lower case."""
    return " ".join(str(phrase or "").split()).lower()


def _need_term(session: Session, code: str) -> m.TaxonomyTerm:
    term = session.execute(
        select(m.TaxonomyTerm).where(m.TaxonomyTerm.taxonomy == m.NEEDS_TAXONOMY, m.TaxonomyTerm.code == code)
    ).scalar_one_or_none()
    if term is None:
        raise NotFound(f"There is no need {code}")
    return term


def phrase_owner(session: Session, phrase: str) -> tuple[str, str] | None:
    """(code, plain name) of the need that already has this word or phrase, compared loosely; None if free."""
    key = loose(phrase)
    terms = session.execute(select(m.TaxonomyTerm).where(m.TaxonomyTerm.taxonomy == m.NEEDS_TAXONOMY)).scalars().all()
    for term in terms:
        if key in {loose(term.code.replace("_", " ")), loose(term.name), loose(term.plain_name or "")}:
            return term.code, term.plain_name or term.name
    rows = session.execute(
        select(m.NeedSynonym.phrase, m.TaxonomyTerm.code, m.TaxonomyTerm.name, m.TaxonomyTerm.plain_name).join(m.NeedSynonym.term)
    )
    for existing, code, name, plain in rows:
        if loose(existing) == key:
            return code, plain or name
    return None


def synonym_to_record(synonym: m.NeedSynonym, code: str) -> dict:
    return {"id": synonym.id, "need": code, "phrase": synonym.phrase, "kind": synonym.kind}


def add_synonym(session: Session, actor: str, code: str, phrase: str, kind: str = "synonym") -> m.NeedSynonym:
    """Teach the assistant another word for a need; refused if any need already has it."""
    term = _need_term(session, code)
    phrase = normalise_phrase(phrase)
    errors = {}
    if not loose(phrase):
        errors["phrase"] = "Enter a word or phrase families use for this need"
    elif len(phrase) > 200:
        errors["phrase"] = "The phrase must be 200 characters or fewer"
    elif (owner := phrase_owner(session, phrase)) is not None:
        where = "this need" if owner[0] == code else f"the need \u201c{owner[1]}\u201d"
        errors["phrase"] = f"\u201c{phrase}\u201d is already a word for {where}"
    if kind not in SYNONYM_KINDS:
        errors["kind"] = "Choose what kind of word this is"
    if errors:
        raise ValidationFailed(errors)
    synonym = m.NeedSynonym(taxonomy_term_id=term.id, phrase=phrase, kind=kind)
    session.add(synonym)
    session.flush()
    label = term.plain_name or term.name
    record_change(
        session,
        actor,
        "need_synonym",
        synonym.id,
        "create",
        None,
        synonym_to_record(synonym, code),
        f"Added \u201c{phrase}\u201d to {label}",
    )
    return synonym


def remove_synonym(session: Session, actor: str, code: str, synonym_id) -> dict:
    term = _need_term(session, code)
    try:
        synonym = session.get(m.NeedSynonym, int(synonym_id))
    except (TypeError, ValueError):
        synonym = None
    if synonym is None or synonym.taxonomy_term_id != term.id:
        raise NotFound(f"That word is not listed for {term.plain_name or term.name}")
    before = synonym_to_record(synonym, code)
    session.delete(synonym)
    session.flush()
    record_change(
        session,
        actor,
        "need_synonym",
        before["id"],
        "delete",
        before,
        None,
        f"Removed \u201c{before['phrase']}\u201d from {term.plain_name or term.name}",
    )
    return before


def needs_with_synonyms(session: Session) -> list[dict]:
    """Every need with its plain name and its words, grouped by kind, in the order families see them."""
    terms = session.execute(select(m.TaxonomyTerm).where(m.TaxonomyTerm.taxonomy == m.NEEDS_TAXONOMY)).scalars().all()
    out = []
    for term in sorted(terms, key=lambda t: (t.plain_name or t.name).casefold()):
        synonyms = sorted(
            term.synonyms, key=lambda s: (list(SYNONYM_KINDS).index(s.kind) if s.kind in SYNONYM_KINDS else 9, s.phrase)
        )
        out.append(
            {
                "code": term.code,
                "name": term.name,
                "plain_name": term.plain_name or term.name,
                "heading": _heading(term.plain_name or term.name),
                "description": term.description,
                "synonyms": synonyms,
            }
        )
    return out


# --- Places and postcode districts --------------------------------------------------------------


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
    district_gss = _text(data, "district_gss") or None
    authority_gss = _text(data, "authority_gss") or None
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
    name = _text(data, "name")
    if not loose(name):
        errors["name"] = "Enter the name of the town, village or suburb"
    elif len(name) > 200:
        errors["name"] = "The name must be 200 characters or fewer"
    kind = _text(data, "kind")
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
    record_change(session, actor, "place", place.id, "create", None, place_to_record(place), f"Added {place.kind} {place.name}")
    return place


def update_place(session: Session, actor: str, place_id, data: Mapping, expected: str | None) -> m.Place:
    """Change a place; `expected` is the fingerprint of the record the editor's form showed (else EditConflict)."""
    place = get_place(session, place_id)
    before = place_to_record(place)
    check_fingerprint("place", str(place.id), before, expected)
    values = clean_place(session, data, place.id)
    for name, value in values.items():
        if getattr(place, name) != value:
            setattr(place, name, value)
    if session.is_modified(place):
        session.flush()
        record_change(session, actor, "place", place.id, "update", before, place_to_record(place))
    return place


def delete_place(session: Session, actor: str, place_id) -> dict:
    place = get_place(session, place_id)
    before = place_to_record(place)
    session.delete(place)
    session.flush()
    record_change(session, actor, "place", before["id"], "delete", before, None, f"Removed {before['kind']} {before['name']}")
    return before


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
    """Add an outward code, or move it to another district; (row, created)."""
    errors: dict[str, str] = {}
    code = clean_outward_code(data.get("outward_code"))
    if not code:
        errors["outward_code"] = "Enter the first half of the postcode, like PO9 or SO23"
    elif not OUTWARD_CODE.fullmatch(code):
        errors["outward_code"] = f"{code} is not the first half of a postcode: enter something like PO9 or SO23"
    district_gss, authority_gss = _where(session, errors, data)
    note = _long_text(data, "note")
    if errors:
        raise ValidationFailed(errors)
    row = session.get(m.PostcodeDistrict, code)
    values = {"district_gss": district_gss, "authority_gss": authority_gss, "note": note}
    if row is None:
        row = m.PostcodeDistrict(outward_code=code, **values)
        session.add(row)
        session.flush()
        record_change(
            session, actor, "postcode_district", code, "create", None, postcode_to_record(row), f"Added postcode district {code}"
        )
        return row, True
    before = postcode_to_record(row)
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
    if session.is_modified(row):
        session.flush()
        record_change(session, actor, "postcode_district", code, "update", before, postcode_to_record(row))
    return row, False


def delete_postcode(session: Session, actor: str, outward_code: str) -> dict:
    row = session.get(m.PostcodeDistrict, clean_outward_code(outward_code))
    if row is None:
        raise NotFound(f"There is no postcode district {clean_outward_code(outward_code)}")
    before = postcode_to_record(row)
    session.delete(row)
    session.flush()
    record_change(
        session,
        actor,
        "postcode_district",
        before["outward_code"],
        "delete",
        before,
        None,
        f"Removed postcode district {before['outward_code']}",
    )
    return before


@dataclass
class AreaGroup:
    """The places and postcode districts of one district (or, outside our districts, one authority)."""

    gss_code: str
    name: str
    in_coverage: bool
    places: list[m.Place] = field(default_factory=list)
    postcodes: list[m.PostcodeDistrict] = field(default_factory=list)


def places_by_area(session: Session, query: str = "") -> list[AreaGroup]:
    """Places and postcode districts grouped by district, then by authority; filtered by a search if given."""
    key = loose(query)
    code = clean_outward_code(query)
    full = FULL_POSTCODE.fullmatch(code)
    code = full.group(1) if full else code
    districts = {d.gss_code: d for d in session.execute(select(m.District)).scalars()}
    authorities = {a.gss_code: a for a in session.execute(select(m.LocalAuthority)).scalars()}
    groups: dict[str, AreaGroup] = {}

    def group(district_gss: str | None, authority_gss: str) -> AreaGroup:
        gss = district_gss or authority_gss
        if gss not in groups:
            if district_gss and district_gss in districts:
                name, covered = districts[district_gss].name, True
            else:
                authority = authorities.get(authority_gss)
                name = authority.name if authority else authority_gss
                covered = bool(authority and authority.in_coverage)
            groups[gss] = AreaGroup(gss, name, covered)
        return groups[gss]

    for place in session.execute(select(m.Place).order_by(m.Place.name)).scalars():
        names = [place.name, *(place.aliases or [])]
        if key and not any(key in loose(n) for n in names):
            continue
        group(place.district_gss, place.authority_gss).places.append(place)
    for row in session.execute(select(m.PostcodeDistrict)).scalars():
        if key and not row.outward_code.startswith(code):
            continue
        group(row.district_gss, row.authority_gss).postcodes.append(row)
    for g in groups.values():
        g.postcodes.sort(key=lambda r: _postcode_sort_key(r.outward_code))
    return sorted(groups.values(), key=lambda g: (not g.in_coverage, g.name.casefold()))


def _postcode_sort_key(code: str):
    match = re.match(r"([A-Z]+)(\d+)(.*)", code)
    return (match.group(1), int(match.group(2)), match.group(3)) if match else (code, 0, "")


# --- Services due for review --------------------------------------------------------------------


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
    check_version("service", service_id, service.version, _version(expected_version), service_to_record(service))
    service.last_reviewed = today
    session.flush()
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


# --- Import and export --------------------------------------------------------------------------


def upload_format(filename: str, chosen: str | None = None) -> str:
    """The file's format: the one chosen, else from its extension (.json, .ndjson, .yaml/.yml, .csv, .zip)."""
    if chosen:
        if chosen not in FORMATS:
            raise FileFormatError(f"Unknown format {chosen}: choose JSON, YAML or CSV")
        return chosen
    suffix = PurePath(filename or "").suffix.lower().lstrip(".")
    fmt = {"yml": "yaml", "jsonl": "ndjson"}.get(suffix, suffix)
    if fmt not in READ_FORMATS + ("zip",):
        raise FileFormatError(
            "Can't tell the file's format from its name: name it .json, .ndjson, .yaml, .csv or .zip "
            "(an Open Referral UK CSV package), or choose the format"
        )
    return fmt


def read_upload(filename: str, content: bytes, chosen: str | None = None) -> Dataset:
    """An uploaded file as a dataset; FileFormatError (with a plain message) if it can't be read at all."""
    fmt = upload_format(filename, chosen)
    if fmt == "zip":
        return read_zipped_package(content)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FileFormatError("The file is not UTF-8 text: save it as UTF-8 and try again") from error
    if not text.strip():
        raise FileFormatError("The file is empty")
    return read_text(text, fmt)


@dataclass
class FileCheck:
    """What a check found: every problem (errors first) and the data-quality summary; writes nothing."""

    services: int
    organizations: int
    problems: list[Problem]
    quality: list[tuple[str, int, list[str]]]
    would: ImportReport | None = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


def _quality_rows(dataset: Dataset, today: date) -> list[tuple[str, int, list[str]]]:
    summary = quality_summary([record for _row, record in dataset.services], today)
    return [(label, summary.counts.get(check, 0), summary.examples.get(check, [])[:5]) for check, label in QUALITY_CHECKS.items()]


def check_file(session: Session, dataset: Dataset, today: date | None = None, *, dry_run: bool = True) -> FileCheck:
    """Validate a file against the knowledge base and say what an import would do (unless not dry_run:
    the import preview works out its own plan); writes nothing."""
    today = today or date.today()
    problems = check_dataset(session, dataset, today)
    problems.sort(key=lambda p: (p.severity != "error", p.row or 0))
    result = FileCheck(len(dataset.services), len(dataset.organizations), problems, _quality_rows(dataset, today))
    if dry_run and not result.errors:
        result.would = import_dataset(session, dataset, dry_run=True, today=today)
    return result


def import_file(session: Session, actor: str, filename: str, dataset: Dataset, today: date | None = None) -> ImportReport:
    """Import all or nothing in the caller's transaction; ImportRejected (nothing written) if anything is wrong.

    Audited: one entry for the import (who, file, summary) and one per created or changed service and organisation.
    """
    ids = [record["id"] for _row, record in dataset.services if record.get("id")]
    before = (
        {s.id: service_to_record(s) for s in session.execute(service_query().where(m.Service.id.in_(ids))).scalars()}
        if ids
        else {}
    )
    org_ids = [org["id"] for _row, org in dataset.organizations if org.get("id")]
    orgs_before = (
        {
            o.id: organization_to_record(o)
            for o in session.execute(select(m.Organization).where(m.Organization.id.in_(org_ids))).scalars()
        }
        if org_ids
        else {}
    )
    report = import_dataset(session, dataset, today=today)
    for org_id in report.organizations_created + report.organizations_updated:
        org = session.get(m.Organization, org_id)
        action = "create" if org_id in report.organizations_created else "update"
        record_change(session, actor, "organization", org_id, action, orgs_before.get(org_id), organization_to_record(org))
    changed = report.created + report.updated
    if changed:
        session.expire_all()
        after = {s.id: service_to_record(s) for s in session.execute(service_query().where(m.Service.id.in_(changed))).scalars()}
        for service_id in changed:
            action = "create" if service_id in report.created else "update"
            record_change(session, actor, "service", service_id, action, before.get(service_id), after[service_id])
    summary = {
        "file": filename,
        "created": len(report.created),
        "updated": len(report.updated),
        "unchanged": len(report.unchanged),
        "organizations_created": len(report.organizations_created),
        "organizations_updated": len(report.organizations_updated),
        "warnings": len(report.warnings),
    }
    record_change(
        session,
        actor,
        "import",
        filename or "(no name)",
        "import",
        None,
        summary,
        f"Imported {filename}: {len(report.created)} created, {len(report.updated)} updated, {len(report.unchanged)} unchanged",
    )
    return report


EXPORT_TYPES = {"json": "application/json", "yaml": "application/yaml", "csv": "text/csv"}

"""Editing signposts: where the assistant sends families when nothing local fits."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge import models as m
from knowledge.audit import NotFound, ValidationFailed, changed_fields, record_change
from knowledge.editing.common import check, checked_delete, flush, form_values, long_text, one_line, slug
from knowledge.editing.words import need_choices
from knowledge.validation import EMAIL_PATTERN, ID_PATTERN
from knowledge.vocabulary import LOCAL_OFFER_MAX_AGE, SIGNPOST_KINDS, SIGNPOST_SCOPES

SIGNPOST = "signpost"
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
PHONE_PATTERN = re.compile(r"^\+?[0-9][0-9 ()-]*$")
MAX_TEXT = {"name": 300, "website": 500, "email": 300, "phone": 60, "id": 120}


def _age(errors: dict, data: Mapping, name: str, label: str) -> Decimal | None:
    text = one_line(data, name)
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


def clean_signpost(session: Session, data: Mapping) -> dict:
    """Model values for a signpost from form strings, or ValidationFailed with every problem."""
    errors: dict[str, str] = {}
    values: dict = {}
    values["name"] = one_line(data, "name")
    if not values["name"]:
        errors["name"] = "Enter the signpost's name"
    elif len(values["name"]) > MAX_TEXT["name"]:
        errors["name"] = f"The name must be {MAX_TEXT['name']} characters or fewer"
    values["kind"] = one_line(data, "kind")
    if values["kind"] not in SIGNPOST_KINDS:
        errors["kind"] = "Choose what kind of help this is"
    values["scope"] = one_line(data, "scope")
    if values["scope"] not in SIGNPOST_SCOPES:
        errors["scope"] = "Choose whether this is local or national"
    authority = one_line(data, "authority_gss") or None
    if values["scope"] == "local":
        if not authority:
            errors["authority_gss"] = "A local signpost needs the authority it serves"
        elif session.get(m.LocalAuthority, authority) is None:
            errors["authority_gss"] = "Choose an authority from the list"
    elif values["scope"] == "national" and authority:
        errors["authority_gss"] = "A national signpost is not tied to one authority: leave the authority blank"
    values["authority_gss"] = authority
    known = {code for code, _name in need_choices(session)}
    needs = sorted(set(form_values(data, "needs")))
    unknown = [n for n in needs if n not in known]
    if unknown:
        errors["needs"] = f"Not a need in the vocabulary: {', '.join(unknown)}"
    values["needs"] = needs
    values["minimum_age"] = _age(errors, data, "minimum_age", "minimum age")
    values["maximum_age"] = _age(errors, data, "maximum_age", "maximum age")
    low, high = values["minimum_age"], values["maximum_age"]
    if low is not None and high is not None and low > high:
        errors["maximum_age"] = f"The maximum age ({high:g}) must not be below the minimum age ({low:g})"
    values["description"] = long_text(data, "description") or ""
    if not values["description"]:
        errors["description"] = "Describe what help they give, in plain words"
    values["how_to_access"] = long_text(data, "how_to_access")
    values["opening_hours"] = long_text(data, "opening_hours")
    website = one_line(data, "website") or None
    if website and (not website.startswith(("http://", "https://")) or " " in website or len(website) > MAX_TEXT["website"]):
        errors["website"] = "Enter the website address starting with https://"
    values["website"] = website
    phone = one_line(data, "phone") or None
    if phone:
        digits = sum(ch.isdigit() for ch in phone)
        if not PHONE_PATTERN.match(phone) or not 3 <= digits <= 15 or len(phone) > MAX_TEXT["phone"]:
            errors["phone"] = "Enter a phone number, like 01632 960901 or 0800 1111"
    values["phone"] = phone
    email = one_line(data, "email") or None
    if email and (not EMAIL_PATTERN.match(email) or len(email) > MAX_TEXT["email"]):
        errors["email"] = "Enter an e-mail address, like name@example.org"
    values["email"] = email
    values["is_sample"] = one_line(data, "is_sample") in ("yes", "on", "true", "1")
    if errors:
        raise ValidationFailed(errors)
    return values


def create_signpost(session: Session, actor: str, data: Mapping) -> m.Signpost:
    errors: dict[str, str] = {}
    try:
        values = clean_signpost(session, data)
    except ValidationFailed as failed:
        errors.update(failed.errors)
        values = {}
    wanted = one_line(data, "id")
    if wanted:
        if not ID_PATTERN.match(wanted):
            errors["id"] = "The id can only have letters, numbers, dots, dashes, underscores and colons"
        elif session.get(m.Signpost, wanted) is not None:
            errors["id"] = f"A signpost with the id {wanted} already exists"
    if errors:
        raise ValidationFailed(errors)
    signpost_id = wanted or _free_id(session, "sp-" + (slug(values["name"]) or "signpost"))
    signpost = m.Signpost(id=signpost_id, **values)
    session.add(signpost)
    flush(session, SIGNPOST, signpost_id)
    record_change(
        session, actor, SIGNPOST, signpost.id, "create", None, signpost_to_record(signpost), f"Added signpost {signpost.name}"
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
    check(SIGNPOST, signpost_id, signpost, expected_version, before)
    values = clean_signpost(session, data)
    for name, value in values.items():
        if getattr(signpost, name) != value:
            setattr(signpost, name, value)
    if not session.is_modified(signpost):
        return signpost
    flush(session, SIGNPOST, signpost_id)
    after = signpost_to_record(signpost)
    fields = [f for f in changed_fields(before, after) if f != "version"]
    record_change(
        session, actor, SIGNPOST, signpost.id, "update", before, after, f"Changed {', '.join(fields)} of {signpost.name}"
    )
    return signpost


def delete_signpost(session: Session, actor: str, signpost_id: str, expected_version) -> dict:
    """Remove a signpost the assistant should no longer suggest; returns what it was."""
    signpost = get_signpost(session, signpost_id)
    before = signpost_to_record(signpost)
    return checked_delete(
        session, actor, SIGNPOST, signpost_id, signpost, expected_version, before, f"Removed signpost {before['name']}"
    )


def list_signposts(session: Session, kind: str | None = None, scope: str | None = None) -> list[m.Signpost]:
    query = select(m.Signpost).order_by(m.Signpost.scope, m.Signpost.name)
    if kind:
        query = query.where(m.Signpost.kind == kind)
    if scope:
        query = query.where(m.Signpost.scope == scope)
    return list(session.execute(query).scalars())

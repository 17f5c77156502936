"""What every editor shares: reading form values, ids, form errors, paging, plain display of values, and
the one concurrency rule.

The rule: every editable row has a `version` column (the model's `version_id_col`). A form carries
the version it showed; an update or delete checks it (`check`) and the flush checks it again in the
database (`flush`), so a save or delete over someone else's change raises EditConflict and writes nothing.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from knowledge.audit import EditConflict, NotFound, ValidationFailed, changed_fields, check_version, record_change  # noqa: F401 (the errors callers catch)
from knowledge.fields import SERVICE
from knowledge.records import Problem
from knowledge.text import loose

PER_PAGE = 25

FRIENDLY_MESSAGES = {
    "minimum_age": "Enter the minimum age as a number of years, like 5 or 2.5",
    "maximum_age": "Enter the maximum age as a number of years, like 11 or 18",
    "review_interval_days": "Enter the review interval as a whole number of days, like 365",
    "cost_amount": "Enter the cost as an amount in pounds, like 12.50",
    "last_reviewed": "Enter the date it was last reviewed as a real date, like 14 9 2026",
    "diagnosis_required": "Say whether a diagnosis is needed",
    "is_sample": "Say whether this is sample data",
}
"""Plain messages for values the reader could not read at all (its own messages name the raw value)."""

# --- Concurrency -------------------------------------------------------------------------------


def version_number(value) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def check(entity_type: str, entity_id, row, expected_version, current: dict | None) -> None:
    """Raise EditConflict unless `row` is still at the version the editor's form showed (`current`: what it says now)."""
    check_version(entity_type, str(entity_id), row.version, version_number(expected_version), current)


def flush(session: Session, entity_type: str, entity_id: str) -> None:
    """Write now; a row changed by someone else in the meantime is a conflict, not an overwrite."""
    try:
        session.flush()
    except StaleDataError as error:
        raise EditConflict(entity_type, entity_id, None) from error


def checked_delete(
    session: Session, actor: str, entity_type: str, entity_id, row, expected_version, before: dict, summary: str
) -> dict:
    """Delete `row` if it is still at the version the editor saw (else EditConflict, nothing written); audited."""
    check(entity_type, entity_id, row, expected_version, before)
    session.delete(row)
    flush(session, entity_type, entity_id)
    record_change(session, actor, entity_type, entity_id, "delete", before, None, summary)
    return before


# --- Form values -------------------------------------------------------------------------------


def one_line(data: Mapping, name: str) -> str:
    value = data.get(name)
    return " ".join(str(value).split()) if value is not None else ""


def long_text(data: Mapping, name: str) -> str | None:
    value = data.get(name)
    text = str(value).strip() if value is not None else ""
    return text or None


def form_values(data: Mapping, name: str) -> list[str]:
    """Every value of a repeated form field (checkboxes): works with multidicts and plain dicts of lists."""
    if hasattr(data, "getall"):
        raw = data.getall(name, [])
    else:
        raw = data.get(name) or []
        raw = [raw] if isinstance(raw, str) else list(raw)
    return [str(v).strip() for v in raw if str(v).strip()]


def form_value(form: Mapping, name: str) -> str:
    """One form value as trimmed text (the first, if several were sent)."""
    value = form.get(name, "")
    if isinstance(value, (list, tuple)):
        value = value[0] if value else ""
    return str(value if value is not None else "").strip()


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", loose(text)).strip("-")[:100]


def heading(text: str) -> str:
    """A plain name as a heading or label: first letter upper case ("autism (including ...)" -> "Autism (including ...)")."""
    return text[:1].upper() + text[1:]


# --- Ids and form errors -----------------------------------------------------------------------


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


FIRST_ROW = re.compile(r"(\w+)\[1\]\.(\w+)")
CHILD_PREFIX = {c.key: c.csv_prefix for c in SERVICE.children}
FORM_NAMES = {c.form_name(f) for c in SERVICE.children for f in c.form_fields} | {"cost_amount"}
"""Form inputs for a child list's first row: the shown fields, and the cost's amount (the cost has its own helper)."""


def _form_field(problem_field: str) -> str:
    if problem_field in ("id", "organization.id", "organization.name"):
        return "name"
    if problem_field.startswith("organization."):
        return problem_field.split(".", 1)[1]
    first_row = FIRST_ROW.fullmatch(problem_field)
    if first_row and first_row.group(1) in CHILD_PREFIX:  # the first row's fields are on the form as prefix_field
        name = f"{CHILD_PREFIX[first_row.group(1)]}_{first_row.group(2)}"
        if name in FORM_NAMES:
            return name
    if problem_field.startswith("cost_options"):
        return "cost"
    if problem_field == "email":
        return "contact_email"
    if problem_field.startswith("contacts"):
        return "contact_phone"
    if problem_field.startswith("locations"):
        return "location_name"
    if problem_field.startswith("schedules"):
        return "schedule_description"
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
        errors[name] = FRIENDLY_MESSAGES[name] if unreadable and name in FRIENDLY_MESSAGES else _sentence(problem.message)
    return errors


def plain_changes(before: dict | None, after: dict | None, labels: Mapping[str, str]) -> str:
    names = [labels.get(name, name).lower() for name in changed_fields(before, after)]
    return "Changed " + ", ".join(names)


# --- Pages and plain values --------------------------------------------------------------------


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


def like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


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

"""Validation of canonical records, and the data-quality summary.

Errors make an import fail as a whole; warnings are the data-quality notes
real council feeds need (no age range, no need tags, no contact, no area,
past the review date) and never block an import.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from knowledge.age_wording import disagreements as age_disagreements
from knowledge.fields import ORGANISATION, SERVICE, TEXT_KINDS, Shape, max_length
from knowledge.records import GSS_CODE, Dataset, Problem
from knowledge.text import loose
from knowledge.vocabulary import (
    LOCAL_OFFER_MAX_AGE,
    SERVICE_TAGS,
)

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,119}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TIME_PATTERN = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
BYDAY_CODES = {"MO", "TU", "WE", "TH", "FR", "SA", "SU"}
FREQ_CODES = {"WEEKLY", "MONTHLY", "DAILY", "YEARLY"}
QUALITY_CHECKS = {
    "no_age_range": "no age range",
    "no_need_tags": "no need tags",
    "no_contact": "no contact details",
    "no_area": "no service area",
    "review_overdue": "past its review date",
    "no_tier": "no tier (universal, targeted or specialist)",
    "no_access_route": "no access route",
    "age_wording": "ages and \u201cwho it is for\u201d disagree",
}


@dataclass
class Context:
    """What records may refer to: the known areas (code and name), need tags and organisations."""

    area_names: dict[str, str]  # gss code -> name
    organization_ids: set[str] = field(default_factory=set)
    need_codes: set[str] = field(default_factory=lambda: set(SERVICE_TAGS))
    _by_loose_name: dict[str, str] | None = field(default=None, repr=False, compare=False)

    def area_code(self, value: str) -> str | None:
        if value in self.area_names:
            return value
        if self._by_loose_name is None:  # built once: a feed of thousands of services names its areas in words
            self._by_loose_name = {}
            for code, name in self.area_names.items():
                self._by_loose_name.setdefault(loose(name), code)
        return self._by_loose_name.get(loose(value))


@dataclass
class QualitySummary:
    total: int = 0
    counts: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, check: str, service_id: str) -> None:
        self.counts[check] += 1
        self.examples.setdefault(check, [])
        if len(self.examples[check]) < 10:
            self.examples[check].append(service_id)

    def lines(self) -> list[str]:
        out = [f"Data quality: {self.total} services"]
        for check, label in QUALITY_CHECKS.items():
            count = self.counts.get(check, 0)
            share = f" ({100 * count / self.total:.0f}%)" if self.total else ""
            out.append(f"  {label}: {count}{share}" + (f", e.g. {', '.join(self.examples[check][:5])}" if count else ""))
        return out


def validate(dataset: Dataset, context: Context, *, clamp_ages: bool = True) -> list[Problem]:
    """Every error and warning in the dataset; fixes area names to GSS codes in place.

    Files and feeds (clamp_ages) have ages outside 0 to 25 brought into range with a warning
    ("all ages" services are common); in the editor's form such an age is an error to correct.
    """
    problems = list(dataset.problems)
    org_ids: Counter = Counter()
    for row, org in dataset.organizations:
        _check_id(problems, row, "id", org["id"], org["id"])
        for name, message in _missing(ORGANISATION, org) + _too_long(ORGANISATION.model, org, ORGANISATION.fields):
            if name != "id":  # checked above, with its pattern
                problems.append(Problem(row, f"organization.{name}", message, ref=org["id"]))
        if org.get("email") and not EMAIL_PATTERN.match(org["email"]):
            problems.append(Problem(row, "organization.email", f"{org['email']!r} is not an e-mail address", ref=org["id"]))
        org_ids[org["id"]] += 1
    known_orgs = context.organization_ids | set(org_ids)
    seen: Counter = Counter(record["id"] for _row, record in dataset.services if record["id"])
    for oid, count in org_ids.items():
        if oid and count > 1:
            problems.append(Problem(None, "organization.id", f"organisation {oid!r} appears {count} times", ref=oid))
    for row, record in dataset.services:
        problems.extend(_service_problems(row, record, context, known_orgs, seen, clamp_ages))
    return problems


def _missing(shape: Shape, record: dict) -> list[tuple[str, str]]:
    """(field, message) for each required field the record leaves empty."""
    return [(f.key, f.missing) for f in shape.fields if f.required and not record.get(f.key)]


def _too_long(model: type, record: dict, fields) -> list[tuple[str, str]]:
    """(field, message) for each text longer than the model's column holds."""
    out = []
    for f in fields:
        limit = max_length(model, f.key) if f.kind in TEXT_KINDS else None
        value = record.get(f.key)
        if limit and isinstance(value, str) and len(value) > limit:
            out.append((f.key, f"{f.label.lower()} must be {limit} characters or fewer (it has {len(value)})"))
    return out


def _check_id(problems: list[Problem], row: int, field_name: str, value: str | None, ref: str | None) -> None:
    if not value:
        problems.append(Problem(row, field_name, "an id is required", ref=ref))
    elif not ID_PATTERN.match(value):
        problems.append(Problem(row, field_name, f"{value!r} is not a valid id (letters, digits, . _ : -)", ref=ref))


def _service_problems(
    row: int, r: dict, context: Context, known_orgs: set[str], seen: Counter, clamp_ages: bool = True
) -> list[Problem]:
    out: list[Problem] = []
    ref = r["id"]

    def err(field_name: str, message: str) -> None:
        out.append(Problem(row, field_name, message, ref=ref))

    _check_id(out, row, "id", r["id"], ref)
    if r["id"] and seen[r["id"]] > 1:
        err("id", f"the id {r['id']!r} appears {seen[r['id']]} times in the file")
    for name, message in _missing(SERVICE, r):
        if name != "id":  # checked above, with its pattern
            err(name, message)
    if r["organization_id"] and r["organization_id"] not in known_orgs:
        err("organization_id", f"no organisation {r['organization_id']!r} in the file or the knowledge base")
    for name, message in _too_long(SERVICE.model, r, SERVICE.fields):
        err(name, message)
    for children in SERVICE.children:
        for i, item in enumerate(r[children.key], start=1):
            for name, message in _too_long(children.model, item, children.fields):
                err(f"{children.key}[{i}].{name}", message)
    for f in SERVICE.fields:
        if f.choices and r[f.key] is not None and r[f.key] not in f.choices:
            err(f.key, f"{r[f.key]!r} is not one of {', '.join(f.choices)}")
    for name in ("minimum_age", "maximum_age"):
        value = r[name]
        if value is not None and not 0 <= value <= LOCAL_OFFER_MAX_AGE and not clamp_ages:
            err(name, f"{value:g} is outside the Local Offer's ages (0 to {LOCAL_OFFER_MAX_AGE})")
        elif value is not None and not 0 <= value <= LOCAL_OFFER_MAX_AGE:
            r[name] = float(min(max(value, 0), LOCAL_OFFER_MAX_AGE))
            message = f"{value:g} is outside the Local Offer's ages (0 to {LOCAL_OFFER_MAX_AGE}): imported as {r[name]:g}"
            out.append(Problem(row, name, message, "warning", ref))
    low, high = r["minimum_age"], r["maximum_age"]
    if low is not None and high is not None and low > high:
        err("maximum_age", f"the maximum age {high:g} is below the minimum age {low:g}")
    for need in r["needs"]:
        if need not in context.need_codes:
            err("needs", f"{need!r} is not a need code (use one of {', '.join(sorted(context.need_codes))})")
    codes = []
    for area in r["service_areas"]:
        code = context.area_code(area)
        if code is None:  # real feeds describe areas in words: a data-quality note, not a reason to refuse the file
            hint = "not a GSS code we know" if GSS_CODE.match(area) else "not an area name or GSS code we know"
            out.append(Problem(row, "service_areas", f"{area[:80]!r} is {hint}: left out", "warning", ref))
        else:
            codes.append(code)
    r["service_areas"] = list(dict.fromkeys(codes))
    if r["access_route"] == "professional_referral" and not r["referrers"]:
        out.append(Problem(row, "referrers", "a referral-only service should say who can refer", "warning", ref))
    if r["review_interval_days"] is not None and r["review_interval_days"] <= 0:
        err("review_interval_days", "must be a positive number of days")
    if r["email"] and not EMAIL_PATTERN.match(r["email"]):
        err("email", f"{r['email']!r} is not an e-mail address")
    if r["url"] and not r["url"].startswith(("http://", "https://")):
        err("url", f"{r['url']!r} should start with https://")
    for i, cost in enumerate(r["cost_options"], start=1):
        if cost["amount"] is not None and cost["amount"] < 0:
            err(f"cost_options[{i}].amount", "a cost can't be negative")
    for i, contact in enumerate(r["contacts"], start=1):
        if contact["email"] and not EMAIL_PATTERN.match(contact["email"]):
            err(f"contacts[{i}].email", f"{contact['email']!r} is not an e-mail address")
    for i, schedule in enumerate(r["schedules"], start=1):
        for name in ("opens_at", "closes_at"):
            if schedule[name] and not TIME_PATTERN.match(schedule[name]):
                err(f"schedules[{i}].{name}", f"{schedule[name]!r} is not a time like 09:30")
        days = [d for d in (schedule["byday"] or "").split(",") if d]
        if any(d[-2:] not in BYDAY_CODES for d in days):
            err(f"schedules[{i}].byday", f"{schedule['byday']!r}: use MO,TU,WE,TH,FR,SA,SU")
        if schedule["freq"] and schedule["freq"] not in FREQ_CODES:
            err(f"schedules[{i}].freq", f"{schedule['freq']!r} is not one of {', '.join(sorted(FREQ_CODES))}")
    return out


def quality_checks(record: dict, today: date) -> list[str]:
    """The data-quality gaps of one canonical record (keys of QUALITY_CHECKS)."""
    gaps = []
    if record["minimum_age"] is None and record["maximum_age"] is None:
        gaps.append("no_age_range")
    if not record["needs"]:
        gaps.append("no_need_tags")
    if not record["email"] and not any(c["phone"] or c["email"] for c in record["contacts"]):
        gaps.append("no_contact")
    if not record["service_areas"]:
        gaps.append("no_area")
    if review_due(record["last_reviewed"] or record["assured_date"], record["review_interval_days"], today):
        gaps.append("review_overdue")
    if not record["tier"]:
        gaps.append("no_tier")
    if not record["access_route"]:
        gaps.append("no_access_route")
    if age_disagreements(record["minimum_age"], record["maximum_age"], record["who_for"]):
        gaps.append("age_wording")
    return gaps


def review_due(last_reviewed: str | date | None, interval_days: int | None, today: date) -> bool:
    """Never reviewed, or reviewed longer ago than its interval."""
    if last_reviewed is None:
        return True
    reviewed = date.fromisoformat(last_reviewed) if isinstance(last_reviewed, str) else last_reviewed
    return reviewed + timedelta(days=interval_days or 365) < today


def quality_summary(records: list[dict], today: date) -> QualitySummary:
    summary = QualitySummary(total=len(records))
    for record in records:
        for check in quality_checks(record, today):
            summary.add(check, record["id"] or "(no id)")
    return summary


def quality_warnings(dataset: Dataset, today: date) -> list[Problem]:
    return [
        Problem(row, check, QUALITY_CHECKS[check], "warning", record["id"])
        for row, record in dataset.services
        for check in quality_checks(record, today)
    ]

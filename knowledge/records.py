"""Service and organisation records in one canonical shape, read from ORUK JSON, compact YAML or flat CSV.

Every reader turns its input into canonical records (plain dicts with fixed
keys and normalised values); validation, import, export and the data-quality
report all work on that one shape. Two records are equal exactly when an
import of one over the other would change nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from knowledge.fields import BOOL, DATE, INTEGER, NUMBER, ORGANISATION, SERVICE, TEXT_KINDS
from knowledge.models import NEEDS_TAXONOMY

GSS_URI_PREFIX = "http://statistics.data.gov.uk/id/statistical-geography/"
GSS_CODE = re.compile(r"^[EWSN]\d{8}$")
EXTENSION_KEY = "local_offer"
"""ORUK services carry the Local Offer fields in this object; compact files put them at the top level."""

EXTENSION_FIELDS = SERVICE.keys(local_offer=True)
TEXT_FIELDS = SERVICE.of_kind(*TEXT_KINDS)
NESTED_FIELDS: dict[str, tuple[str, ...]] = SERVICE.nested
ORGANIZATION_FIELDS = ORGANISATION.keys()
TAXONOMY_BY_FIELD = {
    "needs": NEEDS_TAXONOMY,
    "category": "local-offer-category",
    "tier": "local-offer-tier",
    "access_route": "local-offer-access-route",
}
REFERRER_TAXONOMY = "local-offer-referrer"
FLAG_TAXONOMY = "local-offer-flags"
FLAG_CODES = {"diagnosis_required": "diagnosis-required", "is_sample": "sample-data"}
"""The two yes/no Local Offer fields, as terms of our flags taxonomy in ORUK attributes."""
ALL_DAYS = "MO,TU,WE,TH,FR,SA,SU"
SERVICE_DEFAULTS = SERVICE.blank()
DEFAULT_REVIEW_INTERVAL_DAYS = SERVICE_DEFAULTS["review_interval_days"]
CHILDREN = {children.key: children for children in SERVICE.children}


@dataclass
class Problem:
    """One thing wrong with an input: where (row and field) and what."""

    row: int | None
    field: str
    message: str
    severity: str = "error"  # error rejects the import; warning is a data-quality note
    ref: str | None = None  # the record's id, where it has one

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row is not None else "file"
        ref = f" ({self.ref})" if self.ref else ""
        return f"{self.severity}: {where}{ref}, {self.field}: {self.message}"


@dataclass
class Dataset:
    """Canonical organisations and services read from one file, each with the row it came from."""

    organizations: list[tuple[int, dict]] = field(default_factory=list)
    services: list[tuple[int, dict]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    foreign_terms: dict[int, list[dict]] = field(default_factory=dict)
    """Row -> the taxonomy terms of that service from other taxonomies than ours (mapped to needs on import)."""


def _text(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


class _Collector:
    """Normalises values, noting a problem (with row and field) for each one it cannot read."""

    def __init__(self, row: int, ref: str | None, problems: list[Problem]) -> None:
        self.row, self.ref, self.problems = row, ref, problems

    def problem(self, field_name: str, message: str) -> None:
        self.problems.append(Problem(self.row, field_name, message, ref=self.ref))

    def number(self, field_name: str, value) -> float | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, bool):
            self.problem(field_name, f"expected a number, got {value!r}")
            return None
        try:
            number = Decimal(str(value).strip().replace("\u00a3", "").replace(",", ""))
        except InvalidOperation:
            self.problem(field_name, f"expected a number, got {value!r}")
            return None
        if not number.is_finite():
            self.problem(field_name, f"expected a number, got {value!r}")
            return None
        return float(number)

    def integer(self, field_name: str, value) -> int | None:
        number = self.number(field_name, value)
        if number is None:
            return None
        if not float(number).is_integer():
            self.problem(field_name, f"expected a whole number, got {value!r}")
            return None
        return int(number)

    def boolean(self, field_name: str, value, default: bool = False) -> bool:
        if value is None or (isinstance(value, str) and not value.strip()):
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().casefold()
        if text in {"true", "yes", "y", "1"}:
            return True
        if text in {"false", "no", "n", "0"}:
            return False
        self.problem(field_name, f"expected yes or no, got {value!r}")
        return default

    def date(self, field_name: str, value) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, date):
            return value.isoformat()
        text = str(value).strip()[:10]
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            self.problem(field_name, f"expected a date like 2026-05-31, got {value!r}")
            return None

    def word_list(self, field_name: str, value) -> list[str]:
        if value is None:
            return []
        if isinstance(value, str):
            return [p.strip() for p in value.split("|") if p.strip()]
        if isinstance(value, (list, tuple)):
            return [str(v).strip() for v in value if v is not None and str(v).strip()]
        self.problem(field_name, f"expected a list, got {value!r}")
        return []


def attribute_terms(raw: dict) -> list[dict]:
    """The taxonomy terms of a service's ORUK attributes (those given as objects)."""
    terms = []
    for attribute in raw.get("attributes") or []:
        term = attribute.get("taxonomy_term") if isinstance(attribute, dict) else None
        if isinstance(term, dict):
            terms.append(term)
    return terms


def term_taxonomy(term: dict) -> str | None:
    taxonomy = term.get("taxonomy") or term.get("taxonomy_id")
    if isinstance(taxonomy, dict):
        taxonomy = taxonomy.get("id") or taxonomy.get("name")
    if taxonomy is None and isinstance(term.get("taxonomy_detail"), dict):
        taxonomy = term["taxonomy_detail"].get("id") or term["taxonomy_detail"].get("name")
    return _text(taxonomy)


def _taxonomy_codes(raw: dict, taxonomy: str) -> list[str]:
    codes = []
    for term in attribute_terms(raw):
        if term_taxonomy(term) == taxonomy:
            code = _text(term.get("code")) or _text(term.get("id"))
            if code:
                codes.append(code.split(":")[-1])
    return codes


OUR_TAXONOMIES = frozenset(TAXONOMY_BY_FIELD.values()) | {REFERRER_TAXONOMY, FLAG_TAXONOMY}


def foreign_terms(raw: dict) -> list[dict]:
    """A service's taxonomy terms from other directories' taxonomies: {taxonomy, term_id, name}."""
    out = []
    for term in attribute_terms(raw):
        taxonomy = term_taxonomy(term) or ""
        term_id = _text(term.get("id")) or _text(term.get("code")) or _text(term.get("name"))
        if taxonomy not in OUR_TAXONOMIES and term_id:
            out.append({"taxonomy": taxonomy[:200], "term_id": term_id[:200], "name": (_text(term.get("name")) or term_id)[:300]})
    return out


def _taxonomy_names(raw: dict, taxonomy: str) -> list[str]:
    return [_text(t.get("name")) for t in attribute_terms(raw) if term_taxonomy(t) == taxonomy and _text(t.get("name"))]


def _area_code(item) -> str | None:
    """A service area as a GSS code where one is given (code, URI); else its name for later lookup."""
    if isinstance(item, str):
        return item.strip() or None
    if isinstance(item, dict):
        for key in ("gss_code", "code"):
            if _text(item.get(key)):
                return _text(item.get(key))
        uri = _text(item.get("uri"))
        if uri and uri.rstrip("/").split("/")[-1] and GSS_CODE.match(uri.rstrip("/").split("/")[-1]):
            return uri.rstrip("/").split("/")[-1]
        return _text(item.get("name")) or _text(item.get("extent"))
    return None


def _nested(raw: dict, key: str, collector: _Collector) -> list[dict]:
    items = raw.get(key)
    if key == "locations" and not items and raw.get("service_at_locations"):
        items = [sal.get("location") or {} for sal in raw["service_at_locations"] if isinstance(sal, dict)]
    if items is None:
        return []
    if not isinstance(items, list):
        collector.problem(key, "expected a list")
        return []
    out = []
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            collector.problem(f"{key}[{index}]", "expected an object")
            continue
        item = dict(item)
        if key == "contacts" and not item.get("phone") and item.get("phones"):
            phones = item["phones"]
            item["phone"] = phones[0].get("number") if phones and isinstance(phones[0], dict) else None
        if key == "locations" and item.get("addresses"):
            address = item["addresses"][0] if isinstance(item["addresses"][0], dict) else {}
            item.setdefault("address_1", address.get("address_1"))
            item.setdefault("city", address.get("city"))
            item.setdefault("postcode", address.get("postal_code"))
        record = {}
        for child in CHILDREN[key].fields:
            read = {NUMBER: collector.number, INTEGER: collector.integer}.get(child.kind)
            value = item.get(child.key)
            record[child.key] = read(f"{key}[{index}].{child.key}", value) if read else _text(value)
        if key == "cost_options":
            record["currency"] = (record["currency"] or "GBP").upper()
        if key == "schedules":
            record["byday"] = (record["byday"] or "").upper().replace(" ", "") or None
            record["freq"] = (record["freq"] or "").upper() or None
            _profile_frequency(record)
        if key == "schedules":
            for name in ("opens_at", "closes_at"):  # ORUK feeds often write 10:00:00
                if record[name] and len(record[name]) == 8 and record[name][2] == ":" and record[name][5] == ":":
                    record[name] = record[name][:5]
        if key == "locations" and record["postcode"]:
            record["postcode"] = record["postcode"].upper()
        if any(v is not None for v in record.values()):
            out.append(record)
    return out


def _profile_frequency(schedule: dict) -> None:
    """ORUK 3.0 knows only WEEKLY and MONTHLY: daily is weekly on every day, yearly is every 12 months."""
    if schedule["freq"] == "DAILY" and (schedule["interval"] or 1) == 1:
        schedule["freq"], schedule["byday"] = "WEEKLY", schedule["byday"] or ALL_DAYS
    elif schedule["freq"] == "YEARLY":
        schedule["freq"], schedule["interval"] = "MONTHLY", 12 * (schedule["interval"] or 1)


def normalise_service(raw: dict, row: int, problems: list[Problem]) -> dict:
    """One service from ORUK JSON, compact YAML or a CSV row (already unflattened) in canonical shape."""
    extension = raw.get(EXTENSION_KEY) if isinstance(raw.get(EXTENSION_KEY), dict) else {}
    merged = {**raw, **{k: v for k, v in extension.items() if v is not None}}
    c = _Collector(row, _text(merged.get("id")), problems)
    record: dict = {name: _text(merged.get(name)) for name in TEXT_FIELDS}
    if record["fees_description"] is None:
        record["fees_description"] = _text(merged.get("fees"))
    if record["organization_id"] is None and isinstance(merged.get("organization"), dict):
        record["organization_id"] = _text(merged["organization"].get("id"))
    for name in ("category", "tier", "access_route"):
        if record[name] is None:
            codes = _taxonomy_codes(merged, TAXONOMY_BY_FIELD[name])
            record[name] = codes[0] if codes else None
        if record[name]:
            record[name] = record[name].strip().lower().replace(" ", "_").replace("-", "_")
    record["status"] = (record["status"] or SERVICE_DEFAULTS["status"]).lower()
    readers = {NUMBER: c.number, INTEGER: c.integer, DATE: c.date}
    for f in SERVICE.fields:
        if f.kind in readers:
            value = readers[f.kind](f.key, merged.get(f.key))
            record[f.key] = f.default if value is None else value
    flags = set(_taxonomy_codes(merged, FLAG_TAXONOMY))
    for name in SERVICE.of_kind(BOOL):
        record[name] = c.boolean(name, merged.get(name), default=FLAG_CODES.get(name) in flags or SERVICE_DEFAULTS[name])
    referrers = merged.get("referrers")
    record["referrers"] = (
        c.word_list("referrers", referrers) if referrers is not None else _taxonomy_names(merged, REFERRER_TAXONOMY)
    )
    needs = merged.get("needs")
    needs = c.word_list("needs", needs) if needs is not None else _taxonomy_codes(merged, NEEDS_TAXONOMY)
    record["needs"] = sorted({n.strip().lower() for n in needs})
    areas = merged.get("service_areas")
    if isinstance(areas, str):
        areas = c.word_list("service_areas", areas)
    record["service_areas"] = [a for a in (_area_code(item) for item in (areas or [])) if a]
    for key in NESTED_FIELDS:
        record[key] = _nested(merged, key, c)
    return record


def normalise_organization(raw: dict, row: int, problems: list[Problem]) -> dict:
    """An organisation, with only the fields the input gives (a CSV or an embedded ORUK
    `organization` may carry just id and name; an import never blanks what it did not say)."""
    extension = raw.get(EXTENSION_KEY)
    if isinstance(extension, dict):
        raw = {**raw, **{k: v for k, v in extension.items() if v is not None}}
    c = _Collector(row, _text(raw.get("id")), problems)
    if "website" not in raw and "url" in raw:
        raw = {**raw, "website": raw["url"]}
    record = {}
    for f in ORGANISATION.fields:
        if f.required:
            record[f.key] = _text(raw.get(f.key))
        elif f.key not in raw:
            continue
        elif f.kind == BOOL:
            record[f.key] = c.boolean(f.key, raw.get(f.key))
        else:
            record[f.key] = _text(raw.get(f.key)) or f.default
    return record

"""Writing Open Referral UK 3.0 objects (services, organisations, taxonomies, services at locations).

Every object written here validates against the profile's compiled JSON schemas
(`tests/fixtures/oruk/schema/compiled/`): no `null` where a string is expected,
an `id` on every child. Child ids are derived from the service id and the
child's position, so the same record always gives the same JSON.

The Local Offer fields travel where the profile has room for them:
need tags, category, tier, access route, referrers and the two flags
(diagnosis required, sample data) as attributes with taxonomy terms from our
own taxonomies; eligibility and how to apply in HSDS 3.0's
`eligibility_description` and `application_process`; and everything, plain-
language texts and review dates included, in the `local_offer` object that
ORUK readers ignore and our importer reads first.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime

from knowledge.records import EXTENSION_FIELDS, EXTENSION_KEY, FLAG_CODES, FLAG_TAXONOMY, GSS_URI_PREFIX, REFERRER_TAXONOMY
from knowledge.vocabulary import ACCESS_ROUTES, CATEGORIES, TIERS

ORUK_VERSION = "3.0"
ORUK_PROFILE = "https://raw.githubusercontent.com/openreferraluk/oruk-specification/refs/heads/main/profile/"
FLAG_NAMES = {"diagnosis-required": "A diagnosis is required", "sample-data": "Sample data (not a real service)"}

TAXONOMIES: dict[str, tuple[str, str]] = {
    "local-offer-needs": ("Local Offer needs", "Special educational needs and disabilities a service is for."),
    "local-offer-category": ("Local Offer categories", "The headings of the SEND Regulations 2014, Schedule 2."),
    "local-offer-tier": ("Local Offer tiers", "Universal, targeted or specialist provision."),
    "local-offer-access-route": ("Local Offer access routes", "How a family gets the service."),
    REFERRER_TAXONOMY: ("Who can refer", "The professionals who can refer a family to a referral-only service."),
    FLAG_TAXONOMY: ("Local Offer flags", "Diagnosis required; sample data."),
}
FIXED_TERMS: dict[str, dict[str, str]] = {
    "local-offer-category": CATEGORIES,
    "local-offer-tier": TIERS,
    "local-offer-access-route": ACCESS_ROUTES,
    FLAG_TAXONOMY: FLAG_NAMES,
}
SCHEDULE_DAYS = "MO,TU,WE,TH,FR,SA,SU"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-") or "term"


def term_id(taxonomy: str, code: str) -> str:
    return f"{taxonomy}:{code}"


def without_nulls(value):
    """The profile wants strings where it names a field: leave a missing value out rather than write null."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def taxonomy_term(taxonomy: str, code: str, name: str, description: str | None = None) -> dict:
    return {
        "id": term_id(taxonomy, code),
        "code": code,
        "name": name,
        "description": description or name,
        "taxonomy": taxonomy,
        "taxonomy_id": taxonomy,
    }


def service_terms(record: dict, need_names: dict[str, str]) -> list[dict]:
    """The taxonomy terms a service is tagged with, in a fixed order."""
    terms = [taxonomy_term("local-offer-needs", code, need_names.get(code, code)) for code in record["needs"]]
    for field_name, taxonomy in (
        ("category", "local-offer-category"),
        ("tier", "local-offer-tier"),
        ("access_route", "local-offer-access-route"),
    ):
        code = record[field_name]
        if code:
            terms.append(taxonomy_term(taxonomy, code, FIXED_TERMS[taxonomy].get(code, code)))
    for referrer in record["referrers"]:
        terms.append(taxonomy_term(REFERRER_TAXONOMY, slug(referrer), referrer))
    for field_name, code in FLAG_CODES.items():
        if record[field_name]:
            terms.append(taxonomy_term(FLAG_TAXONOMY, code, FLAG_NAMES[code]))
    return terms


def _schedule(sid: str, index: int, item: dict) -> dict:
    return {"id": f"{sid}:schedule:{index}", "service_id": sid, **item}


def location_id(sid: str, index: int) -> str:
    return f"{sid}:location:{index}"


def oruk_location(sid: str, index: int, loc: dict, county: str) -> dict:
    lid = location_id(sid, index)
    address = {
        "id": f"{lid}:address",
        "location_id": lid,
        "address_1": loc["address_1"] or loc["name"] or "",
        "city": loc["city"] or "",
        "state_province": county,
        "postal_code": loc["postcode"] or "",
        "country": "GB",
        "address_type": "physical",
    }
    location = {"id": lid, "location_type": "physical", "name": loc["name"], "addresses": [address]}
    if loc.get("latitude") is not None:
        location["latitude"], location["longitude"] = loc["latitude"], loc["longitude"]
    return location


def service_to_oruk(
    record: dict,
    organization: dict | None,
    area_names: dict[str, str],
    need_names: dict[str, str],
    counties: dict[str, str] | None = None,
    last_modified: datetime | None = None,
) -> dict:
    """A canonical service record as an ORUK 3.0 service (no nulls; every child with an id).

    `counties` gives the county (`state_province`) of a location by postcode; `last_modified`
    is the time of the service's last change, where the caller knows it.
    """
    sid = record["id"]
    counties = counties or {}
    service = {
        "id": sid,
        "organization_id": record["organization_id"],
        "name": record["name"],
        "description": record["description"] or "",
        "url": record["url"],
        "email": record["email"],
        "status": record["status"],
        "fees": record["fees_description"],
        "fees_description": record["fees_description"],
        "eligibility_description": record["eligibility_description"],
        "application_process": record["application_process"],
        "minimum_age": record["minimum_age"],
        "maximum_age": record["maximum_age"],
        "assured_date": record["assured_date"],
        "last_modified": last_modified.isoformat(timespec="milliseconds") + "Z" if last_modified else None,
    }
    if organization:
        service["organization"] = organization_to_oruk(organization)
    service["service_areas"] = [
        {
            "id": f"{sid}:area:{code}",
            "service_id": sid,
            "name": area_names.get(code, code),
            "extent_type": "gss_code",
            "uri": GSS_URI_PREFIX + code,
            "gss_code": code,
        }
        for code in record["service_areas"]
    ]
    service["attributes"] = [
        {
            "id": f"{sid}:{term['id']}",
            "link_type": "service",
            "link_id": sid,
            "link_entity": "service",
            "taxonomy_term_id": term["id"],
            "taxonomy_term": term,
        }
        for term in service_terms(record, need_names)
    ]
    service["cost_options"] = [
        {"id": f"{sid}:cost:{i}", "service_id": sid, **item} for i, item in enumerate(record["cost_options"], start=1)
    ]
    service["contacts"] = [
        {
            "id": f"{sid}:contact:{i}",
            "service_id": sid,
            "name": c["name"],
            "title": c["title"],
            "email": c["email"],
            "phones": [{"id": f"{sid}:contact:{i}:phone", "number": c["phone"]}] if c["phone"] else [],
        }
        for i, c in enumerate(record["contacts"], start=1)
    ]
    service["schedules"] = [_schedule(sid, i, item) for i, item in enumerate(record["schedules"], start=1)]
    service["service_at_locations"] = [
        {
            "id": f"{location_id(sid, i)}:at",
            "service_id": sid,
            "location_id": location_id(sid, i),
            "location": oruk_location(sid, i, loc, counties.get(_outward(loc["postcode"]), "")),
        }
        for i, loc in enumerate(record["locations"], start=1)
    ]
    service[EXTENSION_KEY] = {name: record[name] for name in EXTENSION_FIELDS}
    return without_nulls(service)


def _outward(postcode: str | None) -> str:
    """The outward code of a full postcode ("PO9 1AB" -> "PO9")."""
    text = (postcode or "").upper().replace(" ", "")
    return text[:-3] if len(text) > 4 else text


def organization_to_oruk(org: dict) -> dict:
    return without_nulls(
        {
            "id": org["id"],
            "name": org["name"],
            "description": org.get("description") or "",
            "website": org.get("website"),
            "email": org.get("email"),
            EXTENSION_KEY: {"is_sample": bool(org.get("is_sample"))},
        }
    )


def taxonomy_to_oruk(taxonomy_id: str) -> dict:
    name, description = TAXONOMIES[taxonomy_id]
    return {"id": taxonomy_id, "name": name, "description": description, "version": "1"}


def page(items: list, total: int, page_number: int, per_page: int) -> dict:
    """The ORUK paging envelope; pages count from 1."""
    total_pages = max(1, -(-total // per_page)) if per_page else 1
    return {
        "total_items": total,
        "total_pages": total_pages,
        "page_number": page_number,
        "size": len(items),
        "first_page": page_number == 1,
        "last_page": page_number >= total_pages,
        "empty": not items,
        "contents": items,
    }


def page_json(encoded_items: list[bytes], total: int, page_number: int, per_page: int) -> bytes:
    """The paging envelope as JSON, its `contents` joined from items already encoded as JSON."""
    envelope = page(encoded_items, total, page_number, per_page)
    del envelope["contents"]
    head = json.dumps(envelope, separators=(",", ":"))[:-1].encode()
    return head + b',"contents":[' + b",".join(encoded_items) + b"]}"


def iso(value) -> str | None:
    return value.isoformat() if isinstance(value, (date, datetime)) else value

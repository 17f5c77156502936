"""The Open Referral UK read API (/openreferral/): every response validated against the official profile."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from knowledge import models as m
from tests.oruk_schemas import page_errors, schema_errors


async def _get(web, path, status=200):
    response = await web.get(path)
    assert response.status == status, (path, response.status, await response.text())
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    return await response.json()


def _published_count(web_kb, **where):
    with web_kb.sessions() as session:
        query = select(m.Service).where(m.Service.status.notin_(("inactive", "defunct")))
        return len([s for s in session.execute(query).scalars() if all(getattr(s, k) == v for k, v in where.items())])


async def test_about_and_openapi(web):
    about = await _get(web, "/openreferral/")
    assert about["version"] == "3.0" and about["profile"].startswith("https://")
    document = await _get(web, urlsplit(about["openapi_url"]).path)
    assert document["openapi"].startswith("3.") and "/services" in document["paths"]


async def test_paging_checks_of_the_oruk_validator(web, web_kb):
    total = _published_count(web_kb)
    first = await _get(web, "/openreferral/services?per_page=5")
    assert first["total_items"] == total > 15
    pages = first["total_pages"]
    assert pages == -(-total // 5)
    for number in (1, 2, pages // 2, pages - 1, pages):
        body = await _get(web, f"/openreferral/services?per_page=5&page={number}")
        assert page_errors("service_list", body) == []
        assert body["page_number"] == number
        assert body["size"] == len(body["contents"]) == (5 if number < pages else total - 5 * (pages - 1))
        assert body["first_page"] == (number == 1) and body["last_page"] == (number == pages)
        assert body["empty"] is False
    beyond = await _get(web, f"/openreferral/services?per_page=5&page={pages + 1}")
    assert beyond["empty"] is True and beyond["size"] == 0 and beyond["contents"] == []


async def test_every_service_detail_validates(web, web_kb):
    body = await _get(web, "/openreferral/services?per_page=200")
    ids = [s["id"] for s in body["contents"]]
    for sid in ids[:40]:
        service = await _get(web, f"/openreferral/services/{sid}")
        assert schema_errors("service", service) == [], sid
    await _get(web, "/openreferral/services/no-such-service", 404)


async def test_filters(web, web_kb):
    autism = await _get(web, "/openreferral/services?taxonomy_term_id=local-offer-needs:autism&per_page=200")
    assert autism["total_items"] > 0
    for item in autism["contents"][:10]:
        full = await _get(web, f"/openreferral/services/{item['id']}")
        assert "local-offer-needs:autism" in {a["taxonomy_term_id"] for a in full["attributes"]}
    specialist = await _get(web, "/openreferral/services?taxonomy_term_id=local-offer-tier:specialist&per_page=1")
    assert specialist["total_items"] == _published_count(web_kb, tier="specialist")
    older = await _get(web, "/openreferral/services?minimum_age=16&per_page=200")
    assert older["total_items"] > 0 and all(s["minimum_age"] >= 16 for s in older["contents"])
    young = await _get(web, "/openreferral/services?maximum_age=5&per_page=200")
    assert young["total_items"] > 0 and all(s["maximum_age"] <= 5 for s in young["contents"])
    word = await _get(web, "/openreferral/services?search=portage")
    assert word["total_items"] > 0 and all("portage" in (s["name"] + s["description"]).lower() for s in word["contents"])
    org_id = word["contents"][0]["organization_id"]
    by_org = await _get(web, f"/openreferral/services?organization_id={org_id}&per_page=200")
    assert by_org["total_items"] > 0 and {s["organization_id"] for s in by_org["contents"]} == {org_id}
    future = await _get(web, "/openreferral/services?modified_after=2999-01-01T00:00:00Z")
    assert future["total_items"] == 0 and future["empty"] is True
    needs = await _get(web, "/openreferral/services?taxonomy_id=local-offer-needs&per_page=1")
    assert 0 < needs["total_items"] <= _published_count(web_kb)


async def test_retired_and_sample_services(web, web_kb):
    body = await _get(web, "/openreferral/services?per_page=1")
    sid = body["contents"][0]["id"]
    with web_kb.sessions.begin() as session:
        session.get(m.Service, sid).status = "inactive"
    await _get(web, f"/openreferral/services/{sid}", 404)
    after = await _get(web, "/openreferral/services?per_page=1")
    assert after["total_items"] == body["total_items"] - 1
    web.app["settings"].oruk_publish_sample = False
    with web_kb.sessions() as session:
        real = len([s for s in session.execute(select(m.Service)).scalars() if not s.is_sample and s.status == "active"])
    unpublished = await _get(web, "/openreferral/services?per_page=1")
    assert unpublished["total_items"] == real


async def test_organizations_taxonomies_and_terms(web):
    orgs = await _get(web, "/openreferral/organizations?per_page=10")
    assert orgs["total_items"] > 0 and page_errors("organization_list", orgs) == []
    one = await _get(web, f"/openreferral/organizations/{orgs['contents'][0]['id']}")
    assert schema_errors("organization", one) == []
    taxonomies = await _get(web, "/openreferral/taxonomies")
    assert page_errors("taxonomy", taxonomies) == []
    assert {"local-offer-needs", "local-offer-tier"} <= {t["id"] for t in taxonomies["contents"]}
    assert schema_errors("taxonomy", await _get(web, "/openreferral/taxonomies/local-offer-tier")) == []
    terms = await _get(web, "/openreferral/taxonomy_terms?per_page=200")
    assert page_errors("taxonomy_term", terms) == []
    assert "local-offer-needs:autism" in {t["id"] for t in terms["contents"]}
    assert schema_errors("taxonomy_term", await _get(web, "/openreferral/taxonomy_terms/local-offer-needs:autism")) == []
    await _get(web, "/openreferral/taxonomy_terms/nope:nothing", 404)


async def test_service_at_locations_near_a_postcode(web):
    body = await _get(web, "/openreferral/service_at_locations?per_page=20")
    assert body["total_items"] > 0 and page_errors("service_at_location_list", body) == []
    first = body["contents"][0]
    one = await _get(web, f"/openreferral/service_at_locations/{first['id']}")
    assert schema_errors("service_at_location", one) == [] and one["id"] == first["id"]
    local = await _get(web, "/openreferral/service_at_locations?postcode=PO9%201AB&per_page=200")
    assert 0 < local["total_items"] < body["total_items"]
    near = await _get(web, "/openreferral/service_at_locations?postcode=PO9%201AB&proximity=8000&per_page=200")
    assert 0 < near["total_items"] <= local["total_items"]
    postcodes = {sal["location"]["addresses"][0]["postal_code"].split(" ")[0] for sal in near["contents"]}
    assert postcodes <= {"PO9", "PO8", "PO7", "PO10", "PO6", "PO11", "PO3"}, postcodes


@pytest.mark.parametrize(
    "query",
    [
        "services?page=0",
        "services?page=abc",
        "services?per_page=0",
        "services?per_page=100000",
        "services?minimum_age=old",
        "services?maximum_age=-1",
        "services?modified_after=yesterday",
        "services?search=" + "x" * 300,
        "service_at_locations?postcode=ZZ99%209ZZ",
        "service_at_locations?proximity=100",
        "service_at_locations?postcode=PO9&proximity=near",
    ],
)
async def test_bad_parameters_are_400_not_500(web, query):
    body = await _get(web, f"/openreferral/{query}", 400)
    assert body["error"]


async def test_no_key_and_throttled(web):
    web.app["oruk_limiter"].burst = 3
    web.app["oruk_limiter"].rate = 0.0001
    statuses = [(await web.get("/openreferral/taxonomies")).status for _ in range(5)]
    assert statuses[:3] == [200, 200, 200] and statuses[-1] == 429


async def test_the_service_list_follows_every_change(web, web_kb):
    """The list's pages are served from a cache kept per data version: an edit shows on the very next request."""
    body = await _get(web, "/openreferral/services?per_page=3&page=2")
    sid = body["contents"][1]["id"]
    with web_kb.sessions.begin() as session:
        service = session.get(m.Service, sid)
        service.name, service.minimum_age = "Renamed for the cache test", 3
    after = await _get(web, "/openreferral/services?per_page=3&page=2")
    assert after["contents"][1]["id"] == sid and after["contents"][1]["name"] == "Renamed for the cache test"
    assert after["contents"][1]["minimum_age"] == 3 and page_errors("service_list", after) == []
    with web_kb.sessions.begin() as session:
        session.delete(session.get(m.Service, body["contents"][0]["id"]))
    shifted = await _get(web, "/openreferral/services?per_page=3&page=2")
    assert shifted["total_items"] == body["total_items"] - 1 and shifted["contents"][0]["id"] == sid

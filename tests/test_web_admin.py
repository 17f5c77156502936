"""The knowledge-base editor's pages: services, organisations, the audit trail, and their refusals."""

from __future__ import annotations

import html
import re
from contextlib import asynccontextmanager
from datetime import date

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from knowledge import models as m
from knowledge.store import service_query, service_to_record
from knowledge.validation import review_due
from tests.web_helpers import WebClient

PORTAGE = "svc-east-hampshire-portage"  # seed: ages 0 to 4, East Hampshire
ORG = "org-hn-portage"

GET_PAGES = [
    "/admin",
    "/admin/services",
    "/admin/services/new",
    f"/admin/services/{PORTAGE}",
    f"/admin/services/{PORTAGE}/edit",
    "/admin/organisations",
    "/admin/organisations/new",
    f"/admin/organisations/{ORG}/edit",
    "/admin/audit",
    "/admin/audit/1",
]
POST_PAGES = [
    "/admin/services/new",
    f"/admin/services/{PORTAGE}/edit",
    f"/admin/services/{PORTAGE}/retire",
    f"/admin/services/{PORTAGE}/reinstate",
    "/admin/organisations/new",
    f"/admin/organisations/{ORG}/edit",
]
_INPUT = re.compile(r'<input[^>]*name="([^"]+)"[^>]*>')
_TEXTAREA = re.compile(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', re.S)
_SELECT = re.compile(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', re.S)


def form_fields(page: str) -> list[tuple[str, str]]:
    """The fields a browser would send for the first form with a version or on the page (checked boxes only)."""
    fields = []
    for match in _INPUT.finditer(page):
        tag, name = match.group(0), match.group(1)
        if name == "csrf_token":
            continue
        kind = re.search(r'type="([^"]+)"', tag).group(1)
        value = html.unescape(re.search(r'value="([^"]*)"', tag).group(1)) if 'value="' in tag else ""
        if kind in ("checkbox", "radio") and " checked" not in tag:
            continue
        fields.append((name, value))
    for name, body in _TEXTAREA.findall(page):
        fields.append((name, html.unescape(body)))
    for name, body in _SELECT.findall(page):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        fields.append((name, html.unescape(chosen.group(1)) if chosen else ""))
    return fields


def replace(fields: list[tuple[str, str]], **values) -> list[tuple[str, str]]:
    kept = [(k, v) for k, v in fields if k not in values]
    for name, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            kept.append((name, item))
    return kept


def stored(web: WebClient, service_id: str) -> tuple[dict, int]:
    with web.kb.sessions() as session:
        service = session.execute(service_query().where(m.Service.id == service_id)).scalar_one()
        return service_to_record(service), service.version


def audit_entries(web: WebClient, entity_id: str) -> list[m.AuditEntry]:
    with web.kb.sessions() as session:
        query = select(m.AuditEntry).where(m.AuditEntry.entity_id == entity_id).order_by(m.AuditEntry.id)
        return list(session.execute(query).scalars())


async def edit_form(web: WebClient, service_id: str = PORTAGE) -> list[tuple[str, str]]:
    response = await web.get(f"/admin/services/{service_id}/edit")
    assert response.status == 200
    return form_fields(await response.text())


@asynccontextmanager
async def another_browser(web: WebClient):
    """A second browser (its own cookies) on the same running app."""
    client = TestClient(web.client.server)
    await client.start_server()
    try:
        yield WebClient(client, web.kb)
    finally:
        await client.session.close()


# --- Refusals ----------------------------------------------------------------------------------


async def test_every_editor_page_sends_a_stranger_to_sign_in(web):
    for path in GET_PAGES:
        response = await web.get(path, allow_redirects=False)
        assert response.status == 303 and response.headers["Location"] == f"/sign-in?next={path}", path
    for path in POST_PAGES:
        response = await web.submit(path, {"version": "1", "name": "x"})
        assert response.status == 303 and response.headers["Location"].startswith("/sign-in"), path


async def test_helpline_staff_may_not_use_the_editor(web):
    await web.sign_in("staff")
    for path in GET_PAGES:
        assert (await web.get(path, allow_redirects=False)).status == 403, path
    before = stored(web, PORTAGE)
    for path in POST_PAGES:
        response = await web.submit(path, {"version": "1", "name": "Changed by staff"}, form_page="/console")
        assert response.status == 403, path
    assert stored(web, PORTAGE) == before


async def test_a_post_without_a_valid_csrf_token_is_refused_and_changes_nothing(web):
    await web.sign_in("editor")
    fields = await edit_form(web)
    before = stored(web, PORTAGE)
    for token in (None, "forged"):
        data = replace(fields, maximum_age="11") + ([("csrf_token", token)] if token else [])
        response = await web.post(f"/admin/services/{PORTAGE}/edit", data=data, allow_redirects=False)
        assert response.status == 403
        assert "This form has expired" in await response.text()
    response = await web.post(f"/admin/services/{PORTAGE}/retire", data={"version": str(before[1])}, allow_redirects=False)
    assert response.status == 403
    assert stored(web, PORTAGE) == before


async def test_unknown_records_are_not_found(web):
    await web.sign_in("editor")
    for path in ("/admin/services/svc-nothing", "/admin/services/svc-nothing/edit", "/admin/organisations/org-no/edit",
                 "/admin/audit/999999", "/admin/audit/abc"):  # fmt: skip
        response = await web.get(path)
        assert response.status == 404, path
    response = await web.submit("/admin/services/svc-nothing/edit", {"version": "1"}, form_page="/admin")
    assert response.status == 404


# --- Dashboard and lists -----------------------------------------------------------------------


async def test_the_dashboard_counts_and_links_to_every_editor_page(web):
    await web.sign_in("editor")
    with web.kb.sessions() as session:
        active = session.execute(select(func.count()).select_from(m.Service).where(m.Service.status == "active")).scalar_one()
        rows = session.execute(select(m.Service).where(m.Service.status == "active")).scalars().all()
        due = sum(1 for s in rows if review_due(s.last_reviewed or s.assured_date, s.review_interval_days, date.today()))
        session.add(m.Feedback(kind="problem", service_id=PORTAGE, comment="Phone number is wrong"))
        session.commit()
    response = await web.get("/admin")
    page = await response.text()
    assert response.status == 200
    assert f'id="count-active">{active}<' in page
    assert f'id="count-review">{due}<' in page
    assert 'id="count-feedback">1<' in page
    for href in ("/admin/services", "/admin/services/new", "/admin/organisations", "/admin/signposts", "/admin/needs",
                 "/admin/places", "/admin/review", "/admin/import", "/admin/export", "/admin/feedback", "/admin/gaps",
                 "/admin/audit"):  # fmt: skip
        assert f'href="{href}"' in page, href
    assert 'href="/admin/accounts"' not in page.split("<main")[1]  # editors do not manage accounts


async def test_the_services_list_searches_filters_and_pages(web):
    await web.sign_in("editor")
    page = await (await web.get("/admin/services?q=portage")).text()
    assert f'href="/admin/services/{PORTAGE}"' in page and "Alton Saturday sensory club" not in page
    with web.kb.sessions() as session:
        total = session.execute(select(func.count()).select_from(m.Service)).scalar_one()
        targeted_autism = set(
            session.execute(
                select(m.Service.id)
                .join(m.Attribute)
                .join(m.TaxonomyTerm)
                .where(m.Service.tier == "targeted", m.TaxonomyTerm.code == "autism")
            ).scalars()
        )
    first = await (await web.get("/admin/services")).text()
    assert f"Showing 1 to 25 of {total} services" in first and 'rel="next"' in first
    second = await (await web.get("/admin/services?page=2")).text()
    assert "Showing 26 to 50" in second and 'rel="prev"' in second
    shown = set(re.findall(r'href="/admin/services/(svc-[^"/]+)"', first))
    assert shown.isdisjoint(re.findall(r'href="/admin/services/(svc-[^"/]+)"', second))
    filtered = await (await web.get("/admin/services?tier=targeted&need=autism")).text()
    listed = set(re.findall(r'href="/admin/services/(svc-[^"/?]+)"', filtered))
    assert listed and listed <= targeted_autism
    area = await (await web.get("/admin/services?district=E07000085&q=portage")).text()
    assert PORTAGE in area and "svc-hampshire-portage" in area  # East Hampshire's own and the county-wide one
    none = await (await web.get("/admin/services?status=inactive&q=portage")).text()
    assert "No services match these filters." in none


async def test_the_service_page_shows_everything_and_its_history(web):
    await web.sign_in("editor")
    record, _version = stored(web, PORTAGE)
    response = await web.get(f"/admin/services/{PORTAGE}")
    page = html.unescape(await response.text())
    assert response.status == 200
    for value in (record["name"], record["who_for"], record["application_process"], record["locations"][0]["postcode"],
                  record["contacts"][0]["phone"], "East Hampshire", "Learning disability"):  # fmt: skip
        assert value in page, value
    assert "No changes recorded" in page


# --- Creating and editing services --------------------------------------------------------------


async def test_an_editor_adds_a_service_through_the_form(web):
    await web.sign_in("editor", "esme")
    fields = form_fields(await (await web.get("/admin/services/new")).text())
    fields = replace(
        fields, name="Fareham tiny steps", organization_id=ORG, description="A play group", category="leisure_childcare",
        tier="universal", access_route="self_referral", minimum_age="1", maximum_age="4", needs=["autism", "any_need"],
        service_areas=["E07000087"], cost="free", contact_phone="01632 960999", url="https://tiny.example",
    )  # fmt: skip
    response = await web.submit("/admin/services/new", fields, form_page="/admin/services/new")
    assert response.status == 303 and response.headers["Location"] == "/admin/services/svc-fareham-tiny-steps?saved=created"
    record, version = stored(web, "svc-fareham-tiny-steps")
    assert (record["minimum_age"], record["maximum_age"], record["needs"]) == (1.0, 4.0, ["any_need", "autism"])
    assert record["contacts"] == [{"name": None, "title": None, "email": None, "phone": "01632 960999"}] and version == 1
    [entry] = audit_entries(web, "svc-fareham-tiny-steps")
    assert entry.actor == "esme" and entry.action == "create" and entry.after == record
    page = await (await web.get(response.headers["Location"])).text()
    assert "Service added" in page and "Fareham tiny steps" in page
    assert "svc-fareham-tiny-steps" in {
        m_.service.id for m_ in web.kb.find(2, ["autism"], "Fareham", record_unmet=False).eligible
    }


async def test_invalid_input_is_refused_with_the_error_summary_and_the_input_kept(web):
    await web.sign_in("editor")
    before = stored(web, PORTAGE)
    fields = replace(await edit_form(web), name="", minimum_age="five", maximum_age="30", contact_email="no-at-sign",
                     url="www.portage.example", cost="paid", cost_amount="")  # fmt: skip
    response = await web.submit(f"/admin/services/{PORTAGE}/edit", fields, form_page="/admin")
    page = await response.text()
    assert response.status == 400
    assert "There is a problem" in page
    expected = {
        "name": "A service needs a name",
        "minimum_age": "Enter the minimum age as a number of years",
        "maximum_age": "30 is outside the Local Offer&#39;s ages",
        "contact_email": "is not an e-mail address",
        "url": "should start with https://",
        "cost_amount": "Enter the cost, or describe it",
    }
    for field, message in expected.items():
        assert f'href="#{field}"' in page, field
        assert re.search(rf'id="{field}-error"[^>]*>.*?{re.escape(message)}', page, re.S), field
    assert 'value="five"' in page and 'value="www.portage.example"' in page  # what the editor typed is kept
    assert stored(web, PORTAGE) == before and audit_entries(web, PORTAGE) == []
    response = await web.submit("/admin/services/new", [("name", "Only a name"), ("minimum_age", "-1")], form_page="/admin")
    page = await response.text()
    assert response.status == 400 and 'href="#organization_id"' in page and 'href="#minimum_age"' in page


async def test_html_typed_into_a_field_is_shown_as_text(web):
    await web.sign_in("editor")
    attack = '<script>alert("x")</script><b onmouseover="x()">bold</b>'
    fields = replace(await edit_form(web), name=attack, who_for=attack)
    response = await web.submit(f"/admin/services/{PORTAGE}/edit", fields, form_page="/admin")
    assert response.status == 303
    assert stored(web, PORTAGE)[0]["name"] == attack  # stored as typed
    for path in (f"/admin/services/{PORTAGE}", f"/admin/services/{PORTAGE}/edit", "/admin/services?q=script"):
        page = await (await web.get(path)).text()
        assert "<script>alert" not in page and "<b onmouseover" not in page, path
        assert "&lt;script&gt;alert" in page, path
    entry = audit_entries(web, PORTAGE)[-1]
    page = await (await web.get(f"/admin/audit/{entry.id}")).text()
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page


async def test_an_edit_saves_reaches_the_assistant_and_is_in_the_audit_trail(web):
    editor = await web.sign_in("editor", "edna")
    assert PORTAGE not in {
        x.service.id for x in web.kb.find(6, ["learning_disability"], "Petersfield", record_unmet=False).eligible
    }
    before, version = stored(web, PORTAGE)
    response = await web.submit(
        f"/admin/services/{PORTAGE}/edit", replace(await edit_form(web), maximum_age="11"), form_page="/admin"
    )
    assert response.status == 303 and response.headers["Location"] == f"/admin/services/{PORTAGE}?saved=updated"
    after, new_version = stored(web, PORTAGE)
    assert after == {**before, "maximum_age": 11.0} and new_version == version + 1
    assert PORTAGE in {x.service.id for x in web.kb.find(6, ["learning_disability"], "Petersfield", record_unmet=False).eligible}
    [entry] = audit_entries(web, PORTAGE)
    assert (entry.actor, entry.before, entry.after) == (editor, before, after)
    page = await (await web.get(response.headers["Location"])).text()
    assert "Changes saved" in page and f'href="/admin/audit/{entry.id}">Changed maximum age<' in page
    response = await web.submit(f"/admin/services/{PORTAGE}/edit", await edit_form(web), form_page="/admin")
    assert response.headers["Location"].endswith("saved=unchanged") and len(audit_entries(web, PORTAGE)) == 1


async def test_two_editors_saving_the_same_version_the_second_gets_a_conflict(web):
    first = await web.sign_in("editor", "first")
    async with another_browser(web) as second_browser:
        await second_browser.sign_in("editor", "second")
        mine = await edit_form(web)
        theirs = await edit_form(second_browser)  # both opened the same version
        response = await web.submit(f"/admin/services/{PORTAGE}/edit", replace(mine, maximum_age="8"), form_page="/admin")
        assert response.status == 303
        saved = stored(web, PORTAGE)
        tried = replace(theirs, maximum_age="15", who_for="Second editor's words")
        response = await second_browser.submit(f"/admin/services/{PORTAGE}/edit", tried, form_page="/admin")
        page = html.unescape(await response.text())
        assert response.status == 409
        assert "Someone else changed this service" in page
        assert f"{first} on " in page and "Changed maximum age" in page  # who, when and what
        assert "Second editor's words" in page and "15" in page  # what this editor tried to save
        assert f'href="/admin/services/{PORTAGE}/edit"' in page
        assert stored(web, PORTAGE) == saved  # the first editor's change stands
        assert [e.actor for e in audit_entries(web, PORTAGE)] == [first]
        retire = await second_browser.submit(
            f"/admin/services/{PORTAGE}/retire", {"version": dict(theirs)["version"]}, form_page="/admin"
        )
        assert retire.status == 409 and stored(web, PORTAGE) == saved


async def test_a_form_without_its_version_is_a_bad_request(web):
    await web.sign_in("editor")
    fields = [(k, v) for k, v in await edit_form(web) if k != "version"]
    response = await web.submit(f"/admin/services/{PORTAGE}/edit", fields, form_page="/admin")
    assert response.status == 400 and "missing the version" in await response.text()


async def test_retire_and_reinstate(web):
    await web.sign_in("editor")
    family = (2, ["learning_disability"], "Petersfield")
    _record, version = stored(web, PORTAGE)
    response = await web.submit(f"/admin/services/{PORTAGE}/retire", {"version": str(version)}, form_page="/admin")
    assert response.status == 303 and response.headers["Location"].endswith("saved=retired")
    assert stored(web, PORTAGE)[0]["status"] == "inactive"
    assert PORTAGE not in {x.service.id for x in web.kb.find(*family, record_unmet=False).eligible}
    page = await (await web.get(f"/admin/services/{PORTAGE}?saved=retired")).text()
    assert "Service retired" in page and "Reinstate this service" in page
    assert PORTAGE in await (await web.get("/admin/services?status=inactive&q=portage")).text()
    response = await web.submit(f"/admin/services/{PORTAGE}/reinstate", {"version": str(version + 1)}, form_page="/admin")
    assert response.status == 303 and stored(web, PORTAGE)[0]["status"] == "active"
    assert PORTAGE in {x.service.id for x in web.kb.find(*family, record_unmet=False).eligible}
    assert [e.action for e in audit_entries(web, PORTAGE)] == ["retire", "reinstate"]


# --- Organisations -----------------------------------------------------------------------------


async def test_organisations_are_listed_added_and_edited(web):
    await web.sign_in("editor", "olive")
    page = await (await web.get("/admin/organisations")).text()
    assert "Hampshire Portage Service (sample)" in page and f'href="/admin/organisations/{ORG}/edit"' in page
    response = await web.submit("/admin/organisations/new", {"name": "", "email": "bad"}, form_page="/admin")
    body = await response.text()
    assert response.status == 400 and 'href="#name"' in body and 'href="#email"' in body and 'value="bad"' in body
    response = await web.submit("/admin/organisations/new", {"name": "Gosport <Hub>", "website": "https://g.example"},
                                form_page="/admin")  # fmt: skip
    assert response.status == 303
    page = await (await web.get("/admin/organisations?q=gosport")).text()
    assert "Gosport &lt;Hub&gt;" in page and "Organisation added" not in page
    with web.kb.sessions() as session:
        org = session.execute(select(m.Organization).where(m.Organization.name == "Gosport <Hub>")).scalar_one()
    form = form_fields(await (await web.get(f"/admin/organisations/{org.id}/edit")).text())
    response = await web.submit(f"/admin/organisations/{org.id}/edit", replace(form, email="hub@g.example"), form_page="/admin")
    assert response.status == 303
    stale = await web.submit(f"/admin/organisations/{org.id}/edit", replace(form, name="Old"), form_page="/admin")
    stale_page = html.unescape(await stale.text())
    assert stale.status == 409 and "olive on " in stale_page and "Old" in stale_page
    invalid = await web.submit(
        f"/admin/organisations/{org.id}/edit", replace(form, version="2", website="g.example"), form_page="/admin"
    )
    assert invalid.status == 400 and "should start with https://" in await invalid.text()
    assert [e.action for e in audit_entries(web, org.id)] == ["create", "update"]


# --- The audit trail ---------------------------------------------------------------------------


async def test_the_audit_trail_lists_filters_and_shows_each_change_field_by_field(web):
    await web.sign_in("editor", "ada")
    _r, version = stored(web, PORTAGE)
    await web.submit(f"/admin/services/{PORTAGE}/edit", replace(await edit_form(web), maximum_age="9", needs=["autism"]),
                     form_page="/admin")  # fmt: skip
    await web.submit("/admin/organisations/new", {"name": "Audit Test Org"}, form_page="/admin")
    page = await (await web.get("/admin/audit")).text()
    assert "Changed maximum age, needs" in page and "Added organisation Audit Test Org" in page
    only_services = await (await web.get(f"/admin/audit?type=service&id={PORTAGE}")).text()
    assert "Changed maximum age" in only_services and "Audit Test Org" not in only_services
    assert "No changes match" in await (await web.get("/admin/audit?who=nobody")).text()
    assert "Showing 1 to 2 of 2" in await (await web.get("/admin/audit?who=AD")).text()
    [entry] = audit_entries(web, PORTAGE)
    detail = html.unescape(await (await web.get(f"/admin/audit/{entry.id}")).text())
    assert "ada" in detail and PORTAGE in detail
    rows = re.findall(
        r'<th scope="row" class="govuk-table__header">(.*?)</th>\s*<td[^>]*>(.*?)</td>\s*<td[^>]*>(.*?)</td>', detail
    )
    assert ("Maximum age", "4", "9") in rows
    assert ("Needs", "learning_disability; medical; physical; unsure", "autism") in rows


@pytest.mark.parametrize("role", ["editor", "administrator"])
async def test_editors_and_administrators_may_use_the_editor(web, role):
    await web.sign_in(role)
    for path in GET_PAGES[:-1]:
        assert (await web.get(path)).status == 200, path

"""Editors' pages for signposts, need words, places and postcodes, reviews, import and export (bot/views/admin_data.py)."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from datetime import date, timedelta

import aiohttp
import pytest
import yaml
from markupsafe import escape
from sqlalchemy import func, select

from knowledge import models as m

SENDIASS = "sp-hampshire-sendiass"
HAVANT = "E07000090"
WINCHESTER = "E07000094"

GET_PAGES = [
    "/admin/signposts",
    "/admin/signposts/new",
    f"/admin/signposts/{SENDIASS}/edit",
    "/admin/needs",
    "/admin/places",
    "/admin/postcodes",
    "/admin/places/new",
    "/admin/places/1/edit",
    "/admin/review",
    "/admin/import",
    "/admin/export",
    "/admin/export?format=json",
    "/admin/taxonomy-mapping",
]
POST_ROUTES = [
    "/admin/signposts/new",
    f"/admin/signposts/{SENDIASS}/edit",
    f"/admin/signposts/{SENDIASS}/delete",
    "/admin/needs/words",
    "/admin/needs/hearing/synonyms",
    "/admin/needs/hearing/synonyms/1/remove",
    "/admin/places/new",
    "/admin/places/1/edit",
    "/admin/places/1/remove",
    "/admin/postcodes",
    "/admin/postcodes/PO9/remove",
    "/admin/review/any-service/reviewed",
    "/admin/import",
    "/admin/import/apply",
    "/admin/taxonomy-mapping/1",
]


def count(kb, model) -> int:
    with kb.sessions() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def audits(kb, entity_type: str) -> list[m.AuditEntry]:
    with kb.sessions() as s:
        query = select(m.AuditEntry).where(m.AuditEntry.entity_type == entity_type).order_by(m.AuditEntry.id)
        return list(s.execute(query).scalars())


def version_on(page: str) -> str:
    return re.search(r'name="version" value="(\d+)"', page).group(1)


def signpost_form(**changes) -> dict:
    form = {
        "name": "Fareham dads group",
        "kind": "charity",
        "scope": "local",
        "authority_gss": "E10000014",
        "minimum_age": "0",
        "maximum_age": "18",
        "description": "Dads of disabled children meeting up.",
        "website": "https://fareham-dads.example",
        "phone": "01632 960998",
        "email": "",
        "how_to_access": "",
        "opening_hours": "",
    }
    form.update(changes)
    return form


async def upload(web, content: str | bytes, filename: str, fmt: str = ""):
    """Step one of an import: the preview of what the file would do."""
    token = await web.csrf()
    data = aiohttp.FormData()
    data.add_field("csrf_token", token)
    data.add_field("format", fmt)
    data.add_field("file", content.encode("utf-8") if isinstance(content, str) else content, filename=filename)
    return await web.post("/admin/import", data=data, allow_redirects=False)


def apply_form(page: str) -> dict[str, str]:
    """The hidden fields of the preview's Apply form (the file, its digest and the CSRF token)."""
    form = page[page.index('id="apply-form"') :].split("</form>")[0]
    return {name: html.unescape(value) for name, value in re.findall(r'name="(\w+)" value="([^"]*)"', form)}


async def import_file(web, content: str | bytes, filename: str, fmt: str = "", retire: bool = False):
    """Preview the file, then apply it as the administrator would (ticking "retire" if asked)."""
    page = await (await upload(web, content, filename, fmt)).text()
    fields = apply_form(page)
    if retire:
        fields["retire_absent"] = "yes"
    return await web.post("/admin/import/apply", data=fields, allow_redirects=False)


async def export(web, fmt: str) -> str:
    response = await web.get(f"/admin/export?format={fmt}")
    assert response.status == 200
    assert (
        response.headers["Content-Disposition"].startswith("attachment;")
        and f'.{fmt}"' in response.headers["Content-Disposition"]
    )
    return await response.text()


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", GET_PAGES)
async def test_pages_need_signing_in_and_the_edit_permission(web, path):
    response = await web.get(path, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"].startswith("/sign-in?next=/admin/")
    await web.sign_in("staff")
    response = await web.get(path, allow_redirects=False)
    assert response.status == 403


@pytest.mark.parametrize("path", GET_PAGES)
async def test_editors_and_administrators_see_every_page(web, path):
    await web.sign_in("editor")
    assert (await web.get(path)).status == 200
    await web.sign_in("administrator")
    assert (await web.get(path)).status == 200


@pytest.mark.parametrize("path", POST_ROUTES)
async def test_posts_need_signing_in_the_edit_permission_and_a_csrf_token(web, path):
    signposts, synonyms, places = count(web.kb, m.Signpost), count(web.kb, m.NeedSynonym), count(web.kb, m.Place)
    response = await web.submit(path, {"phrase": "x"})
    assert response.status == 303 and response.headers["Location"].startswith("/sign-in")
    await web.sign_in("staff")
    assert (await web.submit(path, {"phrase": "x"})).status == 403
    await web.sign_in("editor", "editor-two")
    response = await web.post(path, data={"csrf_token": "forged", "phrase": "x"}, allow_redirects=False)
    assert response.status == 403 and "expired" in await response.text()
    assert (count(web.kb, m.Signpost), count(web.kb, m.NeedSynonym), count(web.kb, m.Place)) == (signposts, synonyms, places)
    with web.kb.sessions() as s:
        assert s.execute(select(func.count()).select_from(m.AuditEntry)).scalar_one() == 0


async def test_unknown_records_are_404(web):
    await web.sign_in("editor")
    assert (await web.get("/admin/signposts/no-such/edit")).status == 404
    assert (await web.get("/admin/places/999999/edit")).status == 404
    assert (await web.get("/admin/places/abc/edit")).status == 404
    assert (await web.submit("/admin/needs/telepathy/synonyms", {"phrase": "mind reading"})).status == 404
    assert (await web.submit("/admin/needs/hearing/synonyms/999999/remove", {})).status == 404
    assert (await web.submit("/admin/postcodes/ZZ99/remove", {})).status == 404
    assert (await web.submit("/admin/review/no-such-service/reviewed", {"version": "1"})).status == 404
    response = await web.submit("/admin/signposts/no-such/delete", {"version": "1"})
    assert response.status == 404


# --- signposts ---------------------------------------------------------------------------------


def listed(signpost: m.Signpost, page: str) -> bool:
    return f'/admin/signposts/{signpost.id}/edit">{escape(signpost.name)}</a>' in page


async def test_signposts_list_filters_by_kind_and_scope(web):
    await web.sign_in("editor")
    page = await (await web.get("/admin/signposts")).text()
    with web.kb.sessions() as s:
        everything = list(s.execute(select(m.Signpost)).scalars())
    assert all(listed(sp, page) for sp in everything)
    page = await (await web.get("/admin/signposts?kind=sendias")).text()
    for sp in everything:
        assert listed(sp, page) == (sp.kind == "sendias"), sp.name
    page = await (await web.get("/admin/signposts?scope=national")).text()
    for sp in everything:
        assert listed(sp, page) == (sp.scope == "national"), sp.name
    response = await web.get("/admin/signposts?kind=pub")
    assert response.status == 400 and "no kind of signpost called pub" in await response.text()
    assert (await web.get("/admin/signposts?scope=galactic")).status == 400


async def test_adding_a_signpost_and_the_assistant_suggests_it(web):
    await web.sign_in("editor")
    response = await web.submit("/admin/signposts/new", [*signpost_form().items(), ("needs", "adhd"), ("needs", "autism")])
    assert response.status == 303 and response.headers["Location"] == "/admin/signposts?done=signpost-added"
    assert "Signpost added" in await (await web.get(response.headers["Location"])).text()
    entry = next(sp for sp in web.kb.catalogue().signposts if sp.name == "Fareham dads group")
    assert entry.needs == {"adhd", "autism"} and entry.maximum_age == 18 and not entry.is_sample
    (audit,) = audits(web.kb, "signpost")
    assert audit.actor == "editor-user" and audit.action == "create" and audit.after["phone"] == "01632 960998"


async def test_an_invalid_signpost_is_400_with_every_message_and_the_values_kept(web):
    await web.sign_in("editor")
    before = count(web.kb, m.Signpost)
    form = signpost_form(name="Kept name", minimum_age="12", maximum_age="5", website="fareham.example", kind="pub")
    response = await web.submit("/admin/signposts/new", [*form.items(), ("needs", "wizardry")])
    assert response.status == 400
    page = await response.text()
    assert "There is a problem" in page
    for message in ("must not be below the minimum age", "starting with https://", "Choose what kind of help", "wizardry"):
        assert message in page
    assert 'value="Kept name"' in page
    assert count(web.kb, m.Signpost) == before and audits(web.kb, "signpost") == []


async def test_editing_a_signpost_and_a_stale_edit_is_a_409_that_saves_nothing(web):
    await web.sign_in("editor")
    page = await (await web.get(f"/admin/signposts/{SENDIASS}/edit")).text()
    version = version_on(page)
    assert "Hampshire SENDIAS service (sample)" in page
    form = signpost_form(name="Hampshire SENDIASS (sample)", kind="sendias", phone="01632 960901", version=version)
    response = await web.submit(f"/admin/signposts/{SENDIASS}/edit", form)
    assert response.status == 303
    assert next(sp for sp in web.kb.catalogue().signposts if sp.id == SENDIASS).name == "Hampshire SENDIASS (sample)"
    # the other editor still has the page open at the old version
    stale = {**form, "name": "Someone else's name"}
    response = await web.submit(f"/admin/signposts/{SENDIASS}/edit", stale)
    assert response.status == 409
    page = await response.text()
    assert "Someone else changed this signpost" in page and "Nothing was saved" in page
    assert "Hampshire SENDIASS (sample)" in page  # what it says now
    assert version_on(page) == str(int(version) + 1)  # saving again replaces it knowingly
    assert next(sp for sp in web.kb.catalogue().signposts if sp.id == SENDIASS).name == "Hampshire SENDIASS (sample)"
    assert len(audits(web.kb, "signpost")) == 1
    response = await web.submit(f"/admin/signposts/{SENDIASS}/edit", {**form, "version": "x"})
    assert response.status == 409
    response = await web.submit(f"/admin/signposts/{SENDIASS}/edit", {**form, "version": version_on(page), "phone": "phone me"})
    assert response.status == 400 and "Enter a phone number" in await response.text()


async def test_removing_a_signpost(web):
    await web.sign_in("editor")
    version = version_on(await (await web.get(f"/admin/signposts/{SENDIASS}/edit")).text())
    response = await web.submit(f"/admin/signposts/{SENDIASS}/delete", {"version": str(int(version) + 5)})
    assert response.status == 409
    page = await response.text()
    assert "Nothing was saved" in page and 'value="Hampshire SENDIAS service (sample)"' in page and version_on(page) == version
    assert any(sp.id == SENDIASS for sp in web.kb.catalogue().signposts)
    response = await web.submit(f"/admin/signposts/{SENDIASS}/delete", {"version": version})
    assert response.status == 303
    assert not any(sp.id == SENDIASS for sp in web.kb.catalogue().signposts)
    (audit,) = audits(web.kb, "signpost")
    assert audit.action == "delete" and audit.before["id"] == SENDIASS


async def test_html_typed_into_a_field_is_shown_escaped(web):
    await web.sign_in("editor")
    name = '<script>alert("x")</script> group'
    response = await web.submit("/admin/signposts/new", signpost_form(name=name, description="<b>bold</b> claims"))
    assert response.status == 303
    page = await (await web.get("/admin/signposts")).text()
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; group" in page
    signpost_id = next(sp.id for sp in web.kb.catalogue().signposts if sp.name == name)
    page = await (await web.get(f"/admin/signposts/{signpost_id}/edit")).text()
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt; claims" in page
    response = await web.submit("/admin/needs/hearing/synonyms", {"phrase": "<i>ear</i> thing", "kind": "synonym"})
    assert response.status == 303
    page = await (await web.get("/admin/needs?q=%3Ci%3Eear")).text()
    assert "<i>ear</i>" not in page and "&lt;i&gt;ear&lt;/i&gt; thing" in page


# --- need words --------------------------------------------------------------------------------


async def test_needs_page_lists_each_need_and_its_words_page_by_page(web):
    await web.sign_in("editor")
    page = await (await web.get("/admin/needs")).text()
    with web.kb.sessions() as s:
        terms = list(s.execute(select(m.TaxonomyTerm).where(m.TaxonomyTerm.taxonomy == m.NEEDS_TAXONOMY)).scalars())
        for term in terms:
            assert f'id="need-{term.code}"' in page
        removals = {f"/admin/needs/{t.code}/synonyms/{synonym.id}/remove" for t in terms for synonym in t.synonyms}
    listed, number = set(), 1
    while True:
        page = await (await web.get(f"/admin/needs?page={number}")).text()
        listed |= set(re.findall(r'action="(/admin/needs/[^"]+/remove)"', page))
        if 'rel="next"' not in page:
            break
        number += 1
    assert listed == removals and number > 1
    assert "Emotional wellbeing and mental health" in page
    assert "glue ear" in await (await web.get("/admin/needs?need=hearing")).text()


async def test_adding_and_removing_a_word_for_a_need(web):
    await web.sign_in("editor")
    assert web.kb.catalogue().vocabulary.codes_in_text("he gets the flibbertigrumps") == []
    response = await web.submit("/admin/needs/semh/synonyms", {"phrase": "  The FLIBBERTIGRUMPS ", "kind": "description"})
    assert response.status == 303
    assert response.headers["Location"] == "/admin/needs?need=semh&q=the+flibbertigrumps&done=synonym-added"
    assert web.kb.catalogue().vocabulary.codes_in_text("he gets the flibbertigrumps") == ["semh"]
    with web.kb.sessions() as s:
        synonym = s.execute(select(m.NeedSynonym).where(m.NeedSynonym.phrase == "the flibbertigrumps")).scalar_one()
        assert synonym.kind == "description" and synonym.term.code == "semh"
    page = await (await web.get("/admin/needs?need=semh&q=flibbertigrumps")).text()
    version = re.search(rf'synonyms/{synonym.id}/remove".*?name="version" value="(\d+)"', page, re.S).group(1)
    response = await web.submit(f"/admin/needs/semh/synonyms/{synonym.id}/remove", {"version": version})
    assert response.status == 303
    assert web.kb.catalogue().vocabulary.codes_in_text("he gets the flibbertigrumps") == []
    assert [a.action for a in audits(web.kb, "need_synonym")] == ["create", "delete"]


async def test_a_word_another_need_has_is_refused_saying_which(web):
    await web.sign_in("editor")
    before = count(web.kb, m.NeedSynonym)
    response = await web.submit("/admin/needs/adhd/synonyms", {"phrase": "Glue Ear", "kind": "synonym"})
    assert response.status == 400
    page = await response.text()
    assert "already a word for the need" in page and "deafness or hearing loss" in page
    assert 'value="Glue Ear"' in page
    response = await web.submit("/admin/needs/adhd/synonyms", {"phrase": "", "kind": "synonym"})
    assert response.status == 400 and "Enter a word or phrase" in await response.text()
    assert count(web.kb, m.NeedSynonym) == before


# --- places and postcodes ----------------------------------------------------------------------


async def test_places_and_postcodes_pages_list_them_by_district_and_search(web):
    await web.sign_in("editor")
    page = await (await web.get("/admin/places?area=" + HAVANT)).text()
    assert "Havant" in page and "Emsworth" in page
    assert "Outside our area" in await (await web.get("/admin/places?page=99")).text()
    page = await (await web.get("/admin/places?q=emsworth")).text()
    assert "Emsworth" in page and "Basingstoke</a>" not in page and "Showing 1 to 1 of 1 place" in page
    page = await (await web.get("/admin/postcodes?q=PO9")).text()
    assert "/admin/postcodes/PO9/remove" in page and "/admin/postcodes/PO10/remove" not in page and "Emsworth" not in page


async def test_adding_changing_and_removing_a_village(web):
    await web.sign_in("editor")
    form = {
        "name": "Nether Wallop Parva",
        "kind": "village",
        "district_gss": WINCHESTER,
        "authority_gss": "",
        "aliases": "Wallop Parva",
    }
    response = await web.submit("/admin/places/new", form)
    assert response.status == 303
    resolved = web.kb.catalogue().gazetteer.find_in_text("we're in wallop parva")
    assert resolved.district_gss == WINCHESTER
    with web.kb.sessions() as s:
        place_id = s.execute(select(m.Place.id).where(m.Place.name == "Nether Wallop Parva")).scalar_one()
    page = await (await web.get(f"/admin/places/{place_id}/edit")).text()
    assert 'value="Nether Wallop Parva"' in page and "Wallop Parva</textarea>" in page
    edit = {**form, "district_gss": HAVANT, "version": version_on(page)}
    response = await web.submit(f"/admin/places/{place_id}/edit", edit)
    assert response.status == 303
    assert web.kb.catalogue().gazetteer.resolve("Nether Wallop Parva").district_gss == HAVANT
    page = await (await web.get(f"/admin/places/{place_id}/edit")).text()
    response = await web.submit(f"/admin/places/{place_id}/remove", {"version": version_on(page)})
    assert response.status == 303
    assert web.kb.catalogue().gazetteer.find_in_text("we're in wallop parva") is None
    assert [a.action for a in audits(web.kb, "place")] == ["create", "update", "delete"]


async def test_an_invalid_place_is_400_with_the_messages(web):
    await web.sign_in("editor")
    before = count(web.kb, m.Place)
    response = await web.submit("/admin/places/new", {"name": "", "kind": "hamlet", "district_gss": "E07999999"})
    assert response.status == 400
    page = await response.text()
    assert (
        "Enter the name of the town" in page
        and "Choose whether it is a city" in page
        and "Choose a district from the list" in page
    )
    with web.kb.sessions() as s:
        emsworth = s.execute(select(m.Place.id).where(m.Place.name == "Emsworth")).scalar_one()
    page = await (await web.get(f"/admin/places/{emsworth}/edit")).text()
    clash = {"name": "Havant", "kind": "town", "district_gss": HAVANT, "version": version_on(page)}
    response = await web.submit(f"/admin/places/{emsworth}/edit", clash)
    assert response.status == 400 and "is already a place in this authority" in await response.text()
    assert count(web.kb, m.Place) == before and audits(web.kb, "place") == []


async def test_two_editors_changing_the_same_place_never_overwrite_each_other(web, aiohttp_client):
    from tests.web_helpers import WebClient

    await web.sign_in("editor", "first-editor")
    other = WebClient(await aiohttp_client(web.app), web.kb)
    await other.sign_in("editor", "second-editor")
    with web.kb.sessions() as s:
        emsworth = s.execute(select(m.Place.id).where(m.Place.name == "Emsworth")).scalar_one()
    first_page = await (await web.get(f"/admin/places/{emsworth}/edit")).text()
    second_page = await (await other.get(f"/admin/places/{emsworth}/edit")).text()
    base = {"name": "Emsworth", "kind": "town", "district_gss": HAVANT, "authority_gss": ""}
    saved = await web.submit(
        f"/admin/places/{emsworth}/edit", {**base, "aliases": "Emsworth Harbour", "version": version_on(first_page)}
    )
    assert saved.status == 303
    refused = await other.submit(
        f"/admin/places/{emsworth}/edit", {**base, "aliases": "Emsworth Village", "version": version_on(second_page)}
    )
    assert refused.status == 409
    page = await refused.text()
    assert "Someone else changed this place" in page and "Emsworth Village" in page  # their values are kept
    with web.kb.sessions() as s:
        assert s.get(m.Place, emsworth).aliases == ["Emsworth Harbour"]
    assert [a.actor for a in audits(web.kb, "place")] == ["first-editor"]
    # saving again from the refreshed form (it now carries the current version) works
    again = await other.submit(
        f"/admin/places/{emsworth}/edit", {**base, "aliases": "Emsworth Village", "version": version_on(page)}
    )
    assert again.status == 303


async def test_a_stale_removal_of_a_place_is_409_and_keeps_it(web, aiohttp_client):
    await web.sign_in("editor", "first-editor")
    with web.kb.sessions() as s:
        emsworth = s.execute(select(m.Place.id).where(m.Place.name == "Emsworth")).scalar_one()
    shown = version_on(await (await web.get(f"/admin/places/{emsworth}/edit")).text())
    base = {"name": "Emsworth", "kind": "town", "district_gss": HAVANT, "authority_gss": ""}
    saved = await web.submit(f"/admin/places/{emsworth}/edit", {**base, "aliases": "Emsworth Harbour", "version": shown})
    assert saved.status == 303
    refused = await web.submit(f"/admin/places/{emsworth}/remove", {"version": shown})  # from the page opened before
    assert refused.status == 409 and "Someone else changed this" in await refused.text()
    assert (await web.submit(f"/admin/places/{emsworth}/remove", {})).status == 409  # no version at all
    with web.kb.sessions() as s:
        assert s.get(m.Place, emsworth).aliases == ["Emsworth Harbour"]
    assert [a.action for a in audits(web.kb, "place")] == ["update"]


async def test_a_word_for_a_need_is_changed_and_a_stale_change_or_removal_is_409(web, aiohttp_client):
    from tests.web_helpers import WebClient

    await web.sign_in("editor", "first-editor")
    other = WebClient(await aiohttp_client(web.app), web.kb)
    await other.sign_in("editor", "second-editor")
    with web.kb.sessions() as s:
        word = s.execute(select(m.NeedSynonym).where(m.NeedSynonym.phrase == "glue ear")).scalar_one()
    url = f"/admin/needs/hearing/synonyms/{word.id}"
    first_page = await (await web.get(url + "/edit")).text()
    second_page = await (await other.get(url + "/edit")).text()
    assert 'value="glue ear"' in first_page
    saved = await web.submit(url + "/edit", {"phrase": "glue ear", "kind": "description", "version": version_on(first_page)})
    assert saved.status == 303
    refused = await other.submit(url + "/edit", {"phrase": "glue-ear", "kind": "misspelling", "version": version_on(second_page)})
    assert refused.status == 409
    page = await refused.text()
    assert "Someone else changed this word" in page and 'value="glue-ear"' in page  # their values are kept
    removal = await other.submit(url + "/remove", {"version": version_on(second_page)})
    assert removal.status == 409
    with web.kb.sessions() as s:
        word = s.get(m.NeedSynonym, word.id)
        assert (word.phrase, word.kind) == ("glue ear", "description")
    assert [(a.actor, a.action) for a in audits(web.kb, "need_synonym")] == [("first-editor", "update")]
    assert web.kb.catalogue().vocabulary.resolve("glue ear") == "hearing"
    again = await other.submit(url + "/edit", {"phrase": "glue-ear", "kind": "misspelling", "version": version_on(page)})
    assert again.status == 303


async def test_adding_moving_and_removing_a_postcode_district(web):
    await web.sign_in("editor")
    response = await web.submit("/admin/postcodes", {"outward_code": "po98", "district_gss": HAVANT, "note": ""})
    assert response.status == 303
    assert web.kb.catalogue().gazetteer.resolve("PO98 2XY").district_gss == HAVANT
    move = {"outward_code": "PO98", "district_gss": WINCHESTER, "note": "new"}
    response = await web.submit("/admin/postcodes", move)  # typed into the add form: asked to confirm the move
    assert response.status == 409
    page = await response.text()
    assert "PO98 is already listed" in page
    assert web.kb.catalogue().gazetteer.resolve("PO98 2XY").district_gss == HAVANT
    response = await web.submit("/admin/postcodes", {**move, "version": version_on(page)})
    assert response.status == 303
    assert web.kb.catalogue().gazetteer.resolve("PO98 2XY").district_gss == WINCHESTER
    response = await web.submit("/admin/postcodes", {"outward_code": "98PO", "district_gss": "E07000000"})
    assert response.status == 400
    page = await response.text()
    assert "is not the first half of a postcode" in page and "Choose a district from the list" in page
    page = await (await web.get("/admin/postcodes?q=PO98")).text()
    version = re.search(r'postcodes/PO98/remove".*?name="version" value="(\d+)"', page, re.S).group(1)
    assert (await web.submit("/admin/postcodes/PO98/remove", {"version": str(int(version) - 1)})).status == 409  # stale
    response = await web.submit("/admin/postcodes/PO98/remove", {"version": version})
    assert response.status == 303
    assert [a.action for a in audits(web.kb, "postcode_district")] == ["create", "update", "delete"]


# --- review ------------------------------------------------------------------------------------


async def test_review_list_oldest_first_and_marking_reviewed_today(web):
    today = date.today()
    with web.kb.sessions.begin() as s:
        first, second, current = list(s.execute(select(m.Service).order_by(m.Service.id).limit(3)).scalars())
        first.last_reviewed, first.review_interval_days = today - timedelta(days=500), 365
        second.last_reviewed, second.review_interval_days = today - timedelta(days=1500), 365
        current.last_reviewed, current.review_interval_days = today, 365
        ids = first.id, second.id, current.id
    await web.sign_in("editor")
    page = await (await web.get("/admin/review")).text()
    assert f"/admin/services/{ids[0]}/edit" in page and f"/admin/services/{ids[1]}/edit" in page
    assert f"/admin/services/{ids[2]}/edit" not in page
    assert page.index(f"/admin/services/{ids[1]}/edit") < page.index(f"/admin/services/{ids[0]}/edit")
    with web.kb.sessions() as s:
        version = s.get(m.Service, ids[0]).version
    response = await web.submit(f"/admin/review/{ids[0]}/reviewed", {"version": str(version - 1)})
    assert response.status == 409 and "changed by someone else" in await response.text()
    response = await web.submit(f"/admin/review/{ids[0]}/reviewed", {"version": str(version)})
    assert response.status == 303
    with web.kb.sessions() as s:
        assert s.get(m.Service, ids[0]).last_reviewed == today
    page = await (await web.get("/admin/review?done=reviewed")).text()
    assert f"/admin/services/{ids[0]}/edit" not in page and "Marked as reviewed today" in page
    (audit,) = audits(web.kb, "service")
    assert audit.entity_id == ids[0] and audit.after == {"last_reviewed": today.isoformat()} and audit.actor == "editor-user"


# --- import and export -------------------------------------------------------------------------


async def test_import_of_an_exported_file_with_one_change_updates_exactly_one(web):
    await web.sign_in("editor")
    data = json.loads(await export(web, "json"))
    target = data["services"][1]
    target["maximum_age"] = 25 if target["maximum_age"] != 25 else 24
    changed = json.dumps(data)
    with web.kb.sessions() as s:
        old_max = s.get(m.Service, target["id"]).maximum_age

    response = await upload(web, changed, "changed.json")
    assert response.status == 200
    page = await response.text()
    assert "No errors: this file can be imported" in page and "add 0, change 1, leave" in page
    with web.kb.sessions() as s:
        assert s.get(m.Service, target["id"]).maximum_age == old_max  # previewing writes nothing
    assert audits(web.kb, "import") == []

    response = await import_file(web, changed, "changed.json")
    assert response.status == 200
    page = await response.text()
    assert "changed.json was imported" in page
    assert re.search(r"Services updated</dt><dd class=\"govuk-summary-list__value\">1: " + re.escape(target["id"]), page)
    assert re.search(r"Services created</dt><dd class=\"govuk-summary-list__value\">0<", page)
    with web.kb.sessions() as s:
        assert float(s.get(m.Service, target["id"]).maximum_age) == target["maximum_age"]
    (import_audit,) = audits(web.kb, "import")
    assert import_audit.entity_id == "changed.json" and import_audit.after["updated"] == 1 and import_audit.actor == "editor-user"
    (service_audit,) = audits(web.kb, "service")
    assert service_audit.entity_id == target["id"] and service_audit.after["maximum_age"] == target["maximum_age"]

    page = await (await upload(web, changed, "changed.json")).text()
    assert "Nothing would change" in page and 'id="apply-form"' not in page
    assert len(audits(web.kb, "service")) == 1 and len(audits(web.kb, "import")) == 1


async def test_a_file_with_one_bad_row_imports_nothing_and_lists_the_row_and_field(web):
    await web.sign_in("editor")
    original = await export(web, "csv")
    reader = csv.DictReader(io.StringIO(original))
    header, rows = reader.fieldnames, list(reader)
    rows[0]["name"] = rows[0]["name"] + " renamed"  # a good change that must not be written
    rows[3]["minimum_age"] = "thirty"  # (an age outside 0 to 25 is clamped with a warning, not an error)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    response = await upload(web, out.getvalue(), "bad.csv")
    assert response.status == 200
    page = await response.text()
    assert "can't be imported until the errors are fixed" in page and 'id="apply-form"' not in page
    # CSV line 5 (header is line 1), the field, and the message, in the problems table
    assert re.search(
        r"<td class=\"govuk-table__cell\">5</td>\s*<td[^>]*>" + re.escape(rows[3]["id"]) + r"</td>\s*<td[^>]*>minimum_age</td>",
        page,
    )
    assert "expected a number" in page
    assert await export(web, "csv") == original
    assert audits(web.kb, "import") == [] and audits(web.kb, "service") == []


@pytest.mark.parametrize("fmt", ["json", "yaml", "csv"])
async def test_export_round_trip_changes_nothing(web, fmt):
    await web.sign_in("editor")
    text = await export(web, fmt)
    if fmt == "yaml":
        assert yaml.safe_load(text)["services"]
    response = await upload(web, text, f"everything.{fmt}")
    page = await response.text()
    assert response.status == 200 and "Nothing would change" in page and 'id="apply-form"' not in page
    services = count(web.kb, m.Service)
    assert f"add 0, change 0, leave {services} unchanged" in page
    assert audits(web.kb, "service") == []


async def test_the_format_can_be_chosen_when_the_name_does_not_say(web):
    await web.sign_in("editor")
    text = await export(web, "yaml")
    response = await upload(web, text, "services.txt")
    assert response.status == 400 and "name it .json, .ndjson, .yaml, .csv or .zip" in await response.text()
    response = await upload(web, text, "services.txt", fmt="yaml")
    assert response.status == 200 and "No errors" in await response.text()


async def test_unreadable_uploads_are_400_with_a_plain_message(web):
    await web.sign_in("editor")
    response = await upload(web, "{not json", "services.json")
    assert response.status == 400 and "not valid JSON" in await response.text()
    response = await upload(web, "Café".encode("latin-1"), "services.csv")
    assert response.status == 400 and "not UTF-8 text" in await response.text()
    response = await web.submit("/admin/import", {"format": "json"})
    assert response.status == 400 and "Choose a file to upload" in await response.text()
    assert audits(web.kb, "import") == []


async def test_export_page_and_unknown_format(web):
    await web.sign_in("editor")
    page = await (await web.get("/admin/export")).text()
    assert "/admin/export?format=csv" in page
    response = await web.get("/admin/export?format=xml")
    assert response.status == 400 and "json, yaml or csv" in await response.text()
    data = json.loads(await export(web, "json"))
    assert len(data["services"]) == count(web.kb, m.Service)
    assert len(data["organizations"]) == count(web.kb, m.Organization)

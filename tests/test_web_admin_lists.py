"""Searching and paging the editors' long lists: the words families use, places, postcode districts
(bot/views/admin_data.py, knowledge/listing.py), on the seeded knowledge base."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from knowledge import models as m

HAVANT = "E07000090"
PORTSMOUTH = "E06000044"
PER_PAGE = 50


def count_of(page: str) -> tuple[int, int, int] | None:
    """(first, last, total) from "Showing 1 to 50 of 1,038 ..."; None when the page says nothing matched."""
    match = re.search(r"Showing (\d+) to (\d+) of (\d+)", page)
    return tuple(int(n) for n in match.groups()) if match else None


def page_links(page: str) -> list[dict[str, list[str]]]:
    """The query of every numbered pagination link."""
    nav = re.search(r'<nav class="govuk-pagination".*?</nav>', page, re.S)
    hrefs = re.findall(r'class="govuk-link govuk-pagination__link" href="([^"]+)"', nav.group(0)) if nav else []
    return [parse_qs(urlsplit(unescape(h)).query) for h in hrefs]


def cells(page: str, column: int) -> list[str]:
    """The text of one column of the last table on the page (0 = first column)."""
    body = page.rsplit("<tbody", 1)[1]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    texts = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[column] for row in rows]
    return [unescape(re.sub(r"<span class=\"govuk-visually-hidden\">.*?</span>|<[^>]+>", "", t)).strip() for t in texts]


def words_in(kb, **where) -> list[str]:
    with kb.sessions() as s:
        query = select(m.NeedSynonym.phrase).join(m.NeedSynonym.term)
        if "need" in where:
            query = query.where(m.TaxonomyTerm.code == where["need"])
        if "kind" in where:
            query = query.where(m.NeedSynonym.kind == where["kind"])
        return sorted(s.execute(query).scalars())


# --- words families use --------------------------------------------------------------------------


async def test_words_are_paged_and_every_word_is_on_exactly_one_page(web):
    await web.sign_in("editor")
    first = await (await web.get("/admin/needs")).text()
    total = len(words_in(web.kb))
    assert count_of(first) == (1, PER_PAGE, total)
    pages = -(-total // PER_PAGE)
    assert {int(q["page"][0]) for q in page_links(first)} >= {1, 2, 3, pages}
    assert 'aria-current="page"' in first and 'rel="next"' in first and 'rel="prev"' not in first
    seen = []
    for number in range(1, pages + 1):
        page = await (await web.get(f"/admin/needs?page={number}")).text()
        seen += cells(page, 0)
    assert sorted(seen) == words_in(web.kb)


async def test_words_search_by_word_need_and_kind_keeps_the_filters_in_the_links(web):
    await web.sign_in("editor")
    page = await (await web.get("/admin/needs?q=GLUE")).text()
    assert "glue ear" in cells(page, 0) and all("glue" in w for w in cells(page, 0))
    assert set(cells(page, 1)) >= {"Deafness or hearing loss"}

    misspellings = words_in(web.kb, kind="misspelling")
    assert len(misspellings) > PER_PAGE  # so the search has a second page
    page = await (await web.get("/admin/needs?kind=misspelling")).text()
    assert count_of(page) == (1, PER_PAGE, len(misspellings))
    assert set(cells(page, 2)) == {"Misspelling"}
    links = page_links(page)
    assert links and all(q["kind"] == ["misspelling"] for q in links)
    second = await (await web.get("/admin/needs?kind=misspelling&page=2")).text()
    assert count_of(second) == (PER_PAGE + 1, min(2 * PER_PAGE, len(misspellings)), len(misspellings))
    assert not set(cells(second, 0)) & set(cells(page, 0))

    page = await (await web.get("/admin/needs?need=hearing&kind=abbreviation")).text()
    assert sorted(cells(page, 0)) == words_in(web.kb, need="hearing", kind="abbreviation")


async def test_no_matching_word_says_so(web):
    await web.sign_in("editor")
    page = await (await web.get("/admin/needs?q=flibbertigrumps")).text()
    assert "No words match these filters." in page and count_of(page) is None and "Words and phrases, by need" not in page


BAD_QUERIES = [("page=abc", 400), ("page=-3", 400), ("page=1e9", 400), ("page=99999999", 404)]


@pytest.mark.parametrize(
    "path, query, status",
    [(path, query, status) for path in ("/admin/needs", "/admin/places", "/admin/postcodes") for query, status in BAD_QUERIES]
    + [("/admin/needs", "kind=swearword", 400), ("/admin/needs", "need=telepathy", 400),
       ("/admin/places", "kind=hamlet", 400), ("/admin/places", "area=E99999999", 400),
       ("/admin/postcodes", "area=E99999999", 400)],
)  # fmt: skip
async def test_bad_page_numbers_and_filters_are_refused_never_a_500(web, path, query, status):
    await web.sign_in("editor")
    response = await web.get(f"{path}?{query}")
    assert response.status == status


async def test_a_page_past_the_end_shows_the_last_page(web):
    await web.sign_in("editor")
    total = len(words_in(web.kb, need="hearing"))
    page = await (await web.get("/admin/needs?need=hearing&page=999")).text()
    assert count_of(page) == (PER_PAGE * ((total - 1) // PER_PAGE) + 1, total, total)
    page = await (await web.get("/admin/places?page=0")).text()
    assert count_of(page)[0] == 1


async def test_adding_a_word_from_the_page_form_shows_it_and_removing_keeps_the_filters(web):
    await web.sign_in("editor")
    response = await web.submit("/admin/needs/words", {"need": "semh", "phrase": " Big  Feelings ", "kind": "description"})
    assert response.status == 303
    location = response.headers["Location"]
    assert parse_qs(urlsplit(location).query) == {"need": ["semh"], "q": ["big feelings"], "done": ["synonym-added"]}
    page = await (await web.get(location)).text()
    assert cells(page, 0) == ["big feelings"] and "Word added." in page
    assert web.kb.catalogue().vocabulary.codes_in_text("he has big feelings") == ["semh"]
    with web.kb.sessions() as s:
        word_id, version = s.execute(
            select(m.NeedSynonym.id, m.NeedSynonym.version).where(m.NeedSynonym.phrase == "big feelings")
        ).one()
    form = {"q": "big", "need": "semh", "kind": "", "page": "1", "version": str(version)}
    response = await web.submit(f"/admin/needs/semh/synonyms/{word_id}/remove", form)
    assert response.status == 303
    assert parse_qs(urlsplit(response.headers["Location"]).query) == {
        "q": ["big"], "need": ["semh"], "page": ["1"], "done": ["synonym-removed"]
    }  # fmt: skip
    assert web.kb.catalogue().vocabulary.codes_in_text("he has big feelings") == []


async def test_the_page_form_needs_a_need_and_keeps_what_was_typed(web):
    await web.sign_in("editor")
    with web.kb.sessions() as s:
        before = s.execute(select(func.count()).select_from(m.NeedSynonym)).scalar_one()
    response = await web.submit("/admin/needs/words", {"need": "", "phrase": "wobbly days", "kind": "description"})
    assert response.status == 400
    page = await response.text()
    assert "Choose the need this word is for" in page and 'value="wobbly days"' in page and "<title>Error:" in page
    response = await web.submit("/admin/needs/words", {"need": "adhd", "phrase": "glue ear", "kind": "synonym"})
    assert response.status == 400 and "already a word for the need" in await response.text()
    with web.kb.sessions() as s:
        assert s.execute(select(func.count()).select_from(m.NeedSynonym)).scalar_one() == before


# --- places --------------------------------------------------------------------------------------


async def test_places_are_paged_those_in_our_area_first(web):
    await web.sign_in("editor")
    with web.kb.sessions() as s:
        total = s.execute(select(func.count()).select_from(m.Place)).scalar_one()
    first = await (await web.get("/admin/places")).text()
    assert count_of(first) == (1, PER_PAGE, total) and "Outside our area" not in first
    last_number = -(-total // PER_PAGE)
    last = await (await web.get(f"/admin/places?page={last_number}")).text()
    assert count_of(last)[1] == total and "Outside our area" in last


async def test_places_search_by_name_other_name_kind_and_area(web):
    await web.sign_in("editor")
    page = await (await web.get("/admin/places?q=emsworth")).text()
    assert cells(page, 0) == ["Emsworth"] and cells(page, 2) == ["Havant"]
    page = await (await web.get("/admin/places?q=pompey")).text()
    assert cells(page, 0) == ["Portsmouth"]
    with web.kb.sessions() as s:
        havant_towns = sorted(
            s.execute(select(m.Place.name).where(m.Place.district_gss == HAVANT, m.Place.kind == "town")).scalars()
        )
    page = await (await web.get(f"/admin/places?area={HAVANT}&kind=town")).text()
    assert sorted(cells(page, 0)) == havant_towns and set(cells(page, 1)) == {"Town"}
    page = await (await web.get("/admin/places?q=atlantis")).text()
    assert "No places match these filters." in page


async def test_place_filters_are_kept_in_the_page_links(web):
    await web.sign_in("editor")
    with web.kb.sessions() as s:
        villages = s.execute(select(func.count()).select_from(m.Place).where(m.Place.kind == "village")).scalar_one()
    page = await (await web.get("/admin/places?kind=village&page=2")).text()
    assert count_of(page) == (PER_PAGE + 1, 2 * PER_PAGE, villages)
    assert set(cells(page, 1)) == {"Village"}
    assert all(q["kind"] == ["village"] for q in page_links(page))
    assert 'aria-current="page">2</a>' in page


# --- postcode districts --------------------------------------------------------------------------


async def test_postcodes_are_paged_in_postcode_order_and_searched_by_start_or_whole_postcode(web):
    await web.sign_in("editor")
    with web.kb.sessions() as s:
        total = s.execute(select(func.count()).select_from(m.PostcodeDistrict)).scalar_one()
    first = await (await web.get("/admin/postcodes")).text()
    assert count_of(first) == (1, PER_PAGE, total) and len(page_links(first)) >= 2
    page = await (await web.get("/admin/postcodes?q=po1")).text()
    assert cells(page, 0) == ["PO1", *(f"PO{n}" for n in range(10, 20))]
    page = await (await web.get("/admin/postcodes?q=po9+1ab")).text()
    assert cells(page, 0) == ["PO9"] and cells(page, 1) == ["Havant"]
    page = await (await web.get(f"/admin/postcodes?area={PORTSMOUTH}")).text()
    assert cells(page, 0)[:2] == ["PO1", "PO2"] and set(cells(page, 1)) == {"Portsmouth"}
    page = await (await web.get("/admin/postcodes?q=ZZ9")).text()
    assert "No postcode districts match these filters." in page


async def test_an_invalid_postcode_shows_the_list_again_with_the_messages(web):
    await web.sign_in("editor")
    response = await web.submit("/admin/postcodes", {"outward_code": "98PO", "district_gss": HAVANT, "note": "x"})
    assert response.status == 400
    page = await response.text()
    assert "is not the first half of a postcode" in page and 'value="98PO"' in page and count_of(page) is not None


async def test_removing_a_postcode_district_comes_back_to_the_same_search(web):
    await web.sign_in("editor")
    with web.kb.sessions() as s:
        version = s.get(m.PostcodeDistrict, "PO9").version
    response = await web.submit("/admin/postcodes/PO9/remove", {"q": "po", "area": "", "page": "2", "version": str(version)})
    assert response.status == 303
    assert parse_qs(urlsplit(response.headers["Location"]).query) == {
        "q": ["po"], "page": ["2"], "done": ["postcode-removed"]
    }  # fmt: skip
    assert "Postcode district removed." in await (await web.get(response.headers["Location"])).text()
    assert "No postcode districts match" in await (await web.get("/admin/postcodes?q=PO9")).text()


# --- refusals for the list pages ----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/admin/needs?q=ear&page=2", "/admin/places?kind=town", "/admin/postcodes?q=PO"])
async def test_list_pages_refuse_the_signed_out_and_helpline_staff(web, path):
    response = await web.get(path, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"].startswith("/sign-in?next=/admin/")
    await web.sign_in("staff")
    assert (await web.get(path, allow_redirects=False)).status == 403

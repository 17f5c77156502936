"""The console finds conversations: by need (any mentioned), place, age band, words, whether a person
was asked for and whether staff handled it; the first message; every need mentioned, with what
changed; button presses in the button's words, not "/greet" or payloads."""

from __future__ import annotations

import re
from html import unescape

import pytest

from knowledge import models as m
from tests.test_conversations import Chat, at, save
from tests.test_web_console import has, havant_chat


@pytest.fixture
def tracker(web_settings):
    return web_settings.tracker_store_url


def changed_mind(start: float) -> Chat:
    """ADHD first, then autism instead: ADHD must still be findable and shown as changed."""
    return (
        Chat("changed", start)
        .user("/greet", intent="greet")
        .bot("Hello! How old is your child?", buttons=[{"title": "Start again", "payload": "/start_again"}])
        .user("my girl is 14 with ADHD, we live in Gosport")
        .slots(age_years=14.0, needs=["adhd"], district="Gosport", local_authority="Hampshire", place="Gosport")
        .bot("Anything else?", buttons=[{"title": "Show more", "payload": "/show_more"}])
        .user("/show_more", intent="show_more")
        .user("actually it's autism, not ADHD")
        .slots(needs=["autism"])
    )


async def listed(web, query: str) -> list[str]:
    response = await web.get("/console" + query)
    assert response.status == 200, await response.text()
    return re.findall(r'href="/console/conversations/([^"]+)"', await response.text())


async def test_the_console_searches_by_need_place_age_words_and_handling(web, tracker):
    await save(
        tracker,
        havant_chat(web.kb, "havant", at(20, 9)).ask_for_person(web.kb),
        changed_mind(at(21, 9)),
        havant_chat(web.kb, "handled", at(22, 9)).ask_for_person(web.kb),
    )
    with web.kb.sessions.begin() as session:
        session.add(m.Handoff(sender_id="handled", handled_by="sam"))
    await web.sign_in("staff")
    assert await listed(web, "") == ["handled", "changed", "havant"]
    assert await listed(web, "?need=adhd") == ["changed"]  # mentioned, then changed: still found
    assert await listed(web, "?need=autism") == ["handled", "changed", "havant"]
    assert await listed(web, "?place=gosport") == ["changed"]
    assert await listed(web, "?place=HAVANT") == ["handled", "havant"]
    assert await listed(web, "?age=11-15") == ["changed"]
    assert await listed(web, "?age=5-10") == ["handled", "havant"]
    assert await listed(web, "?words=not+adhd") == ["changed"]
    assert await listed(web, "?words=100%25") == []  # % is a character, not a wildcard
    assert await listed(web, "?handled=yes") == ["handled"]
    assert await listed(web, "?handled=no") == ["havant"]
    assert await listed(web, "?need=autism&age=5-10&handled=no&asked=1") == ["havant"]
    page = await (await web.get("/console?words=school&need=autism")).text()
    assert 'value="school"' in page and '<option value="autism" selected>' in page


async def test_a_search_that_cannot_be_read_says_what_to_fix(web, tracker):
    await web.sign_in("staff")
    for query, words in (
        ("?need=dragons", "Choose a need"),
        ("?age=7-9", "Choose an age band"),
        ("?handled=maybe", "Choose whether"),
    ):
        response = await web.get("/console" + query)
        assert response.status == 400 and words in await response.text(), query


async def test_the_list_shows_the_first_message_and_the_page_every_need_mentioned(web, tracker):
    await save(tracker, changed_mind(at(21, 9)))
    await web.sign_in("staff")
    listing = await (await web.get("/console")).text()
    assert has(listing, "my girl is 14 with ADHD, we live in Gosport") and "/greet" not in listing
    page = await (await web.get("/console/conversations/changed")).text()
    vocabulary = web.kb.catalogue().vocabulary
    adhd, autism = vocabulary.label("adhd"), vocabulary.label("autism")
    assert has(page, f"{adhd}, {autism}")  # every need mentioned, in order
    assert has(page, f"Changed: added {autism}; removed {adhd}")
    assert "/greet" not in page and "/show_more" not in page
    assert "Opened the chat" in page and "Chose the button <q>Show more</q>" in page


async def test_triage_makes_a_short_summary_of_the_ticked_services(web):
    await web.sign_in("staff")
    caller = {"age": "7", "needs": "autism", "place": "Havant"}
    page = await (await web.submit("/console/triage", caller, form_page="/console/triage")).text()
    ids = re.findall(r'name="send" type="checkbox" value="([^"]+)"', page)
    assert len(ids) >= 3 and 'id="send-text"' not in page
    names = dict(
        re.findall(r'value="([^"]+)">\s*<label class="govuk-label govuk-checkboxes__label" for="send-\d+">([^<]+)<', page)
    )
    chosen = [ids[0], ids[-1]]  # a service and a signpost
    response = await web.submit(
        "/console/triage", [*caller.items(), ("send", chosen[0]), ("send", chosen[1])], form_page="/console/triage"
    )
    summary = re.search(
        r'<textarea class="govuk-textarea" id="send-text"[^>]*>(.*?)</textarea>', await response.text(), re.S
    ).group(1)
    lines = summary.strip().splitlines()
    assert lines[0] == "Here are the services we talked about:" and len(lines) == 4
    assert unescape(lines[1]).startswith("1. " + unescape(names[chosen[0]].strip()))
    assert unescape(lines[2]).startswith("2. " + unescape(names[chosen[1]].strip()))
    assert unescape(names[ids[1]].strip()) not in unescape(summary)  # not ticked

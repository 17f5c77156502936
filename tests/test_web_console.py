"""The helpline staff console: conversations from the real tracker store, the call-back queue and triage."""

from __future__ import annotations

import re
import time
from urllib.parse import quote

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from bot import triage
from conversation import messages
from knowledge import models as m
from tests.test_conversations import Chat, at, save

HAVANT = {"age_years": 7.0, "needs": ["autism"], "district": "Havant", "local_authority": "Hampshire", "place": "Havant"}


def has(page: str, text: str) -> bool:
    """The text appears on the page, escaped as the templates escape it."""
    return str(escape(text)) in page


def havant_chat(kb, sender="havant-parent", start=None) -> Chat:
    chat = Chat(sender, start or at(20, 9)).user("my son is 7, autistic, we live in Havant").slots(**HAVANT)
    return chat.search(kb, 7.0, ["autism"], "Havant")


@pytest.fixture
def tracker(web_settings):
    return web_settings.tracker_store_url


# --- Who may use it ------------------------------------------------------------------------------

CONSOLE_PAGES = ("/console", "/console/queue", "/console/triage", "/console/conversations/someone")


@pytest.mark.parametrize("path", CONSOLE_PAGES)
async def test_signing_in_is_required(web, path):
    response = await web.get(path, allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"].startswith("/sign-in")


@pytest.mark.parametrize("path", CONSOLE_PAGES)
async def test_editors_may_not_use_the_console(web, path):
    await web.sign_in("editor")
    response = await web.get(path, allow_redirects=False)
    assert response.status == 403


async def test_posts_need_sign_in_the_role_and_the_csrf_token(web, tracker):
    await save(tracker, havant_chat(web.kb).ask_for_person(web.kb))
    triage_form = {"age": "7", "needs": "autism", "place": "Havant"}
    for path in ("/console/triage", "/console/queue/havant-parent/handled", "/console/queue/havant-parent/reopen"):
        response = await web.submit(path, triage_form)
        assert response.status == 303 and response.headers["Location"].startswith("/sign-in"), path
    await web.sign_in("editor")
    for path in ("/console/triage", "/console/queue/havant-parent/handled"):
        assert (await web.submit(path, triage_form)).status == 403, path
    await web.sign_in("staff")
    for path in ("/console/triage", "/console/queue/havant-parent/handled"):
        response = await web.post(path, data={**triage_form, "csrf_token": "forged"}, allow_redirects=False)
        assert response.status == 403, path
    with web.kb.sessions() as session:
        assert session.get(m.Handoff, "havant-parent") is None


async def test_administrators_may_use_the_console(web):
    await web.sign_in("administrator")
    response = await web.get("/console")
    assert response.status == 200


# --- The list of conversations -------------------------------------------------------------------


async def test_before_rasa_has_run_the_list_is_empty(web):
    await web.sign_in("staff")
    response = await web.get("/console")
    assert response.status == 200
    assert "No conversations match." in await response.text()


async def test_the_list_shows_each_conversation_in_plain_words_newest_first(web, tracker):
    baby = (
        Chat("baby parent/1", at(21, 14))
        .user("she is 18 months and not talking yet, PO9")
        .slots(age_years=1.5, needs=["speech_language"], district="Havant", local_authority="Hampshire", place="PO9")
    )
    await save(tracker, havant_chat(web.kb), baby)
    await web.sign_in("staff")
    page = await (await web.get("/console")).text()
    vocabulary = web.kb.catalogue().vocabulary
    assert has(page, "18 months") and has(page, vocabulary.label("speech_language")) and has(page, "PO9, Havant, Hampshire")
    assert has(page, "7 years") and has(page, vocabulary.label("autism"))
    links = re.findall(r'href="(/console/conversations/[^"]+)"', page)
    assert links == ["/console/conversations/" + quote("baby parent/1", safe=""), "/console/conversations/havant-parent"]
    assert page.index("21 November 2026, 14:00") < page.index("20 November 2026, 09:00")
    response = await web.get(links[0])
    assert response.status == 200
    assert "Conversation baby parent/1" in await response.text()


async def test_the_list_filters_by_date_and_by_asking_for_a_person(web, tracker):
    asked = havant_chat(web.kb, "asked", at(19, 10)).ask_for_person(web.kb)
    later = havant_chat(web.kb, "later", at(21, 10))
    await save(tracker, asked, later)
    await web.sign_in("staff")

    async def listed(query: str) -> list[str]:
        response = await web.get("/console" + query)
        assert response.status == 200
        return re.findall(r'href="/console/conversations/([^"]+)"', await response.text())

    assert await listed("") == ["later", "asked"]
    assert await listed("?asked=1") == ["asked"]
    assert await listed("?from=2026-11-20") == ["later"]
    assert await listed("?to=2026-11-19") == ["asked"]
    assert await listed("?from=2026-11-19&to=2026-11-21&asked=1") == ["asked"]
    assert await listed("?from=2026-11-22") == []
    page = await (await web.get("/console?asked=1")).text()
    assert 'id="asked" name="asked" type="checkbox" value="1" checked' in page
    assert "Waiting" in page


async def test_the_list_pages_through_older_conversations(web, tracker):
    chats = [Chat(f"p{n:02d}", at(20, 0, n)).user("hello", intent="greet") for n in range(27)]
    await save(tracker, *chats)
    await web.sign_in("staff")
    first = await (await web.get("/console")).text()
    assert "27 conversations, page 1 of 2" in first and 'href="/console?page=2"' in first
    second = await (await web.get("/console?page=2")).text()
    assert re.findall(r'href="/console/conversations/([^"]+)"', second) == ["p01", "p00"]
    assert 'href="/console?page=1"' in second


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?from=2026-13-01", "Enter the from date as a real date, for example 2026-11-23"),
        ("?to=yesterday", "Enter the to date as a real date, for example 2026-11-23"),
        ("?from=2026-11-21&to=2026-11-20", "The 'to' date must be the same as or after the 'from' date"),
    ],
)
async def test_a_bad_date_filter_is_refused_with_the_reason(web, query, message):
    await web.sign_in("staff")
    response = await web.get("/console" + query)
    assert response.status == 400
    page = await response.text()
    assert "There is a problem" in page and has(page, message)


async def test_a_bad_page_number_is_refused(web):
    await web.sign_in("staff")
    response = await web.get("/console?page=two")
    assert response.status == 400
    assert "The page number must be a whole number." in await response.text()


# --- One conversation ----------------------------------------------------------------------------


async def test_a_conversation_shows_the_transcript_details_services_and_signposts(web, tracker):
    chat = Chat("html-parent", at(20, 9)).user("<script>alert('hi')</script> <b>my son</b> is 7, autistic, Havant")
    chat.slots(**HAVANT).search(web.kb, 7.0, ["autism"], "Havant").ask_for_person(web.kb)
    await save(tracker, chat)
    await web.sign_in("staff")
    response = await web.get("/console/conversations/html-parent")
    assert response.status == 200
    page = await response.text()
    assert "<script>alert" not in page and "<b>my son</b>" not in page
    assert "&lt;script&gt;alert(&#39;hi&#39;)&lt;/script&gt; &lt;b&gt;my son&lt;/b&gt; is 7" in page
    assert has(page, "7 years") and has(page, web.kb.catalogue().vocabulary.label("autism")) and has(page, "Havant, Hampshire")
    result = web.kb.find(7.0, ["autism"], "Havant", record_unmet=False)
    for match in result.eligible[: messages.PAGE_SIZE]:
        assert has(page, match.service.name) and has(page, ", ".join(match.reasons))
    for helpline in (sp for sp in web.kb.catalogue().signposts if sp.kind == "helpline"):
        assert has(page, helpline.name)
    assert "Chose the button <q>Talk to a person</q>" in page
    assert "Mark as handled" in page and 'action="/console/queue/html-parent/handled"' in page
    assert "Waiting" in page


async def test_a_conversation_that_did_not_ask_for_a_person_has_no_handled_form(web, tracker):
    await save(tracker, havant_chat(web.kb))
    await web.sign_in("staff")
    page = await (await web.get("/console/conversations/havant-parent")).text()
    assert "Mark as handled" not in page


async def test_an_unknown_conversation_is_not_found(web, tracker):
    await save(tracker, havant_chat(web.kb))
    await web.sign_in("staff")
    response = await web.get("/console/conversations/nobody")
    assert response.status == 404
    assert "There is no conversation with that reference." in await response.text()


# --- The call-back queue -------------------------------------------------------------------------


async def test_the_queue_lists_who_is_waiting_oldest_first_and_handles_and_reopens(web, tracker):
    first = havant_chat(web.kb, "first", at(20, 9)).ask_for_person(web.kb)
    second = havant_chat(web.kb, "second", at(20, 11)).ask_for_person(web.kb)
    never = havant_chat(web.kb, "never", at(20, 12))
    await save(tracker, second, first, never)
    username = await web.sign_in("staff")

    page = await (await web.get("/console/queue")).text()
    assert "Asked for a person in the chat (2)" in page and "Handled (0)" in page
    assert page.index('href="/console/conversations/first"') < page.index('href="/console/conversations/second"')
    assert "/console/conversations/never" not in page
    assert has(page, "7 years") and has(page, "Havant, Hampshire")

    response = await web.submit(
        "/console/queue/first/handled", {"note": "Called back, sent SENDIAS details"}, form_page="/console/queue"
    )
    assert response.status == 303 and response.headers["Location"] == "/console/queue?done=handled"
    with web.kb.sessions() as session:
        handoff = session.get(m.Handoff, "first")
        assert handoff.handled_by == username and handoff.note == "Called back, sent SENDIAS details"
        audit = session.execute(select(m.AuditEntry).where(m.AuditEntry.entity_type == "handoff")).scalars().all()
        assert [(a.entity_id, a.action, a.actor) for a in audit] == [("first", "create", username)]
    page = await (await web.get("/console/queue?done=handled")).text()
    assert "govuk-notification-banner--success" in page and "Marked as handled" in page
    assert "Asked for a person in the chat (1)" in page and "Handled (1)" in page
    handled_part = page[page.index("Handled (1)") :]
    assert "/console/conversations/first" in handled_part and username in handled_part
    assert "Called back, sent SENDIAS details" in handled_part
    detail = await (await web.get("/console/conversations/first")).text()
    assert "Handled by " + username in detail and "Move back to the queue" in detail

    response = await web.submit("/console/queue/first/reopen", {}, form_page="/console/queue")
    assert response.status == 303 and response.headers["Location"] == "/console/queue?done=reopened"
    with web.kb.sessions() as session:
        assert session.get(m.Handoff, "first") is None
    page = await (await web.get("/console/queue?done=reopened")).text()
    assert "Moved back to the queue" in page and "Asked for a person in the chat (2)" in page and "Handled (0)" in page


async def test_a_parent_who_asks_again_after_being_handled_is_waiting_again(web, tracker):
    chat = havant_chat(web.kb, "again", at(20, 9)).ask_for_person(web.kb)
    await save(tracker, chat)
    await web.sign_in("staff")
    assert (await web.submit("/console/queue/again/handled", {}, form_page="/console/queue")).status == 303
    assert "Asked for a person in the chat (0)" in await (await web.get("/console/queue")).text()
    chat.clock = time.time() + 60  # after the handling, which is timed by the real clock
    chat.user("can I talk to someone again", intent="talk_to_person")
    await save(tracker, chat)
    page = await (await web.get("/console/queue")).text()
    assert "Asked for a person in the chat (1)" in page and "Asked again" in page


async def test_references_with_slashes_and_spaces_work_in_every_address(web, tracker):
    sender = "widget/a b?c"
    await save(tracker, havant_chat(web.kb, sender).ask_for_person(web.kb))
    await web.sign_in("staff")
    page = await (await web.get("/console/queue")).text()
    quoted = quote(sender, safe="")
    assert f'href="/console/conversations/{quoted}"' in page and f'action="/console/queue/{quoted}/handled"' in page
    assert (await web.get(f"/console/conversations/{quoted}")).status == 200
    response = await web.submit(f"/console/queue/{quoted}/handled", {}, form_page="/console/queue")
    assert response.status == 303
    with web.kb.sessions() as session:
        assert session.get(m.Handoff, sender).handled_by == "staff-user"
    assert (await web.submit(f"/console/queue/{quoted}/reopen", {}, form_page="/console/queue")).status == 303
    with web.kb.sessions() as session:
        assert session.get(m.Handoff, sender) is None


async def test_marking_handled_needs_a_known_conversation_that_asked_and_a_short_note(web, tracker):
    await save(tracker, havant_chat(web.kb, "asked").ask_for_person(web.kb), havant_chat(web.kb, "not-asked"))
    await web.sign_in("staff")
    response = await web.submit("/console/queue/nobody/handled", {}, form_page="/console/queue")
    assert response.status == 404
    response = await web.submit("/console/queue/not-asked/handled", {}, form_page="/console/queue")
    assert response.status == 400 and "This parent has not asked to talk to a person." in await response.text()
    response = await web.submit("/console/queue/asked/handled", {"note": "x" * 501}, form_page="/console/queue")
    assert response.status == 400 and "The note must be 500 characters or fewer." in await response.text()
    with web.kb.sessions() as session:
        assert session.execute(select(func.count()).select_from(m.Handoff)).scalar() == 0


# --- Triage for phone calls ----------------------------------------------------------------------


async def triage_page(web, data) -> tuple[int, str]:
    response = await web.submit("/console/triage", data, form_page="/console/triage")
    return response.status, await response.text()


def assert_services_shown(page: str, kb, age, needs, place) -> None:
    result = kb.find(age, needs, place, record_unmet=False)
    assert result.status == "ok" and result.eligible
    for match in result.eligible[: triage.MAX_CARDS]:
        assert has(page, match.service.name) and has(page, ", ".join(match.reasons))
    for near in result.near_misses:
        assert has(page, near.why_not)
    for signpost in result.signposts:
        assert has(page, signpost.signpost.name)
    records = kb.details([m.service.id for m in result.eligible[: triage.MAX_CARDS]])
    intro = messages.results_messages(result, records, 0, kb.catalogue().vocabulary)[0]["text"]
    assert has(page, intro)


async def test_the_triage_form_offers_the_needs_with_plain_labels(web):
    await web.sign_in("staff")
    page = await (await web.get("/console/triage")).text()
    vocabulary = web.kb.catalogue().vocabulary
    for code in ("autism", "semh", "unsure"):
        assert f'value="{code}"' in page and has(page, vocabulary.label(code))
    assert 'src="/static/app/console.js"' in page
    assert (await web.get("/static/app/console.js")).status == 200


async def test_triage_with_the_fields_gives_the_assistants_results_and_reasons(web):
    await web.sign_in("staff")
    status, page = await triage_page(web, [("age", "7"), ("needs", "autism"), ("place", "Havant")])
    assert status == 200
    assert_services_shown(page, web.kb, 7.0, ["autism"], "Havant")
    notes = re.search(r'<textarea class="govuk-textarea app-case-notes"[^>]*readonly>(.*?)</textarea>', page, re.S).group(1)
    first = web.kb.find(7.0, ["autism"], "Havant", record_unmet=False).eligible[0]
    assert "Age: 7 years" in notes and "Place: Havant, Hampshire" in notes and str(escape(first.service.name)) in notes
    assert 'data-copy-target="case-notes" hidden' in page


async def test_triage_reads_a_description_and_typed_fields_win(web):
    await web.sign_in("staff")
    said = "Mum says her son is 7, he is autistic and she lives in Havant."
    status, page = await triage_page(web, {"description": said})
    assert status == 200
    assert_services_shown(page, web.kb, 7.0, ["autism"], "Havant")
    assert page.count("(from what the caller said)") == 3
    # The typed age and place win over the description's.
    status, page = await triage_page(web, {"description": said, "age": "Year 3", "place": "Fareham"})
    assert status == 200
    assert_services_shown(page, web.kb, 7.0, ["autism"], "Fareham")
    assert page.count("(from what the caller said)") == 1
    status, page = await triage_page(web, {"description": said, "age": "18 months"})
    assert status == 200 and has(page, "18 months")
    assert has(page, messages.who_text(1.5))


async def test_triage_shows_the_same_groups_as_the_widget_with_when_and_where(web):
    await web.sign_in("staff")
    status, page = await triage_page(web, [("age", "4"), ("needs", "speech_language"), ("place", "Andover")])
    assert status == 200
    kb = web.kb
    result = kb.find(4.0, ["speech_language"], "Andover", record_unmet=False)
    vocabulary = kb.catalogue().vocabulary
    need_heading = messages.group_heading("need", result.needs, vocabulary)
    general = next(g for g in result.groups if g.key == "general")
    positions = [
        page.index(str(escape(need_heading))),
        page.index(str(escape(result.eligible[0].service.name))),
        page.index(str(escape(messages.GENERAL_HEADING))),
        page.index(str(escape(general.matches[0].service.name))),
    ]
    assert positions == sorted(positions)
    records = kb.details([m.service.id for m in result.eligible[: triage.MAX_CARDS]])
    for record in records:
        card = messages.service_card(record)
        for line in card["when"] + card["where"]:
            assert has(page, line), line
        if card["needs_ehc_plan"]:
            assert has(page, record["name"])
    assert "Needs an EHC plan" in page


async def test_triage_with_only_general_help_says_so_and_logs_the_gap(web):
    await web.sign_in("staff")
    status, page = await triage_page(web, [("age", "23"), ("needs", "hearing"), ("place", "New Forest")])
    assert status == 200
    assert "couldn&#39;t find anything specifically for" in page or "couldn't find anything specifically for" in page
    with web.kb.sessions() as session:
        last = session.execute(select(m.UnmetSearch).order_by(m.UnmetSearch.id.desc())).scalars().first()
    assert (last.reason, last.needs, last.age_band) == ("only_general", "hearing", "19-25")


async def test_triage_over_25_gives_the_over_age_wording(web):
    await web.sign_in("staff")
    status, page = await triage_page(web, [("age", "30"), ("needs", "learning_disability"), ("place", "Havant")])
    assert status == 200
    result = web.kb.find(30.0, ["learning_disability"], "Havant", record_unmet=False)
    assert result.status == "over_age"
    assert has(page, messages.over_age_messages(result)[0]["text"])
    for signpost in result.signposts:
        assert has(page, signpost.signpost.name)


async def test_triage_outside_the_area_gives_the_out_of_area_wording_and_logs_the_gap(web):
    await web.sign_in("staff")
    with web.kb.sessions() as session:
        before = session.execute(select(func.count()).select_from(m.UnmetSearch)).scalar()
    status, page = await triage_page(web, [("age", "9"), ("needs", "adhd"), ("place", "Reading")])
    assert status == 200
    result = web.kb.find(9.0, ["adhd"], "Reading", record_unmet=False)
    assert result.status == "out_of_area"
    assert has(page, messages.out_of_area_messages(result, messages.coverage_text(web.kb.catalogue().gazetteer))[0]["text"])
    with web.kb.sessions() as session:
        rows = session.execute(select(m.UnmetSearch)).scalars().all()
    assert len(rows) == before + 1 and rows[-1].reason == "out_of_area" and rows[-1].needs == "adhd"


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({}, [triage.AGE_MISSING, triage.NEEDS_MISSING, triage.PLACE_MISSING]),
        ({"age": "banana", "needs": "autism", "place": "Havant"}, [triage.AGE_UNREADABLE]),
        ({"age": "7", "needs": "telepathy", "place": "Havant"}, [triage.NEEDS_UNKNOWN]),
        ({"age": "7", "needs": "autism", "place": "Atlantis"}, ["Atlantis", triage.PLACE_MISSING]),
        ({"age": "7", "needs": "autism", "place": "Hampshire"}, [triage.PLACE_COUNTY.format(name="Hampshire")]),
        ({"description": "the caller was upset"}, [triage.AGE_MISSING, triage.NEEDS_MISSING, triage.PLACE_MISSING]),
        ({"description": "x" * 2001}, [triage.DESCRIPTION_TOO_LONG]),
    ],
)
async def test_triage_refuses_missing_or_unreadable_details_with_the_reasons(web, data, errors):
    await web.sign_in("staff")
    status, page = await triage_page(web, data)
    assert status == 400
    assert "There is a problem" in page and "What the assistant would say" not in page
    assert "<title>Error: Triage a call" in page
    for message in errors:
        assert has(page, message), message
    if data.get("age"):
        assert f'value="{escape(data["age"])}"' in page  # what was typed is kept

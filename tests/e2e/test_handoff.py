"""Issue 12 in real browsers against the whole running stack: a parent asks for a person in the
widget, a member of staff (another browser context) claims the chat in the console, sees the
assistant's summary and replies; the parent sees it without reloading and answers; staff hand back
and the assistant answers the next message. Outside opening hours the parent is offered a call-back
and it appears in the staff queue. axe-core checks the new pages and states."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from playwright.sync_api import expect

from knowledge import helpline as line
from knowledge.kb import KnowledgeBase
from tests.e2e.conftest import run_axe, screenshot, sign_in

pytestmark = pytest.mark.e2e
expect.set_options(timeout=60_000)  # a busy 2-core machine: the assistant's first answer can take seconds


def set_hours(web_server, hours: dict) -> None:
    kb = KnowledgeBase(web_server.env["LOCAL_OFFER_DATABASE_URL"])
    try:
        with kb.sessions.begin() as session:
            line.set_opening_hours(session, hours)
    finally:
        kb.dispose()


@contextmanager
def parent_and_staff(browser):
    """Two browser contexts: the parent's widget and a member of staff's console."""
    parent_context, parent = new_page(browser)
    staff_context, staff = new_page(browser)
    try:
        yield parent, staff
    finally:
        parent_context.close()
        staff_context.close()


def new_page(browser):
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(60_000)
    return context, page


def start_chat(page, base_url: str) -> None:
    page.goto(base_url + "/chat")
    page.click("#chat-privacy-start")
    expect(page.locator(".chat-message--bot").first).to_be_visible()


def say(page, text: str) -> None:
    page.fill("#chat-input", text)
    page.press("#chat-input", "Enter")


ASSISTANT = ".chat-message--bot:not(.chat-message--staff):not(.chat-message--notice)"


def assistant_messages(page) -> int:
    return page.locator(ASSISTANT).count()


def claim_first_chat(staff, web_server, staff_name: str) -> None:
    sign_in(staff, web_server.url, staff_name)
    staff.goto(web_server.url + "/console/queue")
    staff.locator("#live-chat-table button", has_text="Claim").first.click()


def test_a_person_takes_over_the_chat_and_hands_it_back(web_server, browser):
    set_hours(web_server, {day: ("00:00", "23:59") for day in range(7)})
    staff_name = web_server.create_account("helpline-sam", "staff")
    with parent_and_staff(browser) as (parent, staff):
        start_chat(parent, web_server.url)
        say(parent, "my son is 7, he's autistic, we live in Havant")
        parent.wait_for_selector(".chat-card[data-service-id]")
        say(parent, "can I speak to someone")
        expect(parent.locator("#chat-handoff-status")).to_contain_text("number 1 in the queue")
        assert parent.locator("#chat-log").inner_text().count("01632") >= 1  # the helpline's number is still given
        assert run_axe(parent) == []

        claim_first_chat(staff, web_server, staff_name)
        summary = staff.locator("#live-summary").inner_text()
        assert "7 years" in summary and "autis" in summary.lower() and "Havant" in summary, summary
        assert "offered" in staff.locator("details").first.inner_text()
        expect(parent.locator(".chat-message--notice").last).to_contain_text("has joined the chat")

        staff.fill("#live-reply", "Hello, I'm Sam from the helpline. How can I help?")
        staff.click("#live-send")
        expect(parent.locator(".chat-message--staff")).to_contain_text("How can I help?")  # no reload
        before = assistant_messages(parent)
        say(parent, "She is struggling at school and we are waiting for an assessment")
        expect(staff.locator("#live-messages")).to_contain_text("waiting for an assessment")
        assert assistant_messages(parent) == before  # the assistant stayed silent
        assert run_axe(staff) == []
        screenshot(staff, "console-live-chat")

        staff.click("#live-hand-back")
        expect(parent.locator(".chat-message--notice").last).to_contain_text("handed you back")
        say(parent, "what is an EHC plan?")
        parent.wait_for_function("([s, n]) => document.querySelectorAll(s).length > n", arg=[ASSISTANT, before])
        screenshot(parent, "widget-live-chat")


def test_a_parent_who_starts_again_mid_chat_leaves_it_and_the_member_of_staff_sees_so(web_server, browser):
    set_hours(web_server, {day: ("00:00", "23:59") for day in range(7)})
    staff_name = web_server.create_account("helpline-kim", "staff")
    with parent_and_staff(browser) as (parent, staff):
        start_chat(parent, web_server.url)
        say(parent, "I'd like to talk to a real person please")
        expect(parent.locator("#chat-handoff-status")).to_contain_text("in the queue")
        claim_first_chat(staff, web_server, staff_name)
        expect(parent.locator(".chat-message--notice").last).to_contain_text("has joined the chat")

        parent.click("#chat-restart")
        expect(staff.locator("#live-state")).to_contain_text("the parent left")  # no reload
        expect(staff.locator("#live-reply-form")).to_be_hidden()
        expect(staff.locator("#live-messages")).to_contain_text("The parent has left the chat.")
        expect(parent.locator("#chat-handoff")).to_be_hidden()
        say(parent, "my daughter is 5 and deaf, we live in Fareham")
        parent.wait_for_selector(".chat-card[data-service-id]")  # the assistant answers again


def test_outside_opening_hours_the_parent_leaves_a_call_back_request(web_server, browser):
    set_hours(web_server, {day: ("", "") for day in range(7)})
    staff_name = web_server.create_account("helpline-alex", "staff")
    with parent_and_staff(browser) as (parent, staff):
        start_chat(parent, web_server.url)
        say(parent, "can someone call me back")
        expect(parent.locator("#chat-callback")).to_be_visible()
        assert "in any case after 30 days" in parent.locator("#chat-callback").inner_text()  # the setting's default
        assert run_axe(parent) == []
        parent.click("#chat-callback-send")  # no consent yet
        expect(parent.locator("#chat-callback-error")).to_contain_text("Tick the box")
        parent.fill("#chat-callback-phone", "07700 900461")
        parent.fill("#chat-callback-best-time", "After 3pm")
        parent.check("#chat-callback-consent")
        parent.click("#chat-callback-send")
        expect(parent.locator(".chat-message--notice").last).to_contain_text("ring you back")
        screenshot(parent, "widget-call-back")

        sign_in(staff, web_server.url, staff_name)
        staff.goto(web_server.url + "/console/queue")
        card = staff.locator("[data-callback]", has_text="07700 900461")
        expect(card).to_contain_text("After 3pm")
        assert run_axe(staff) == []
        screenshot(staff, "console-call-back-queue")

"""The three journeys of issue 4 in a real browser against the whole running stack:
a parent by keyboard alone in the embedded widget, an editor whose change reaches the next
answer without retraining, and a staff member who finds that conversation in the console."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import axe_violations, run_axe, screenshot, sign_in

PARENT_MESSAGE = "my son is 7, he's autistic, we live in Havant"

pytestmark = pytest.mark.e2e


def tab_to(page, frame, selector: str, limit: int = 40) -> None:
    """Press Tab (nothing else) until the element matching `selector` in `frame` has the focus."""
    for _ in range(limit):
        if frame.evaluate("s => document.hasFocus() && document.activeElement && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def conversation_id(frame) -> str:
    return json.loads(frame.evaluate("window.sessionStorage.getItem('lo-chat')"))["id"]


def open_widget_by_keyboard(page, base_url: str):
    page.goto(base_url + "/demo")
    tab_to(page, page.main_frame, "button.lo-widget-launcher")
    page.keyboard.press("Enter")
    frame = page.frame_locator("iframe.lo-widget-frame")
    expect(frame.locator("#chat-privacy-start")).to_be_visible()
    return next(f for f in page.frames if f.url.endswith("/widget/frame"))


def chat_by_keyboard(page, frame, message: str) -> None:
    tab_to(page, frame, "#chat-input")
    page.keyboard.type(message)
    page.keyboard.press("Enter")


@pytest.fixture(scope="module")
def parent_conversation(web_server, browser):
    """A parent's whole conversation in the widget on the demo council page, by keyboard alone."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(60_000)
    frame = open_widget_by_keyboard(page, web_server.url)
    tab_to(page, frame, "#chat-privacy-start")
    page.keyboard.press("Enter")
    chat_by_keyboard(page, frame, PARENT_MESSAGE)
    frame.wait_for_selector(".chat-card[data-service-id]")
    first_cards = frame.eval_on_selector_all(".chat-card[data-service-id]", "cs => cs.map(c => c.dataset.serviceId)")
    # a quick reply, by keyboard: "Show more"
    tab_to(page, frame, "button.chat-quick-reply[data-payload='/show_more']")
    page.keyboard.press("Enter")
    frame.wait_for_function("n => document.querySelectorAll('.chat-card[data-service-id]').length > n", arg=len(first_cards))
    screenshot(page, "widget-desktop")
    result = {
        "id": conversation_id(frame),
        "cards": frame.eval_on_selector_all(".chat-card[data-service-id]", "cs => cs.map(c => c.dataset.serviceId)"),
        "card_text": frame.locator(".chat-card").first.inner_text(),
        "log_text": frame.locator("#chat-log").inner_text(),
        "focus_in_input": frame.evaluate("document.activeElement.id"),
    }
    context.close()
    return result


def test_parent_completes_a_conversation_in_the_widget_by_keyboard_and_sees_cards(parent_conversation):
    assert len(parent_conversation["cards"]) >= 4  # the first page and "show more"
    card = parent_conversation["card_text"]
    for heading in ("How", "More details"):
        assert heading in card, card
    assert "sample data" in card.lower() and re.search(r"(Last checked|Not yet checked)", card)
    assert PARENT_MESSAGE in parent_conversation["log_text"]
    assert parent_conversation["focus_in_input"] == "chat-input"


def test_the_conversation_survives_a_reload_in_the_same_tab(web_server, page):
    page.goto(web_server.url + "/chat")
    page.click("#chat-privacy-start")
    page.fill("#chat-input", "my daughter is 4 and deaf, we're in Gosport")
    page.keyboard.press("Enter")
    page.wait_for_selector(".chat-card[data-service-id]")
    before = page.locator("#chat-log").inner_text()
    page.reload()
    page.wait_for_selector(".chat-card[data-service-id]")
    assert page.locator("#chat-log").inner_text() == before


ZOOMS = (("widget-320px", {"width": 320, "height": 800}), ("widget-200-percent", {"width": 640, "height": 450}))
"""320 CSS pixels wide; and a 1280 x 900 window at 200% zoom, which lays out as 640 x 450."""


def test_widget_works_at_320_pixels_and_200_percent_zoom(web_server, browser):
    for name, viewport in ZOOMS:
        context = browser.new_context(viewport=viewport, locale="en-GB")
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(web_server.url + "/chat")
        page.click("#chat-privacy-start")
        page.fill("#chat-input", "my 12 year old has ADHD and won't go to school, we live in Fareham")
        page.keyboard.press("Enter")
        page.wait_for_selector(".chat-card[data-service-id]")
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name}: the page scrolls sideways by {overflow}px"
        if name == "widget-320px":
            screenshot(page, name)
        context.close()


def test_staff_member_finds_that_conversation_in_the_console(web_server, page, parent_conversation):
    staff = web_server.create_account("e2e-staff", "staff")
    sign_in(page, web_server.url, staff)
    page.goto(web_server.url + "/console")
    link = page.locator(f"a[href*='{parent_conversation['id']}']").first
    expect(link).to_be_visible()
    link.click()
    page.wait_for_load_state()
    body = page.locator("main").inner_text()
    assert PARENT_MESSAGE in body
    assert "Havant" in body and "autis" in body.lower()
    screenshot(page, "console-conversation")


def test_widget_console_and_editor_have_no_serious_accessibility_violations(web_server, browser, parent_conversation):
    editor = web_server.create_account("e2e-axe-editor", "administrator")
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(web_server.url + "/chat")
    assert run_axe(page) == []  # the privacy notice
    page.click("#chat-privacy-start")
    page.fill("#chat-input", PARENT_MESSAGE)
    page.keyboard.press("Enter")
    page.wait_for_selector(".chat-card[data-service-id]")
    assert run_axe(page) == []  # a conversation with result cards
    context.close()
    assert axe_violations(browser, web_server.url + "/widget/frame") == []
    assert axe_violations(browser, web_server.url + "/demo") == []
    for path in ("/console", f"/console/conversations/web-{parent_conversation['id']}", "/console/triage", "/console/queue",
                 "/admin", "/admin/services", f"/admin/services/{parent_conversation['cards'][0]}/edit"):  # fmt: skip
        assert axe_violations(browser, web_server.url + path, signed_in_as=editor) == [], path


def services_found(text: str) -> int:
    """How many services the (last) answer found: "I found N services", or only "general help and advice: N services"."""
    match = list(re.finditer(r"(?:I found|general help and advice:) (\d+) services?", text))[-1:]
    assert match, text
    return int(match[0].group(1))


def test_editor_changes_eligibility_and_the_next_answer_changes_without_retraining(web_server, browser, parent_conversation):
    first_service = parent_conversation["cards"][0]
    editor = web_server.create_account("e2e-editor", "editor")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(60_000)
    sign_in(page, web_server.url, editor)
    page.goto(f"{web_server.url}/admin/services/{first_service}/edit")
    page.fill("#minimum_age", "11")
    page.fill("#maximum_age", "18")
    screenshot(page, "editor-service-form")
    page.click("form[method=post] button[type=submit]:has-text('Save')")
    page.wait_for_load_state()
    assert f"/admin/services/{first_service}?saved" in page.url, page.url
    expect(page.locator("main")).to_contain_text("11")

    page.goto(web_server.url + "/chat")
    page.click("#chat-privacy-start")
    page.fill("#chat-input", PARENT_MESSAGE)
    page.keyboard.press("Enter")
    page.wait_for_selector(".chat-card[data-service-id]")
    cards = page.eval_on_selector_all(".chat-card[data-service-id]", "cs => cs.map(c => c.dataset.serviceId)")
    log = page.locator("#chat-log").inner_text()
    assert first_service not in cards
    assert services_found(log) == services_found(parent_conversation["log_text"]) - 1
    context.close()


def test_a_parent_deletes_the_conversation_and_a_fresh_one_starts(web_server, page):
    from bot.conversations import ConversationStore

    page.goto(web_server.url + "/chat")
    page.click("#chat-privacy-start")
    page.fill("#chat-input", "my son is 9, adhd, we live in Fareham")
    page.keyboard.press("Enter")
    page.wait_for_selector(".chat-card[data-service-id]")
    old_id = conversation_id(page.main_frame)
    store = ConversationStore(web_server.env["RASA_TRACKER_STORE_URL"])
    try:
        assert store.conversation("web-" + old_id) is not None
        page.click("#chat-delete")
        expect(page.locator("#chat-delete-confirm")).to_be_visible()
        expect(page.locator("#chat-delete-yes")).to_be_focused()
        page.click("#chat-delete-no")  # changing one's mind keeps it
        expect(page.locator("#chat-delete-confirm")).to_be_hidden()
        assert store.conversation("web-" + old_id) is not None
        page.click("#chat-delete")
        page.click("#chat-delete-yes")
        expect(page.locator("#chat-deleted")).to_contain_text("Your conversation has been deleted")
        assert store.conversation("web-" + old_id) is None
        page.wait_for_selector(".chat-message--bot")  # the fresh conversation's greeting
        assert conversation_id(page.main_frame) != old_id
        assert "adhd" not in page.locator("#chat-log").inner_text()
    finally:
        store.dispose()

"""Issue 9's short cards in a real browser against the whole running stack: on a 390 px phone a
three-result answer fits in two screens, with tappable phone links and the when/where rows."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import run_axe, screenshot

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
MESSAGE = "my son is 4 and not talking yet, we live in Andover"

ANSWER_BOX = """() => {
  const intros = [...document.querySelectorAll('.chat-message--bot')].filter(m => /I found|couldn't find/.test(m.textContent));
  const intro = intros[intros.length - 1];
  const page = [...document.querySelectorAll('.chat-message--services')].pop();
  return {
    top: intro.getBoundingClientRect().top + window.scrollY,
    bottom: page.getBoundingClientRect().bottom + window.scrollY,
    cards: page.querySelectorAll('.chat-card[data-service-id]').length,
    sideways: document.documentElement.scrollWidth - document.documentElement.clientWidth,
  };
}"""


def test_a_three_result_answer_fits_two_phone_screens_with_tappable_phones_and_when_and_where(web_server, browser):
    context = browser.new_context(viewport=PHONE, locale="en-GB", is_mobile=True, has_touch=True, bypass_csp=False)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(web_server.url + "/chat")
    page.click("#chat-privacy-start")
    page.fill("#chat-input", MESSAGE)
    page.keyboard.press("Enter")
    page.wait_for_selector(".chat-message--services .chat-card[data-service-id]")
    box = page.evaluate(ANSWER_BOX)
    assert box["cards"] == 3
    height = box["bottom"] - box["top"]
    assert height < 2 * PHONE["height"], f"the answer is {height:.0f}px tall: more than two {PHONE['height']}px screens"
    assert box["sideways"] <= 0

    cards = page.locator(".chat-message--services .chat-card[data-service-id]")
    first = cards.first
    assert first.locator(".chat-card__why").inner_text().startswith("For speech")  # the child's need comes first
    assert page.locator(".chat-group__heading").first.inner_text().startswith("For speech")
    # on the short card (phone numbers inside the closed "More details" are links too, but not shown yet)
    phones = page.locator('.chat-message--services .chat-card a[href^="tel:"]:visible')
    assert phones.count() >= 3
    for index in range(phones.count()):
        link = phones.nth(index)
        assert link.get_attribute("href").startswith("tel:0")
        assert link.bounding_box()["height"] >= 24  # WCAG 2.2 target size
    assert page.locator('.chat-message--services .chat-card a[href^="mailto:"]').count() >= 1
    when = page.locator(".chat-message--services .chat-card__when")
    where = page.locator(".chat-message--services .chat-card__where")
    assert when.count() >= 2 and where.count() >= 2
    assert any(c.isdigit() for c in when.first.inner_text())  # days and times
    assert "SP10" in " ".join(where.all_inner_texts())  # the Andover venue's postcode

    # "More details" opens the rest of the card
    details = first.locator("details.chat-card__more")
    assert not first.locator(".chat-card__details").is_visible()
    details.locator("summary").click()
    assert first.locator(".chat-card__details").is_visible()
    assert "Who it's for" in first.locator(".chat-card__details").inner_text()
    details.locator("summary").click()
    screenshot(page, "widget-390px-results")
    context.close()


def test_short_cards_have_no_serious_accessibility_violations(web_server, browser):
    context = browser.new_context(viewport=PHONE, locale="en-GB", bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(web_server.url + "/chat")
    page.click("#chat-privacy-start")
    page.fill("#chat-input", MESSAGE)
    page.keyboard.press("Enter")
    page.wait_for_selector(".chat-message--services .chat-card[data-service-id]")
    page.locator("details.chat-card__more summary").first.click()
    assert run_axe(page) == []
    context.close()

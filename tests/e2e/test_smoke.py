"""The stack and the browser work together: the start page and sign-in page load, styled and accessible."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import axe_violations

pytestmark = pytest.mark.e2e


def test_start_page_is_styled_and_has_no_serious_accessibility_problems(web_server, browser, page):
    page.goto(web_server.url + "/")
    assert page.locator("h1").inner_text().startswith("Find support")
    # GOV.UK Frontend's CSS is served by the app itself and applied (no CDN, no brand font)
    font = page.evaluate("getComputedStyle(document.querySelector('h1')).fontFamily")
    assert "GDS Transport" not in font and "arial" in font.lower()
    assert page.evaluate("document.body.classList.contains('govuk-frontend-supported')")
    assert axe_violations(browser, web_server.url + "/") == []
    assert axe_violations(browser, web_server.url + "/sign-in") == []

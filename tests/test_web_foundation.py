"""The web app's shared behaviour: signing in and out, roles, CSRF, security headers, error pages."""

from __future__ import annotations

import re

import pytest

from bot.auth import SESSION_COOKIE
from bot.security import RateLimiter, hash_password, verify_password, widget_token, widget_token_valid
from tests.web_helpers import PASSWORD


def test_password_hashes_are_salted_scrypt_and_verify():
    first, second = hash_password("a long passphrase here"), hash_password("a long passphrase here")
    assert first.startswith("scrypt$") and first != second
    assert verify_password("a long passphrase here", first)
    assert not verify_password("a long passphrase herf", first)
    assert not verify_password("anything", "not-a-hash")


def test_widget_tokens_expire_and_cannot_be_forged():
    token = widget_token("s3cret", now=1_000_000)
    assert widget_token_valid("s3cret", token, now=1_000_100)
    assert not widget_token_valid("s3cret", token, now=1_000_000 + 13 * 3600)
    assert not widget_token_valid("other", token, now=1_000_100)
    assert not widget_token_valid("s3cret", token.replace(".", ".x"), now=1_000_100)


def test_rate_limiter_allows_a_burst_then_refills():
    limiter = RateLimiter(burst=3, per_minute=60)
    assert [limiter.allow("a", now=0) for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b", now=0)
    assert limiter.allow("a", now=1.0)
    assert not limiter.allow("a", now=1.0)


async def test_pages_carry_a_strict_content_security_policy(web):
    response = await web.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


async def test_unknown_page_is_a_plain_404_page(web):
    response = await web.get("/no-such-page")
    assert response.status == 404
    assert "Page not found" in await response.text()


async def test_a_form_post_without_the_csrf_token_is_refused(web):
    web.make_account("staff1", "staff")
    await web.get("/sign-in")  # the browser has its CSRF cookie, but the post lacks the token
    response = await web.post("/sign-in", data={"username": "staff1", "password": PASSWORD}, allow_redirects=False)
    assert response.status == 403
    response = await web.post("/sign-in", data={"username": "staff1", "password": PASSWORD, "csrf_token": "forged"})
    assert response.status == 403
    assert SESSION_COOKIE not in web.session.cookie_jar.filter_cookies(web.make_url("/"))


async def test_sign_in_with_a_wrong_password_says_so_and_sets_no_session(web):
    web.make_account("staff1", "staff")
    response = await web.submit("/sign-in", {"username": "staff1", "password": "wrong password!"})
    assert response.status == 400
    assert "The username or password is not right" in await response.text()
    assert SESSION_COOKIE not in web.session.cookie_jar.filter_cookies(web.make_url("/"))


@pytest.mark.parametrize("role, home", [("staff", "/console"), ("editor", "/admin"), ("administrator", "/admin")])
async def test_sign_in_goes_to_the_roles_home_with_a_secure_host_only_cookie(web, role, home):
    web.make_account("someone", role)
    web.app["settings"].cookie_secure = True
    response = await secure_sign_in(web, "Someone ")
    assert response.status == 303 and response.headers["Location"] == home
    cookie = response.cookies["__Host-lo_session"]
    assert cookie["httponly"] and cookie["secure"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    set_cookie = next(h for h in response.headers.getall("Set-Cookie") if h.startswith("__Host-lo_session="))
    assert "domain=" not in set_cookie.lower()  # __Host-: browsers take it only Secure, for the whole site, from this host


async def secure_sign_in(web, username: str, cookies: str = ""):
    """Sign in as a browser does over HTTPS (the test client keeps Secure cookies to https, so they go by hand)."""
    page = await web.get("/sign-in", headers={"Cookie": cookies} if cookies else None)
    csrf_cookie = page.cookies.get("__Host-lo_csrf")
    jar = "; ".join(filter(None, [cookies, csrf_cookie and f"__Host-lo_csrf={csrf_cookie.value}"]))
    token = re.search(r'name="csrf_token" value="([^"]+)"', await page.text()).group(1)
    form = {"csrf_token": token, "username": username, "password": PASSWORD}
    return await web.post("/sign-in", data=form, headers={"Cookie": jar}, allow_redirects=False)


async def test_sign_in_never_redirects_to_another_site(web):
    web.make_account("staff1", "staff")
    response = await web.submit("/sign-in", {"username": "staff1", "password": PASSWORD, "next": "//evil.example/x"})
    assert response.headers["Location"] == "/console"


async def test_sign_out_ends_the_session_on_the_server(web):
    await web.sign_in("staff")
    token = web.session.cookie_jar.filter_cookies(web.make_url("/"))[SESSION_COOKIE].value
    response = await web.submit("/sign-out", {})
    assert response.status == 303
    from bot.auth import signed_in

    with web.kb.sessions() as session:
        assert signed_in(session, token, hours=8, idle_minutes=30) is None


async def test_a_message_with_html_is_shown_as_text(web):
    response = await web.submit("/sign-in", {"username": "<script>alert(1)</script>", "password": "x"})
    body = await response.text()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body

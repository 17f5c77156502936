"""What every request goes through: security headers, error pages, the signed-in account and CSRF."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from bot.auth import session_cookie_name, signed_in
from bot.render import render
from bot.security import csrf_token, csrf_valid, new_token
from knowledge.audit import EditConflict, NotFound

logger = logging.getLogger(__name__)
CSRF_COOKIE = "lo_csrf"
"""Over HTTPS it is `__Host-lo_csrf` (see csrf_cookie_name)."""
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors {ancestors}"
)


def is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/")


def csrf_cookie_name(secure: bool) -> str:
    return "__Host-" + CSRF_COOKIE if secure else CSRF_COOKIE


@web.middleware
async def security_headers(request: web.Request, handler):
    response = await handler(request)
    ancestors = request.get("frame_ancestors", "'none'")
    response.headers.setdefault("Content-Security-Policy", CSP.format(ancestors=ancestors))
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if ancestors == "'none'":
        response.headers.setdefault("X-Frame-Options", "DENY")
    settings = request.app["settings"]
    if settings.behind_https:
        response.headers.setdefault("Strict-Transport-Security", f"max-age={settings.hsts_seconds}")
    if request.get("account") is not None or request.path.startswith(("/console", "/admin", "/sign-in")):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


@web.middleware
async def error_pages(request: web.Request, handler):
    """Refusals and failures as a page (or JSON for /api/), never a stack trace.

    A record the knowledge base can't find (knowledge.audit.NotFound) is a 404 with its own words,
    and one changed by someone else since the editor's page showed it (EditConflict) is a 409 that
    says so, so handlers need catch them only to show the editor's values again.
    """
    try:
        return await handler(request)
    except NotFound as missing:
        return _error_response(request, 404, str(missing))
    except EditConflict:
        return _error_response(request, 409, CHANGED_MEANWHILE)
    except web.HTTPException as error:
        if error.status < 400:
            return web.Response(status=error.status, headers=error.headers)
        return _error_response(
            request, error.status, error.text if error.text and not error.text.startswith(str(error.status)) else None
        )
    except Exception as error:  # noqa: BLE001 - log the kind of failure, show a kind page
        logger.exception("request failed: %s %s (%s)", request.method, request.path, type(error).__name__)
        return _error_response(request, 500, None)


CHANGED_MEANWHILE = (
    "Someone else changed this while you were looking at it, so nothing was changed. "
    "Go back, reload the page to see what it says now, and try again."
)
TITLES = {
    400: "Sorry, something was wrong with that request",
    403: "You do not have access to this page",
    404: "Page not found",
    405: "Sorry, that is not allowed here",
    409: "Someone else changed this at the same time",
    413: "That file is too big",
    429: "Too many messages at once",
    500: "Sorry, there is a problem with the service",
}


def _error_response(request: web.Request, status: int, message: str | None) -> web.Response:
    title = TITLES.get(status, "Sorry, something went wrong")
    if is_api(request):
        return web.json_response({"error": message or title}, status=status)
    return render(request, "error.html", status=status, title=title, message=message)


@web.middleware
async def browser_session(request: web.Request, handler):
    """Who is signed in, the CSRF token for this browser, and the CSRF check on every form post.

    /api/ routes (the widget's) are checked by their own token instead: they run inside
    other sites' pages, where cookies can't be relied on.
    """
    settings = request.app["settings"]
    token = request.cookies.get(session_cookie_name(settings.cookie_secure))
    if token:
        with request.app["kb"].sessions.begin() as session:
            request["account"] = signed_in(session, token, settings.session_hours, settings.session_idle_minutes)
    browser = request.cookies.get(csrf_cookie_name(settings.cookie_secure))
    new_browser = browser is None
    if new_browser:
        browser = new_token()
    request["csrf_token"] = csrf_token(settings.secret_key, browser)
    if request.method in UNSAFE_METHODS and not is_api(request):
        submitted = request.headers.get("X-CSRF-Token")
        if submitted is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            submitted = (await request.post()).get(CSRF_FIELD)
        if new_browser or not csrf_valid(settings.secret_key, browser, submitted if isinstance(submitted, str) else None):
            raise web.HTTPForbidden(
                text="This form has expired or was not sent from this site. Go back, reload the page and try again."
            )
    response = await handler(request)
    if new_browser and not is_api(request):
        name = csrf_cookie_name(settings.cookie_secure)
        response.set_cookie(name, browser, httponly=True, samesite="Strict", secure=settings.cookie_secure, path="/")
    return response


def printable(text: str) -> str:
    """Control characters (new lines and the like) written as escapes, so a URL cannot forge a log line."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


class PrivateAccessLogger(AbstractAccessLogger):
    """Method, path, status and time only: no client address, no query string, no message text."""

    def log(self, request, response, time):
        self.logger.info("%s %s %s %.1fms", printable(request.method), printable(request.path), response.status, time * 1000)

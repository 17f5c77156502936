"""Public pages: the start page, privacy notice, signing in and out."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from aiohttp import web

from bot.auth import SignedIn, authenticate, end_session, normalise_username, session_cookie_name, start_session
from bot.proxy import request_client
from bot.render import redirect, render
from bot.throttle import wait_message
from conversation.messages import coverage_text

routes = web.RouteTableDef()


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no open redirect): one leading slash, no backslash, no control characters."""
    if not target or len(target) > 2000 or not target.startswith("/") or target.startswith(("//", "/\\")):
        return ""
    if "\\" in target or not target.isprintable():
        return ""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return ""
    return target


def _home_for(account) -> str:
    """Helpline staff land on the console; editors and administrators on the knowledge base."""
    return "/console" if account.role == "staff" else "/admin"


@routes.get("/")
async def start_page(request: web.Request) -> web.Response:
    coverage = coverage_text(request.app["kb"].catalogue().gazetteer)
    return render(request, "public/start.html", title="Find SEND support", coverage=coverage)


@routes.get("/favicon.ico")
async def favicon(request: web.Request) -> web.Response:
    """No icon: an empty answer browsers cache, rather than a 404 on every page."""
    return web.Response(status=204, headers={"Cache-Control": "public, max-age=86400"})


@routes.get("/privacy")
async def privacy(request: web.Request) -> web.Response:
    return render(request, "public/privacy.html", title="Privacy")


@routes.get("/sign-in")
async def sign_in_form(request: web.Request) -> web.Response:
    if request.get("account"):
        raise web.HTTPSeeOther(_safe_next(request.query.get("next")) or _home_for(request["account"]))
    return render(
        request, "public/sign_in.html", title="Sign in", errors={}, username="", next=_safe_next(request.query.get("next"))
    )


@routes.post("/sign-in")
async def sign_in(request: web.Request) -> web.Response:
    form = await request.post()
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    target = _safe_next(str(form.get("next", "")))
    settings = request.app["settings"]
    throttle = request.app["sign_in_throttle"]  # in memory or in Redis (bot/shared_state.py)
    address, account_key = request_client(request), normalise_username(username)
    errors = {}
    if not username.strip():
        errors["username"] = "Enter your username"
    if not password:
        errors["password"] = "Enter your password"
    wait = await throttle.attempt(account_key, address) if not errors else 0  # counted as a failure until right
    if wait:
        errors["username"] = wait_message(wait)
        response = render(
            request, "public/sign_in.html", status=429, title="Sign in", errors=errors, username=username, next=target
        )
        response.headers["Retry-After"] = str(wait)
        return response
    cookie_name = session_cookie_name(settings.cookie_secure)
    if not errors:
        # Checking the password takes tens of milliseconds of CPU: off the event loop, so other pages stay quick.
        signed = await asyncio.get_running_loop().run_in_executor(
            None, _check_and_start_session, request.app["kb"], settings, username, password, request.cookies.get(cookie_name)
        )
        if signed is None:
            errors["username"] = "The username or password is not right"
        else:
            await throttle.succeeded(account_key, address)
            token, home = signed
    if errors:
        return render(request, "public/sign_in.html", status=400, title="Sign in", errors=errors, username=username, next=target)
    response = redirect(target or home)
    response.set_cookie(
        cookie_name, token, httponly=True, samesite="Lax", secure=settings.cookie_secure, path="/",
        max_age=settings.session_hours * 3600,
    )  # fmt: skip
    return response


def _check_and_start_session(kb, settings, username: str, password: str, old_token: str | None) -> tuple[str, str] | None:
    """(session token, home page) if the password is right; the browser's old session ends either way it succeeds."""
    with kb.sessions.begin() as session:
        account = authenticate(session, username, password)
        if account is None:
            return None
        token = start_session(session, account, settings.session_hours, settings.session_idle_minutes, replacing=old_token)
        return token, _home_for(SignedIn.of(account))


@routes.post("/sign-out")
async def sign_out(request: web.Request) -> web.Response:
    cookie_name = session_cookie_name(request.app["settings"].cookie_secure)
    with request.app["kb"].sessions.begin() as session:
        end_session(session, request.cookies.get(cookie_name))
    response = redirect("/sign-in")
    response.del_cookie(cookie_name, path="/")
    return response


def setup(app: web.Application) -> None:
    app.add_routes(routes)

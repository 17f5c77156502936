"""Public pages: the start page, privacy notice, signing in and out."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from bot.auth import SESSION_COOKIE, SignedIn, authenticate, end_session, start_session
from bot.render import redirect, render

routes = web.RouteTableDef()


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no open redirect to another one)."""
    if not target:
        return ""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return ""
    return target


def _home_for(account) -> str:
    """Helpline staff land on the console; editors and administrators on the knowledge base."""
    return "/console" if account.role == "staff" else "/admin"


@routes.get("/")
async def start_page(request: web.Request) -> web.Response:
    return render(request, "public/start.html", title="Find SEND support")


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
    errors = {}
    if not username.strip():
        errors["username"] = "Enter your username"
    if not password:
        errors["password"] = "Enter your password"
    if not errors:
        kb = request.app["kb"]
        with kb.sessions.begin() as session:
            account = authenticate(session, username, password)
            if account is not None:
                token = start_session(session, account, request.app["settings"].session_hours)
                home = _home_for(SignedIn.of(account))
        if account is None:
            errors["username"] = "The username or password is not right"
    if errors:
        return render(request, "public/sign_in.html", status=400, title="Sign in", errors=errors, username=username, next=target)
    response = redirect(target or home)
    settings = request.app["settings"]
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="Lax", secure=settings.cookie_secure, path="/",
        max_age=settings.session_hours * 3600,
    )  # fmt: skip
    return response


@routes.post("/sign-out")
async def sign_out(request: web.Request) -> web.Response:
    with request.app["kb"].sessions.begin() as session:
        end_session(session, request.cookies.get(SESSION_COOKIE))
    response = redirect("/sign-in")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


def setup(app: web.Application) -> None:
    app.add_routes(routes)

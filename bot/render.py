"""HTML pages: Jinja2 templates, escaped everywhere, with what every page needs."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from knowledge.vocabulary import ACCESS_ROUTES, CATEGORIES, TIERS

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _when(value) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return value.strftime("%-d %B %Y, %H:%M")
    if isinstance(value, date):
        return value.strftime("%-d %B %Y")
    return str(value)


def _day(value) -> str:
    if isinstance(value, str) and value:
        value = date.fromisoformat(value[:10])
    return value.strftime("%-d %B %Y") if value else ""


def make_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "svg"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["day"] = _day
    env.globals.update(CATEGORIES=CATEGORIES, TIERS=TIERS, ACCESS_ROUTES=ACCESS_ROUTES)
    return env


def render(request: web.Request, template: str, status: int = 200, **context) -> web.Response:
    env: Environment = request.app["jinja"]
    page = env.get_template(template).render(
        request=request,
        account=request.get("account"),
        csrf_token=request.get("csrf_token", ""),
        path=request.path,
        **context,
    )
    return web.Response(text=page, status=status, content_type="text/html", charset="utf-8")


def redirect(location: str) -> web.Response:
    """303 See Other: after a form post, the browser fetches `location` with GET."""
    return web.Response(status=303, headers={"Location": location})

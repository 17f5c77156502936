"""The Open Referral UK 3.0 read API under /openreferral/: open GET endpoints, CORS, no key, throttled.

Parameters are checked here (a bad one is a 400 naming it); the queries are in
knowledge/oruk_api.py. Pages count from 1; `per_page` is at most 200.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path

from aiohttp import web

from bot.proxy import request_client
from bot.security import RateLimiter
from knowledge import oruk_api as api
from knowledge.oruk import ORUK_PROFILE, ORUK_VERSION, page, page_json

STUB = "/openreferral"
OPENAPI_FILE = Path(__file__).resolve().parent.parent / "static" / "openreferral" / "openapi.json"
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200
CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET, OPTIONS", "Access-Control-Allow-Headers": "*"}
routes = web.RouteTableDef()
logger = logging.getLogger(__name__)


PUBLIC = {**CORS, "Cache-Control": "public, max-age=60"}


def _json(data, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, headers=PUBLIC)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=CORS)


def _integer(query, name: str, default: int, low: int, high: int) -> int:
    text = query.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise api.BadParameter(f"{name}: expected a whole number, got {text!r}") from None
    if not low <= value <= high:
        raise api.BadParameter(f"{name}: must be between {low} and {high}")
    return value


def _number(query, name: str) -> float | None:
    text = query.get(name)
    if text is None or text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        raise api.BadParameter(f"{name}: expected a number, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")) or value < 0:
        raise api.BadParameter(f"{name}: expected a number of 0 or more")
    return value


def _datetime(query, name: str) -> datetime | None:
    text = query.get(name)
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise api.BadParameter(f"{name}: expected a date and time like 2026-05-31T09:00:00Z, got {text!r}") from None
    if value.tzinfo is not None:
        value = (value - value.utcoffset()).replace(tzinfo=None)
    return value


def _text(query, name: str) -> str | None:
    text = (query.get(name) or "").strip()
    if len(text) > 200:
        raise api.BadParameter(f"{name}: at most 200 characters")
    return text or None


def _filter(query) -> api.ServiceFilter:
    return api.ServiceFilter(
        search=_text(query, "search"),
        taxonomy_term_id=_text(query, "taxonomy_term_id"),
        taxonomy_id=_text(query, "taxonomy_id"),
        minimum_age=_number(query, "minimum_age"),
        maximum_age=_number(query, "maximum_age"),
        modified_after=_datetime(query, "modified_after"),
        organization_id=_text(query, "organization_id"),
    )


def _paging(query) -> tuple[int, int]:
    return _integer(query, "page", 1, 1, 1_000_000), _integer(query, "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)


@web.middleware
async def _guard(request: web.Request, handler):
    """Only for /openreferral/: the rate limit, JSON errors for bad parameters and missing records."""
    if not request.path.startswith(STUB):
        return await handler(request)
    if request.method == "OPTIONS":
        return web.Response(status=204, headers={**CORS, "Access-Control-Max-Age": "86400"})
    if not request.app["oruk_limiter"].allow(request_client(request)):
        return web.json_response({"error": "Too many requests: slow down"}, status=429, headers={**CORS, "Retry-After": "10"})
    try:
        return await handler(request)
    except api.BadParameter as bad:
        return _error(400, str(bad))
    except web.HTTPNotFound:
        return _error(404, "Not found")
    except web.HTTPMethodNotAllowed:
        return _error(405, "Only GET is allowed")
    except Exception:  # noqa: BLE001 - a JSON 500 for API clients, logged with its kind
        logger.exception("Open Referral request failed: %s", request.path)
        return _error(500, "Sorry, there is a problem with the service")


def _sample(request: web.Request) -> bool:
    return request.app["settings"].oruk_publish_sample


def _read(request: web.Request, work):
    with request.app["kb"].sessions() as session:
        return work(session)


@routes.get(STUB)
@routes.get(STUB + "/")
async def about(request: web.Request) -> web.Response:
    base = f"{request.scheme}://{request.host}{STUB}"
    return _json({"version": ORUK_VERSION, "profile": ORUK_PROFILE, "openapi_url": f"{base}/openapi.json"})


@routes.get(STUB + "/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    document = request.app.get("oruk_openapi")
    if document is None:
        document = request.app["oruk_openapi"] = json.loads(OPENAPI_FILE.read_text(encoding="utf-8"))
    return _json({**document, "servers": [{"url": f"{request.scheme}://{request.host}{STUB}"}]})


@routes.get(STUB + "/services")
async def services(request: web.Request) -> web.Response:
    number, size = _paging(request.query)
    filters = _filter(request.query)
    with request.app["kb"].engine.connect() as connection:
        items, total = api.encoded_services(connection, filters, number, size, _sample(request))
    return web.Response(body=page_json(items, total, number, size), content_type="application/json", headers=PUBLIC)


@routes.get(STUB + "/services/{id}")
async def service(request: web.Request) -> web.Response:
    found = _read(request, lambda s: api.get_service(s, request.match_info["id"], _sample(request)))
    return _json(found) if found else _error(404, "No service with that id")


@routes.get(STUB + "/organizations")
async def organizations(request: web.Request) -> web.Response:
    number, size = _paging(request.query)
    items, total = _read(request, lambda s: api.list_organizations(s, number, size, _sample(request)))
    return _json(page(items, total, number, size))


@routes.get(STUB + "/organizations/{id}")
async def organization(request: web.Request) -> web.Response:
    found = _read(request, lambda s: api.get_organization(s, request.match_info["id"], _sample(request)))
    return _json(found) if found else _error(404, "No organisation with that id")


@routes.get(STUB + "/taxonomies")
async def taxonomies(request: web.Request) -> web.Response:
    number, size = _paging(request.query)
    items = api.all_taxonomies()
    return _json(page(items[(number - 1) * size : number * size], len(items), number, size))


@routes.get(STUB + "/taxonomies/{id}")
async def taxonomy(request: web.Request) -> web.Response:
    found = next((t for t in api.all_taxonomies() if t["id"] == request.match_info["id"]), None)
    return _json(found) if found else _error(404, "No taxonomy with that id")


@routes.get(STUB + "/taxonomy_terms")
async def taxonomy_terms(request: web.Request) -> web.Response:
    number, size = _paging(request.query)
    wanted = _text(request.query, "taxonomy_id")
    items = [t for t in _read(request, lambda s: api.all_terms(s, _sample(request))) if not wanted or t["taxonomy_id"] == wanted]
    return _json(page(items[(number - 1) * size : number * size], len(items), number, size))


@routes.get(STUB + "/taxonomy_terms/{id}")
async def taxonomy_term(request: web.Request) -> web.Response:
    terms = _read(request, lambda s: api.all_terms(s, _sample(request)))
    found = next((t for t in terms if t["id"] == request.match_info["id"]), None)
    return _json(found) if found else _error(404, "No taxonomy term with that id")


@routes.get(STUB + "/service_at_locations")
async def service_at_locations(request: web.Request) -> web.Response:
    number, size = _paging(request.query)
    filters = _filter(request.query)
    postcode = _text(request.query, "postcode")
    proximity = _number(request.query, "proximity")
    if proximity is not None and not postcode:
        raise api.BadParameter("proximity: give a postcode too")
    items, total = _read(
        request,
        lambda s: api.list_service_at_locations(s, filters, number, size, _sample(request), postcode, proximity),
    )
    return _json(page(items, total, number, size))


@routes.get(STUB + "/service_at_locations/{id}")
async def service_at_location(request: web.Request) -> web.Response:
    found = _read(request, lambda s: api.get_service_at_location(s, request.match_info["id"], _sample(request)))
    return _json(found) if found else _error(404, "No service at location with that id")


def setup(app: web.Application) -> None:
    settings = app["settings"]
    app["oruk_limiter"] = RateLimiter(settings.oruk_burst, settings.oruk_per_minute)
    app.middlewares.append(_guard)
    app.add_routes(routes)

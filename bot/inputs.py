"""Numbers from URLs and forms, bounded: a page or record number too big for the database is a 404, never a 500."""

from __future__ import annotations

from aiohttp import web

MAX_PAGE = 100_000
MAX_RECORD_ID = 2**31 - 1
RECORD_ID = r"{id:\d{1,10}}"
"""A route pattern for a record number (longer ones are no route: 404)."""


def page_number(value: str | None) -> int:
    """A page number from the query (missing: page 1); not a whole number: 400; beyond any list: 404."""
    if value is None or not value.strip():
        return 1
    if not value.strip().isdigit() or len(value.strip()) > 7:
        if value.strip().isdigit():
            raise web.HTTPNotFound(text="There is no page with that number.")
        raise web.HTTPBadRequest(text="The page number must be a whole number.")
    number = int(value)
    if number > MAX_PAGE:
        raise web.HTTPNotFound(text="There is no page with that number.")
    return max(number, 1)


def record_id(value: str, missing: str) -> int:
    """A record number from the URL; one no record can have is a 404 with `missing` as its words."""
    if not value.isdigit() or len(value) > 10 or int(value) > MAX_RECORD_ID:
        raise web.HTTPNotFound(text=missing)
    return int(value)


def form_version(value: str | None) -> int | None:
    """A record's version from a form: None if missing or not a number a record could have."""
    value = (value or "").strip()
    if not value.isdigit() or len(value) > 10 or int(value) > MAX_RECORD_ID:
        return None
    return int(value)

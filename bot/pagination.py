"""Links for GOV.UK pagination that keep a list page's filters (rendered by the `pagination` macro in lists.html)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode


def page_links(base: str, filters: dict[str, str], current: int, pages: int) -> dict:
    """Previous, next and numbered links (the first, the last and two either side of the current page, with
    gaps as None for an ellipsis); no numbered links when everything fits on one page."""

    def href(number: int) -> str:
        return base + "?" + urlencode({**{k: v for k, v in filters.items() if v}, "page": number})

    numbers = sorted({1, pages, *range(max(1, current - 2), min(pages, current + 2) + 1)})
    items, last = [], 0
    for number in numbers:
        if number - last > 1:
            items.append(None)
        items.append((number, href(number)))
        last = number
    return {
        "previous": href(current - 1) if current > 1 else "",
        "next": href(current + 1) if current < pages else "",
        "items": items if pages > 1 else [],
        "current": current,
    }


def filters_from(query: Mapping[str, str], names: tuple[str, ...]) -> dict[str, str]:
    """The named filters from a query string, trimmed ("" for those not given)."""
    return {name: query.get(name, "").strip() for name in names}

"""Keeping in step with a live Open Referral UK API: `python -m knowledge sync BASE_URL`.

The whole feed is fetched first (every page of /services, and /services/{id}
for list items that lack the nested parts); only a complete, valid feed is
applied, in one transaction: services are created and updated by id, and the
ones this feed gave before but no longer lists are retired. An unreachable or
invalid feed changes nothing and the error says why.

The feed's own fields win; our Local Offer annotations (tier, category, access
route, who can refer, plain-language texts, review dates, need tags, and the
service areas when the feed names none we know) are kept when the feed does
not carry them. The change report (added; changed, field by field; retired)
goes into the audit trail; a sync that changes nothing writes nothing.
Items unchanged since the last sync (and services not edited here since) are
passed over without being read again: see knowledge/sync_digests.py.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

import aiohttp
from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge import models as m
from knowledge import sync_digests
from knowledge.audit import record_change
from knowledge.changes import differences
from knowledge.fields import SERVICE
from knowledge.formats import read_structured
from knowledge.importer import ImportRejected, import_dataset
from knowledge.records import EXTENSION_KEY, OUR_TAXONOMIES, attribute_terms, term_taxonomy
from knowledge.store import service_query, service_to_record

RETIRED_STATUS = "inactive"
PER_PAGE = 100
MAX_PAGES = 10_000
CONCURRENT_REQUESTS = 8
NESTED_KEYS = ("service_at_locations", "contacts", "attributes")
"""A list item with none of these is partial: its detail page is fetched."""
ANNOTATIONS = SERVICE.keys(kept_across_sync=True)


class SyncFailed(Exception):
    """The feed could not be read whole, or is not valid: nothing was changed."""


@dataclass
class SyncReport:
    source: str
    added: list[str] = field(default_factory=list)
    changed: dict[str, dict[str, list]] = field(default_factory=dict)
    retired: list[str] = field(default_factory=list)
    unchanged: int = 0
    warnings: int = 0
    pages: int = 0
    details_fetched: int = 0

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.changed or self.retired)

    def summary(self) -> str:
        return (
            f"{self.source}: {len(self.added)} added, {len(self.changed)} changed, {len(self.retired)} retired, "
            f"{self.unchanged} unchanged ({self.pages} pages, {self.details_fetched} services fetched one by one; "
            f"{self.warnings} data-quality warning(s))"
        )

    def as_json(self) -> dict:
        return {"source": self.source, "added": self.added, "changed": self.changed, "retired": self.retired}


# --- fetching --------------------------------------------------------------------------------------


async def _get_json(http: aiohttp.ClientSession, url: str, what: str):
    try:
        async with http.get(url, headers={"Accept": "application/json"}) as response:
            if response.status != 200:
                raise SyncFailed(f"{what}: the server answered {response.status} ({url})")
            text = await response.text()
    except aiohttp.ClientError as error:
        raise SyncFailed(f"{what}: can't reach {url} ({type(error).__name__}: {error})") from error
    except asyncio.TimeoutError as error:
        raise SyncFailed(f"{what}: no answer from {url} in time") from error
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise SyncFailed(f"{what}: not JSON ({error}) at {url}") from error


async def _together(coroutines) -> list:
    """Run the coroutines concurrently; at the first failure, cancel the others and raise it."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _page_contents(body, number: int) -> list:
    if not isinstance(body, dict) or not isinstance(body.get("contents"), list):
        raise SyncFailed(f"page {number} of /services is not an Open Referral page (no 'contents' list)")
    return body["contents"]


async def fetch_services(base_url: str, per_page: int = PER_PAGE, timeout: float = 30.0) -> tuple[list[dict], int, int]:
    """Every service the API lists, complete: (services, pages read, detail pages fetched).

    The first page says how many there are; the others, then the detail pages of partial
    list items, are fetched CONCURRENT_REQUESTS at a time."""
    base = base_url.rstrip("/")
    gate = asyncio.Semaphore(CONCURRENT_REQUESTS)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http:

        async def listing(number: int) -> list:
            async with gate:
                url = f"{base}/services?page={number}&per_page={per_page}"
                return _page_contents(await _get_json(http, url, f"page {number} of /services"), number)

        first = await _get_json(http, f"{base}/services?page=1&per_page={per_page}", "page 1 of /services")
        pages = [_page_contents(first, 1)]
        total_pages = first.get("total_pages") if isinstance(first.get("total_pages"), int) else 1
        if total_pages > MAX_PAGES:
            raise SyncFailed(f"/services says it has {total_pages} pages: more than the {MAX_PAGES} we read")
        if pages[0]:
            pages += await _together(listing(n) for n in range(2, total_pages + 1))
        if [] in pages[1:]:  # the list ended sooner than it said: what follows an empty page is not read
            pages = pages[: pages.index([], 1)]
        services = [item for contents in pages for item in contents]
        partial = [
            i for i, s in enumerate(services) if isinstance(s, dict) and s.get("id") and not any(k in s for k in NESTED_KEYS)
        ]

        async def detail(index: int) -> None:
            async with gate:
                sid = str(services[index]["id"])
                full = await _get_json(http, f"{base}/services/{sid}", f"service {sid}")
                if not isinstance(full, dict) or str(full.get("id")) != sid:
                    raise SyncFailed(f"service {sid}: /services/{sid} did not return that service")
                services[index] = full

        await _together(detail(i) for i in partial)
    return services, len(pages), len(partial)


# --- applying --------------------------------------------------------------------------------------


def _carries_annotations(raw: dict) -> bool:
    """Whether a feed item says anything about our Local Offer fields (our extension or our taxonomies)."""
    if isinstance(raw.get(EXTENSION_KEY), dict):
        return True
    return any(term_taxonomy(t) in OUR_TAXONOMIES - {"local-offer-needs"} for t in attribute_terms(raw))


def _keep_annotations(record: dict, stored: dict, annotated: bool) -> None:
    if not annotated:
        for name in ANNOTATIONS:
            record[name] = stored[name]
    record["needs"] = sorted(set(record["needs"]) | set(stored["needs"]))
    if not record["service_areas"]:
        record["service_areas"] = list(stored["service_areas"])


def apply_feed(session: Session, base_url: str, items: list, actor: str = "sync", *, full: bool = False) -> SyncReport:
    """Apply a complete feed in the caller's transaction (SyncFailed, and nothing written, if it is invalid).

    Items unchanged since the last sync are passed over (see knowledge/sync_digests.py), unless `full`."""
    report = SyncReport(source=base_url)
    digests = sync_digests.item_digests(session, base_url, items)
    passed_over = set() if full else sync_digests.unchanged_ids(session, digests)
    items = [raw for raw in items if sync_digests.item_id(raw) not in passed_over]
    try:
        dataset = read_structured(items)
    except ValueError as error:
        raise SyncFailed(f"the feed can't be read: {error}") from error
    raws = {str(raw.get("id")): raw for raw in items if isinstance(raw, dict)}
    ids = [record["id"] for _row, record in dataset.services if record["id"]]
    stored = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        stored.update({s.id: s for s in session.execute(service_query().where(m.Service.id.in_(chunk))).scalars()})
    before = {sid: service_to_record(s) for sid, s in stored.items()}
    for _row, record in dataset.services:
        if record["id"] in before:
            _keep_annotations(record, before[record["id"]], _carries_annotations(raws.get(record["id"], {})))
    try:
        result = import_dataset(session, dataset, preloaded=stored)
    except ImportRejected as rejected:
        errors = [p for p in rejected.problems if p.severity == "error"]
        shown = "; ".join(str(p) for p in errors[:5])
        raise SyncFailed(f"the feed has {len(errors)} error(s), so nothing was changed: {shown}") from rejected
    report.warnings = len(result.warnings)
    report.added = list(result.created)
    report.unchanged = len(result.unchanged) + len(passed_over)
    records = {record["id"]: record for _row, record in dataset.services}
    for sid in result.updated:
        report.changed[sid] = differences(before[sid], records[sid])
    for sid in ids:
        service = stored.get(sid) or session.get(m.Service, sid)
        if service.source_url != base_url:
            service.source_url = base_url
    feed_ids = set(ids) | passed_over
    listed = session.execute(
        select(m.Service.id).where(m.Service.source_url == base_url, m.Service.status != RETIRED_STATUS)
    ).scalars()
    for sid in sorted(set(listed) - feed_ids):
        session.get(m.Service, sid).status = RETIRED_STATUS
        report.retired.append(sid)
    session.flush()
    sync_digests.remember(session, {sid: digests[sid] for sid in ids if sid in digests})
    if report.has_changes:
        summary = (
            f"Synced from {base_url}: {len(report.added)} added, {len(report.changed)} changed, {len(report.retired)} retired"
        )
        record_change(session, actor, "sync", base_url[:200], "sync", None, report.as_json(), summary)
    return report


def sync(
    sessions, base_url: str, *, per_page: int = PER_PAGE, actor: str = "sync", dry_run: bool = False, full: bool = False
) -> SyncReport:
    """Fetch the whole feed, then apply it in one transaction (rolled back for a dry run).

    `full`: read and compare every item, even those unchanged since the last sync."""
    items, pages, details = asyncio.run(fetch_services(base_url, per_page))
    with sessions() as session:
        with session.begin():
            report = apply_feed(session, base_url, items, actor, full=full)
            if dry_run:
                session.rollback()
    report.pages, report.details_fetched = pages, details
    return report

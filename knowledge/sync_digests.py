"""Which items of a synced feed are unchanged since the last sync, so a sync can pass over them.

Each service a sync applies gets a digest of its feed item, taken together with what the item was
read against (the feed's address, the taxonomy mapping, our need codes and area names), and the
service's version just after the sync. An item whose digest is the same and whose service is still
at that version (nobody edited it here since) would change nothing: it is not read, checked or
compared again. A change of mapping, needs or areas changes every digest, so the next sync reads
every item again; so does `sync --full`.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from knowledge import models as m
from knowledge.store import area_names, need_term_ids

READING_SCHEME = "1"
"""Change this when the way a feed item is read changes, so that the next sync reads every item again."""
CHUNK = 500


def item_id(raw) -> str | None:
    """A feed item's id as the importer reads it (None if it has none)."""
    if not isinstance(raw, dict) or raw.get("id") is None:
        return None
    return str(raw["id"]).strip() or None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def reading_context(session: Session, base_url: str) -> str:
    """A digest of everything besides the item itself that decides what a feed item is read as."""
    mapped = session.execute(
        select(m.TaxonomyMapping.taxonomy, m.TaxonomyMapping.term_id, m.TaxonomyMapping.need_code)
        .where(m.TaxonomyMapping.need_code.isnot(None))
        .order_by(m.TaxonomyMapping.taxonomy, m.TaxonomyMapping.term_id)
    ).all()
    context = [READING_SCHEME, base_url, [list(row) for row in mapped], sorted(need_term_ids(session))]
    context.append(sorted(area_names(session).items()))
    return _digest(json.dumps(context))


def item_digests(session: Session, base_url: str, items: list) -> dict[str, str]:
    """id -> digest of each item whose id the feed gives once (a repeated id is always read, so it is reported)."""
    context = reading_context(session, base_url)
    counts = Counter(item_id(raw) for raw in items)
    return {
        sid: _digest(context + json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str))
        for raw in items
        if (sid := item_id(raw)) and counts[sid] == 1
    }


def unchanged_ids(session: Session, digests: dict[str, str]) -> set[str]:
    """The ids whose digest matches the last sync's and whose service has not changed since."""
    ids, same = list(digests), set()
    for start in range(0, len(ids), CHUNK):
        rows = session.execute(
            select(m.SyncedService.service_id, m.SyncedService.digest)
            .join(m.Service, m.Service.id == m.SyncedService.service_id)
            .where(m.SyncedService.service_id.in_(ids[start : start + CHUNK]))
            .where(m.SyncedService.service_version == m.Service.version)
        )
        same.update(sid for sid, digest in rows if digests[sid] == digest)
    return same


def remember(session: Session, digests: dict[str, str]) -> None:
    """Store the digests of the items just applied, with their services' versions now (after a flush)."""
    ids = list(digests)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        versions = session.execute(select(m.Service.id, m.Service.version).where(m.Service.id.in_(chunk))).all()
        session.execute(delete(m.SyncedService).where(m.SyncedService.service_id.in_(chunk)))
        if versions:
            rows = [{"service_id": sid, "digest": digests[sid], "service_version": version} for sid, version in versions]
            session.execute(insert(m.SyncedService), rows)

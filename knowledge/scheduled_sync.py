"""Syncing from a live Open Referral UK API on a schedule (the web app's background job).

One process syncs at a time (knowledge/locks.py); the others pass. A failure never raises: it is
logged and written to the audit trail, which administrators see on their dashboard, once per kind
of failure (a feed that stays down does not fill the trail), and the next sync that works after a
failure says so even when it changes nothing.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.engine import Engine

from knowledge import models as m
from knowledge.audit import record_change
from knowledge.locks import held_if_free
from knowledge.sync import SyncFailed, SyncReport, sync

logger = logging.getLogger(__name__)

ACTOR = "scheduled sync"
LOCK = "open-referral-sync"
FAILED = "sync_failed"


def _last_entry(session, base_url: str) -> m.AuditEntry | None:
    return session.execute(
        select(m.AuditEntry)
        .where(m.AuditEntry.entity_type == "sync", m.AuditEntry.entity_id == base_url[:200])
        .order_by(m.AuditEntry.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _record_failure(sessions, base_url: str, reason: str) -> None:
    with sessions.begin() as session:
        last = _last_entry(session, base_url)
        if last is not None and last.action == FAILED and (last.after or {}).get("error") == reason:
            return
        summary = f"Sync from {base_url} failed, nothing was changed: {reason}"
        record_change(session, ACTOR, "sync", base_url[:200], FAILED, None, {"source": base_url, "error": reason}, summary[:500])


def _record_recovery(sessions, base_url: str, report: SyncReport) -> None:
    """After a failure, a sync that works but changes nothing still says the feed works again."""
    with sessions.begin() as session:
        last = _last_entry(session, base_url)
        if last is not None and last.action == FAILED:
            summary = f"Synced from {base_url} again: nothing had changed ({report.unchanged} services)"
            record_change(session, ACTOR, "sync", base_url[:200], "sync", None, report.as_json(), summary)


def run_scheduled_sync(engine: Engine, sessions, base_url: str) -> SyncReport | None:
    """Sync once if no other process is syncing; the report, or None when passed or failed (never raises)."""
    try:
        with held_if_free(engine, LOCK) as mine:
            if not mine:
                logger.info("scheduled sync from %s: another process is syncing, so this one passes", base_url)
                return None
            try:
                report = sync(sessions, base_url, actor=ACTOR)
            except SyncFailed as failed:
                logger.warning("scheduled sync from %s failed, nothing was changed: %s", base_url, failed)
                _record_failure(sessions, base_url, str(failed))
                return None
            logger.info("scheduled sync: %s", report.summary())
            if not report.has_changes:
                _record_recovery(sessions, base_url, report)
            return report
    except Exception as error:  # noqa: BLE001 - a database outage must not end the schedule or the app
        logger.exception("scheduled sync from %s failed", base_url)
        try:
            _record_failure(sessions, base_url, f"{type(error).__name__}: {error}"[:300])
        except Exception:  # noqa: BLE001 - the database itself may be what is down
            logger.exception("could not record the failed sync in the audit trail")
        return None

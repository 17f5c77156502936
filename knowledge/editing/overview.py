"""What editors look over: the audit trail, one record's history, and the dashboard's counts."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from knowledge import models as m
from knowledge.editing.common import PER_PAGE, Page, like
from knowledge.editing.organisations import ORGANISATION, ORGANISATION_LABELS
from knowledge.editing.services import SERVICE, SERVICE_LABELS
from knowledge.validation import review_due
from knowledge.vocabulary import OFFERED_STATUS


def audit_entries(
    session: Session, *, entity_type: str = "", entity_id: str = "", actor: str = "", page: int = 1, per_page: int = PER_PAGE
) -> Page:
    """Audit entries, newest first, filtered by type and id (exact) and who (part of the name)."""
    query = select(m.AuditEntry)
    if entity_type:
        query = query.where(m.AuditEntry.entity_type == entity_type)
    if entity_id:
        query = query.where(m.AuditEntry.entity_id == entity_id)
    if actor.strip():
        query = query.where(func.lower(m.AuditEntry.actor).like(like(actor.strip()), escape="\\"))
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    page = min(page, max(1, math.ceil(total / per_page)))
    rows = session.execute(
        query.order_by(m.AuditEntry.created_at.desc(), m.AuditEntry.id.desc()).offset((page - 1) * per_page).limit(per_page)
    ).scalars()
    return Page(list(rows), total, page, per_page)


def audit_types(session: Session) -> list[str]:
    return sorted(set(session.execute(select(m.AuditEntry.entity_type).distinct()).scalars()) | {SERVICE, ORGANISATION})


def history(session: Session, entity_type: str, entity_id: str, limit: int | None = None) -> list[m.AuditEntry]:
    """The audit entries for one record, newest first."""
    query = (
        select(m.AuditEntry)
        .where(m.AuditEntry.entity_type == entity_type, m.AuditEntry.entity_id == entity_id)
        .order_by(m.AuditEntry.created_at.desc(), m.AuditEntry.id.desc())
    )
    if limit:
        query = query.limit(limit)
    return list(session.execute(query).scalars())


def labels_for(entity_type: str) -> Mapping[str, str]:
    return {SERVICE: SERVICE_LABELS, ORGANISATION: ORGANISATION_LABELS}.get(entity_type, {})


def dashboard_counts(session: Session, today: date | None = None) -> dict[str, int]:
    today = today or date.today()
    rows = session.execute(
        select(m.Service.status, m.Service.last_reviewed, m.Service.assured_date, m.Service.review_interval_days)
    ).all()
    active = [r for r in rows if r.status == OFFERED_STATUS]
    return {
        "services": len(rows),
        "active": len(active),
        "needs_review": sum(1 for r in active if review_due(r.last_reviewed or r.assured_date, r.review_interval_days, today)),
        "new_feedback": session.execute(
            select(func.count()).select_from(m.Feedback).where(m.Feedback.status == "new")
        ).scalar_one(),
        "organisations": session.execute(select(func.count()).select_from(m.Organization)).scalar_one(),
    }

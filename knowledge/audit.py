"""Changing the knowledge base: the audit trail (who, when, before and after) and the errors every editor shares."""

from __future__ import annotations

from sqlalchemy.orm import Session

from knowledge import models as m


class ValidationFailed(ValueError):
    """The change breaks the knowledge base's rules; nothing was written. `errors` maps form field -> plain message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class NotFound(LookupError):
    """The record to show or change does not exist (or no longer does); the message says which, in plain words."""


class EditConflict(Exception):
    """Someone else changed this record since the editor opened it: nothing was saved.

    `current` is the record as it is now, so the editor can see the other change.
    """

    def __init__(self, entity_type: str, entity_id: str, current: dict | None) -> None:
        super().__init__(f"{entity_type} {entity_id} was changed by someone else")
        self.entity_type = entity_type
        self.entity_id = entity_id
        self.current = current


def check_version(entity_type: str, entity_id: str, stored_version: int | None, expected: int | None, current: dict | None):
    """Raise EditConflict unless the stored row is still at the version the editor started from."""
    if expected is None or stored_version != expected:
        raise EditConflict(entity_type, entity_id, current)


def changed_fields(before: dict | None, after: dict | None) -> list[str]:
    """Names of the fields whose values differ (all of them for a create or delete)."""
    before, after = before or {}, after or {}
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


def record_change(
    session: Session,
    actor: str,
    entity_type: str,
    entity_id: str,
    action: str,
    before: dict | None,
    after: dict | None,
    summary: str = "",
) -> m.AuditEntry:
    """Add an audit entry in the caller's transaction, so it is written exactly when the change is."""
    if not summary:
        fields = changed_fields(before, after)
        summary = f"{action.capitalize()}d {entity_type}" if action != "update" else "Changed " + ", ".join(fields)
    entry = m.AuditEntry(
        actor=actor, entity_type=entity_type, entity_id=str(entity_id), action=action, before=before, after=after, summary=summary
    )
    session.add(entry)
    return entry

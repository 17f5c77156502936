"""What applying a checked dataset would do to the knowledge base, worked out without writing anything.

Services and organisations to add, to change (field by field: before and after) and
to leave as they are; and the services in the knowledge base that the dataset does
not list (a sync retires the ones its feed gave before; an import retires them only
when the administrator asks). The import preview and its "Apply" step, the CLI's
`import --dry-run` and the sync's change report all use this one comparison.

The dataset must already be checked (knowledge.importer.check_dataset), so its records
are in the shape they would be stored in (ages clamped, area names turned into codes,
other directories' terms mapped to needs).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge import models as m
from knowledge.records import Dataset
from knowledge.store import organization_to_record, service_query, service_to_record

RETIRED_STATUS = "inactive"
GONE_STATUSES = (RETIRED_STATUS, "defunct")
"""Services already gone from the directory: never counted as left out."""
CHUNK = 500
"""Ids per IN (...) query: well inside every database's limit on bound parameters."""


def differences(before: dict, after: dict) -> dict[str, list]:
    """Field -> [before, after] for every field `after` gives that `before` does not already say (id aside)."""
    return {name: [before.get(name), after.get(name)] for name in after if name != "id" and before.get(name) != after.get(name)}


@dataclass
class ChangePlan:
    """What a dataset would do: new records, changed fields, and the services it leaves out."""

    services_added: list[dict] = field(default_factory=list)
    services_changed: dict[str, dict[str, list]] = field(default_factory=dict)
    services_unchanged: list[str] = field(default_factory=list)
    organisations_added: list[dict] = field(default_factory=list)
    organisations_changed: dict[str, dict[str, list]] = field(default_factory=dict)
    organisations_unchanged: list[str] = field(default_factory=list)
    absent: list[dict] = field(default_factory=list)
    """Services in scope, not already gone, that the dataset does not list: {id, name, version}, by id."""
    names: dict[str, str] = field(default_factory=dict)
    """Service and organisation id -> its name now (after the change, for new and changed ones)."""
    versions: dict[str, int] = field(default_factory=dict)
    """"service:ID" / "organization:ID" -> the stored version of every existing record the plan involves."""

    @property
    def has_changes(self) -> bool:
        return bool(self.services_added or self.services_changed or self.organisations_added or self.organisations_changed)

    def as_json(self) -> dict:
        return {
            "services_added": [r["id"] for r in self.services_added],
            "services_changed": self.services_changed,
            "services_unchanged": self.services_unchanged,
            "organisations_added": [o["id"] for o in self.organisations_added],
            "organisations_changed": self.organisations_changed,
            "absent": [a["id"] for a in self.absent],
        }

    def digest(self, *salt: str) -> str:
        """A fingerprint of everything the plan would do and of the stored versions it was worked out from
        (plus `salt`, e.g. the file's own hash): equal digests mean applying now does exactly what was shown."""
        text = json.dumps([salt, self.as_json(), sorted(self.versions.items())], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def _load(session: Session, query, model, ids: list[str]) -> dict:
    found: dict = {}
    for start in range(0, len(ids), CHUNK):
        found.update({row.id: row for row in session.execute(query.where(model.id.in_(ids[start : start + CHUNK]))).scalars()})
    return found


def stored_services(session: Session, ids: list[str]) -> dict[str, m.Service]:
    """The stored services with these ids, children loaded, in chunks."""
    return _load(session, service_query(), m.Service, ids)


def _compare(plan: ChangePlan, kind: str, records: list[dict], stored: dict, to_record) -> tuple[list, dict, list]:
    """(records to add, id -> changed fields, ids unchanged); notes each record's name and stored version in `plan`."""
    added, changed, unchanged = [], {}, []
    for record in records:
        existing = stored.get(record["id"])
        plan.names[record["id"]] = record.get("name") or (existing.name if existing else record["id"])
        if existing is None:
            added.append(record)
            continue
        plan.versions[f"{kind}:{existing.id}"] = existing.version
        fields = differences(to_record(existing), record)
        if fields:
            changed[record["id"]] = fields
        else:
            unchanged.append(record["id"])
    return added, changed, unchanged


def plan_changes(session: Session, dataset: Dataset, absent_scope=None, stored: dict[str, m.Service] | None = None) -> ChangePlan:
    """Compare a checked dataset with the knowledge base; writes nothing.

    absent_scope: a condition on m.Service choosing which stored services count as left out when the
    dataset does not list them (None: none do); stored: services the caller has already loaded.
    """
    plan = ChangePlan()
    organisations = [org for _row, org in dataset.organizations]
    existing = _load(session, select(m.Organization), m.Organization, [o["id"] for o in organisations if o.get("id")])
    plan.organisations_added, plan.organisations_changed, plan.organisations_unchanged = _compare(
        plan, "organization", organisations, existing, organization_to_record
    )
    services = [record for _row, record in dataset.services]
    ids = [record["id"] for record in services if record.get("id")]
    existing = stored if stored is not None else stored_services(session, ids)
    plan.services_added, plan.services_changed, plan.services_unchanged = _compare(
        plan, "service", services, existing, service_to_record
    )
    if absent_scope is not None:
        listed = set(ids)
        rows = session.execute(
            select(m.Service.id, m.Service.name, m.Service.version)
            .where(absent_scope, m.Service.status.notin_(GONE_STATUSES))
            .order_by(m.Service.id)
        )
        for sid, name, version in rows:
            if sid not in listed:
                plan.absent.append({"id": sid, "name": name, "version": version})
                plan.versions[f"service:{sid}"] = version
    return plan

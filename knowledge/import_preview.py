"""Importing a file in two steps: first see what it would do, then apply exactly that.

The preview checks the file against the knowledge base and works out its change plan
(knowledge.changes): services and organisations to add, to change field by field, and the
services the file leaves out. An import never retires a service on its own: those left out
are kept unless the administrator ticks "retire", and even then only services entered here
or imported (ones a live directory's sync keeps in step are left to the sync).

The preview page carries the file itself (compressed) and the plan's digest, made from the
file's hash, the plan and the stored versions of every record it touches. "Apply" works the
plan out again in its own transaction; if the digest differs (someone edited a service,
another import ran, a term was mapped) nothing is written and the new preview is shown.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import zlib
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session

from knowledge import models as m
from knowledge.audit import record_change
from knowledge.changes import RETIRED_STATUS, ChangePlan, plan_changes
from knowledge.editing import (
    ORGANISATION_LABELS,
    SERVICE_LABELS,
    FileCheck,
    check_file,
    display,
    field_changes,
    import_file,
    read_upload,
    upload_format,
)
from knowledge.formats import FileFormatError
from knowledge.importer import ImportReport
from knowledge.records import Dataset

RETIRE_SCOPE = m.Service.source_url.is_(None)
"""The services an import may retire when asked: not those a sync from a live directory keeps in step."""
MAX_FILE_BYTES = 20 * 1024 * 1024
SHOWN = 200
"""Records listed one by one on the preview page; the rest are counted (Apply still does them all)."""


class PreviewOutdated(Exception):
    """The knowledge base (or the file) is not what the preview showed: nothing was written. `preview` is the new one."""

    def __init__(self, preview: Preview) -> None:
        super().__init__("the knowledge base changed since the preview")
        self.preview = preview


@dataclass
class Preview:
    filename: str
    fmt: str
    """The format the administrator chose ('' to go by the file's name)."""
    check: FileCheck
    plan: ChangePlan | None
    """None when the file has errors (it can't be imported)."""
    digest: str
    packed: str
    """The file, compressed and base64-encoded, for the Apply form to send back."""
    dataset: Dataset = field(repr=False)

    @property
    def can_apply(self) -> bool:
        return self.plan is not None and (self.plan.has_changes or bool(self.plan.absent))


@dataclass
class Applied:
    report: ImportReport
    retired: list[str]


def pack(content: bytes) -> str:
    return base64.b64encode(zlib.compress(content, 6)).decode("ascii")


def unpack(text: str) -> bytes:
    """The file a preview page sent back; FileFormatError if it was damaged or is too big."""
    try:
        inflater = zlib.decompressobj()
        content = inflater.decompress(base64.b64decode(text.encode("ascii"), validate=True), MAX_FILE_BYTES + 1)
    except (ValueError, zlib.error) as error:
        raise FileFormatError("The previewed file could not be read back: upload it again") from error
    if len(content) > MAX_FILE_BYTES or inflater.unconsumed_tail or not inflater.eof:
        raise FileFormatError("The previewed file could not be read back: upload it again")
    return content


def preview_file(session: Session, filename: str, content: bytes, fmt: str = "", today: date | None = None) -> Preview:
    """Check a file and work out what importing it would do; writes nothing (FileFormatError if unreadable)."""
    dataset = read_upload(filename, content, fmt or None)
    check = check_file(session, dataset, today or date.today(), dry_run=False)
    plan = None if check.errors else plan_changes(session, dataset, RETIRE_SCOPE)
    file_hash = hashlib.sha256(content).hexdigest()
    digest = plan.digest(file_hash, upload_format(filename, fmt or None)) if plan else ""
    return Preview(filename, fmt, check, plan, digest, pack(content), dataset)


def apply_file(
    session: Session,
    actor: str,
    filename: str,
    content: bytes,
    fmt: str,
    digest: str,
    *,
    retire_absent: bool = False,
    today: date | None = None,
) -> Applied:
    """Apply what the preview with `digest` showed, in the caller's transaction; PreviewOutdated if it would differ."""
    preview = preview_file(session, filename, content, fmt, today)
    if preview.plan is None or not hmac.compare_digest(preview.digest, digest or ""):
        raise PreviewOutdated(preview)
    report = import_file(session, actor, filename, preview.dataset, today)
    retired = retire(session, actor, preview.plan.absent, filename) if retire_absent else []
    return Applied(report, retired)


def retire(session: Session, actor: str, absent: list[dict], filename: str) -> list[str]:
    """Stop offering the services a full-replacement import left out (status inactive), each audited."""
    for item in absent:
        service = session.get(m.Service, item["id"])
        before = {"status": service.status}
        service.status = RETIRED_STATUS
        record_change(
            session, actor, "service", service.id, "retire", before, {"status": RETIRED_STATUS}, f"Retired: not in {filename}"
        )
    session.flush()
    return [item["id"] for item in absent]


def _rows(changes: dict[str, list], labels) -> list[tuple[str, str, str]]:
    return field_changes({k: v[0] for k, v in changes.items()}, {k: v[1] for k, v in changes.items()}, labels)


def plan_view(plan: ChangePlan, shown: int = SHOWN) -> dict:
    """The plan as the preview page lists it: names, and plain labels with before and after for each change."""
    return {
        "services_added": [(r["id"], plan.names[r["id"]]) for r in plan.services_added[:shown]],
        "services_changed": [
            (sid, plan.names[sid], _rows(changes, SERVICE_LABELS)) for sid, changes in list(plan.services_changed.items())[:shown]
        ],
        "organisations_added": [(o["id"], plan.names[o["id"]]) for o in plan.organisations_added[:shown]],
        "organisations_changed": [
            (oid, plan.names[oid], _rows(changes, ORGANISATION_LABELS))
            for oid, changes in list(plan.organisations_changed.items())[:shown]
        ],
        "absent": [(a["id"], a["name"]) for a in plan.absent[:shown]],
        "shown": shown,
    }


def plan_lines(plan: ChangePlan) -> list[str]:
    """The plan as plain text (python -m knowledge import FILE --dry-run)."""
    lines = []
    for title, added in (("service", plan.services_added), ("organisation", plan.organisations_added)):
        for record in added:
            lines.append(f"  add {title} {record['id']} ({plan.names[record['id']]})")
    for title, changed, labels in (
        ("service", plan.services_changed, SERVICE_LABELS),
        ("organisation", plan.organisations_changed, ORGANISATION_LABELS),
    ):
        for rid, changes in changed.items():
            lines.append(f"  change {title} {rid} ({plan.names[rid]}):")
            lines += [f"    {label}: {before} -> {after}" for label, before, after in _rows(changes, labels)]
    if plan.absent:
        shown = ", ".join(display(a["id"]) for a in plan.absent[:10]) + (" ..." if len(plan.absent) > 10 else "")
        lines.append(f"  {len(plan.absent)} service(s) in the knowledge base are not in the file and are kept: {shown}")
    return lines

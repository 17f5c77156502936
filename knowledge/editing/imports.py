"""Importing and exporting the directory from the browser: read an upload, check it, import it (audited)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import PurePath

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge import models as m
from knowledge.audit import record_change
from knowledge.formats import FORMATS, READ_FORMATS, FileFormatError, read_text
from knowledge.importer import ImportReport, check_dataset, export_text, import_dataset  # noqa: F401 (export_text for the views)
from knowledge.oruk_csv import read_zipped_package
from knowledge.records import Dataset, Problem
from knowledge.store import organization_to_record, service_query, service_to_record
from knowledge.validation import QUALITY_CHECKS, quality_summary


def upload_format(filename: str, chosen: str | None = None) -> str:
    """The file's format: the one chosen, else from its extension (.json, .ndjson, .yaml/.yml, .csv, .zip)."""
    if chosen:
        if chosen not in FORMATS:
            raise FileFormatError(f"Unknown format {chosen}: choose JSON, YAML or CSV")
        return chosen
    suffix = PurePath(filename or "").suffix.lower().lstrip(".")
    fmt = {"yml": "yaml", "jsonl": "ndjson"}.get(suffix, suffix)
    if fmt not in READ_FORMATS + ("zip",):
        raise FileFormatError(
            "Can't tell the file's format from its name: name it .json, .ndjson, .yaml, .csv or .zip "
            "(an Open Referral UK CSV package), or choose the format"
        )
    return fmt


def read_upload(filename: str, content: bytes, chosen: str | None = None) -> Dataset:
    """An uploaded file as a dataset; FileFormatError (with a plain message) if it can't be read at all."""
    fmt = upload_format(filename, chosen)
    if fmt == "zip":
        return read_zipped_package(content)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FileFormatError("The file is not UTF-8 text: save it as UTF-8 and try again") from error
    if not text.strip():
        raise FileFormatError("The file is empty")
    return read_text(text, fmt)


@dataclass
class FileCheck:
    """What a check found: every problem (errors first) and the data-quality summary; writes nothing."""

    services: int
    organizations: int
    problems: list[Problem]
    quality: list[tuple[str, int, list[str]]]
    would: ImportReport | None = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


def _quality_rows(dataset: Dataset, today: date) -> list[tuple[str, int, list[str]]]:
    summary = quality_summary([record for _row, record in dataset.services], today)
    return [(label, summary.counts.get(check, 0), summary.examples.get(check, [])[:5]) for check, label in QUALITY_CHECKS.items()]


def check_file(session: Session, dataset: Dataset, today: date | None = None, *, dry_run: bool = True) -> FileCheck:
    """Validate a file against the knowledge base and say what an import would do (unless not dry_run:
    the import preview works out its own plan); writes nothing."""
    today = today or date.today()
    problems = check_dataset(session, dataset, today)
    problems.sort(key=lambda p: (p.severity != "error", p.row or 0))
    result = FileCheck(len(dataset.services), len(dataset.organizations), problems, _quality_rows(dataset, today))
    if dry_run and not result.errors:
        result.would = import_dataset(session, dataset, dry_run=True, today=today)
    return result


def import_file(session: Session, actor: str, filename: str, dataset: Dataset, today: date | None = None) -> ImportReport:
    """Import all or nothing in the caller's transaction; ImportRejected (nothing written) if anything is wrong.

    Audited: one entry for the import (who, file, summary) and one per created or changed service and organisation.
    """
    ids = [record["id"] for _row, record in dataset.services if record.get("id")]
    before = (
        {s.id: service_to_record(s) for s in session.execute(service_query().where(m.Service.id.in_(ids))).scalars()}
        if ids
        else {}
    )
    org_ids = [org["id"] for _row, org in dataset.organizations if org.get("id")]
    orgs_before = (
        {
            o.id: organization_to_record(o)
            for o in session.execute(select(m.Organization).where(m.Organization.id.in_(org_ids))).scalars()
        }
        if org_ids
        else {}
    )
    report = import_dataset(session, dataset, today=today)
    for org_id in report.organizations_created + report.organizations_updated:
        org = session.get(m.Organization, org_id)
        action = "create" if org_id in report.organizations_created else "update"
        record_change(session, actor, "organization", org_id, action, orgs_before.get(org_id), organization_to_record(org))
    changed = report.created + report.updated
    if changed:
        session.expire_all()
        after = {s.id: service_to_record(s) for s in session.execute(service_query().where(m.Service.id.in_(changed))).scalars()}
        for service_id in changed:
            action = "create" if service_id in report.created else "update"
            record_change(session, actor, "service", service_id, action, before.get(service_id), after[service_id])
    summary = {
        "file": filename,
        "created": len(report.created),
        "updated": len(report.updated),
        "unchanged": len(report.unchanged),
        "organizations_created": len(report.organizations_created),
        "organizations_updated": len(report.organizations_updated),
        "warnings": len(report.warnings),
    }
    record_change(
        session,
        actor,
        "import",
        filename or "(no name)",
        "import",
        None,
        summary,
        f"Imported {filename}: {len(report.created)} created, {len(report.updated)} updated, {len(report.unchanged)} unchanged",
    )
    return report


EXPORT_TYPES = {"json": "application/json", "yaml": "application/yaml", "csv": "text/csv"}

"""Import services all-or-nothing: validate the whole file, then apply it in one transaction.

Re-importing the same file changes nothing: each incoming record is compared
with the stored one in canonical shape, and only real differences are written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge import models as m
from knowledge.formats import FORMATS, FileFormatError, to_oruk_service, write_csv, write_json
from knowledge.records import Dataset, Problem
from knowledge.store import (
    apply_record,
    area_names,
    build_context,
    need_names,
    need_term_ids,
    organization_to_record,
    postcode_counties,
    service_query,
    service_to_record,
)
from knowledge.taxonomy_mapping import apply_mapping
from knowledge.validation import quality_warnings, validate


class ImportRejected(Exception):
    """The file has errors; nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        super().__init__(f"{len(errors)} error(s); nothing was imported")


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    organizations_created: list[str] = field(default_factory=list)
    organizations_updated: list[str] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.organizations_created or self.organizations_updated)

    def summary(self) -> str:
        verb = "would be" if self.dry_run else "was"
        return (
            f"services: {len(self.created)} created, {len(self.updated)} updated, {len(self.unchanged)} unchanged; "
            f"organisations: {len(self.organizations_created)} created, {len(self.organizations_updated)} updated "
            f"({'nothing' if not self.changed else 'changes'} {verb} written); {len(self.warnings)} data-quality warning(s)"
        )


def check_dataset(session: Session, dataset: Dataset, today: date | None = None, *, record_terms: bool = False) -> list[Problem]:
    """All errors and data-quality warnings for a dataset, against what the knowledge base knows.

    Other directories' taxonomy terms are first mapped to need codes (record_terms: store new ones).
    """
    problems = apply_mapping(session, dataset, record_new=record_terms)
    problems += validate(dataset, build_context(session))
    return problems + quality_warnings(dataset, today or date.today())


def import_dataset(
    session: Session, dataset: Dataset, *, dry_run: bool = False, today: date | None = None, preloaded: dict | None = None
) -> ImportReport:
    """Apply a dataset in the caller's transaction, or raise ImportRejected and leave it untouched.

    The caller owns the transaction (`with session.begin(): ...`), so an import is
    committed whole or not at all; with dry_run nothing is flushed.
    """
    problems = check_dataset(session, dataset, today, record_terms=not dry_run)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ImportRejected(problems)
    report = ImportReport(warnings=[p for p in problems if p.severity == "warning"], dry_run=dry_run)
    for _row, org in dataset.organizations:
        existing = session.get(m.Organization, org["id"])
        if existing is None:
            report.organizations_created.append(org["id"])
            if not dry_run:
                session.add(m.Organization(**{"description": "", "is_sample": False, **org}))
        elif any(organization_to_record(existing)[name] != value for name, value in org.items()):
            report.organizations_updated.append(org["id"])
            if not dry_run:
                for name, value in org.items():
                    setattr(existing, name, value)
    if not dry_run:
        session.flush()
    ids = [record["id"] for _row, record in dataset.services]
    if preloaded is not None:  # the caller (a sync) has already loaded these services with their children
        stored = {sid: preloaded[sid] for sid in ids if sid in preloaded}
    else:
        stored = {s.id: s for s in session.execute(service_query().where(m.Service.id.in_(ids))).scalars()} if ids else {}
    term_ids = need_term_ids(session)
    names = area_names(session)
    for _row, record in dataset.services:
        service = stored.get(record["id"])
        if service is not None and service_to_record(service) == record:
            report.unchanged.append(record["id"])
            continue
        (report.updated if service is not None else report.created).append(record["id"])
        if dry_run:
            continue
        if service is None:
            service = m.Service(id=record["id"])
            session.add(service)
        apply_record(session, service, record, term_ids, names)
    if not dry_run:
        session.flush()
    return report


def export_records(session: Session) -> tuple[list[dict], list[dict]]:
    """Every organisation and service as canonical records, ordered by id."""
    organizations = [
        organization_to_record(o) for o in session.execute(select(m.Organization).order_by(m.Organization.id)).scalars()
    ]
    services = [service_to_record(s) for s in session.execute(service_query().order_by(m.Service.id)).scalars()]
    return organizations, services


def oruk_services(session: Session, organizations: list[dict], services: list[dict]) -> list[dict]:
    """Canonical records as ORUK 3.0 services, with area, need and county names from the knowledge base."""
    names = area_names(session)
    terms = need_names(session)
    counties = postcode_counties(session)
    by_id = {o["id"]: o for o in organizations}
    return [to_oruk_service(s, by_id.get(s["organization_id"]), names, terms, counties) for s in services]


def export_text(session: Session, fmt: str) -> tuple[str, int]:
    """Every service and organisation in `fmt`, exactly as `python -m knowledge export` writes it; (text, services)."""
    if fmt not in FORMATS:
        raise FileFormatError(f"Unknown format {fmt}: choose json, yaml or csv")
    organizations, services = export_records(session)
    if fmt == "csv":
        return write_csv({o["id"]: o for o in organizations}, services), len(services)
    oruk = oruk_services(session, organizations, services)
    text = write_json(organizations, oruk)
    if fmt == "yaml":
        text = yaml.safe_dump(json.loads(text), sort_keys=False, allow_unicode=True)
    return text, len(services)

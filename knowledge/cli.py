"""Administrators' command line: python -m knowledge COMMAND (see --help)."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from sqlalchemy import func as sql_func
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from knowledge import models as m
from knowledge.changes import plan_changes
from knowledge.db import PROJECT_ROOT, database_url, make_engine, make_session_factory
from knowledge.formats import FileFormatError, guess_format, read_file
from knowledge.import_preview import RETIRE_SCOPE, plan_lines
from knowledge.importer import ImportRejected, check_dataset, export_records, export_text, import_dataset
from knowledge.kb import KnowledgeBase
from knowledge.schema import migrate
from knowledge.seed import SEED_DIR, SeedError, load_seed
from knowledge.validation import quality_summary


def _print_problems(problems, limit: int | None = None) -> None:
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity == "warning"]
    for problem in (errors + warnings)[:limit]:
        print(f"  {problem}")
    if limit is not None and len(problems) > limit:
        print(f"  ... and {len(problems) - limit} more")
    print(f"{len(errors)} error(s), {len(warnings)} warning(s)")


def cmd_migrate(args) -> int:
    migrate(make_engine(args.database))
    print(f"Database is up to date: {_safe_url(args.database)}")
    return 0


def cmd_seed(args) -> int:
    engine = make_engine(args.database)
    migrate(engine)
    with make_session_factory(engine).begin() as session:
        if args.if_empty and session.execute(select(m.Service.id).limit(1)).first():
            print("The knowledge base already has services: left as it is (administrators' edits are kept).")
            return 0
        report = load_seed(session, Path(args.dir))
    for line in report.lines():
        print(line)
    return 0


def cmd_validate(args) -> int:
    dataset = read_file(Path(args.file), args.format)
    with make_session_factory(make_engine(args.database))() as session:
        problems = check_dataset(session, dataset)
    print(f"{args.file}: {len(dataset.services)} service(s), {len(dataset.organizations)} organisation(s)")
    _print_problems(problems, None if args.all else 200)
    records = [record for _row, record in dataset.services]
    for line in quality_summary(records, date.today()).lines():
        print(line)
    return 1 if any(p.severity == "error" for p in problems) else 0


def cmd_import(args) -> int:
    dataset = read_file(Path(args.file), args.format)
    sessions = make_session_factory(make_engine(args.database))
    plan = None
    try:
        with sessions.begin() as session:
            report = import_dataset(session, dataset, dry_run=args.dry_run)
            if args.dry_run:
                plan = plan_changes(session, dataset, RETIRE_SCOPE)
                session.rollback()
    except ImportRejected as rejected:
        print(f"Import rejected: {rejected}. Problems:")
        _print_problems(rejected.problems, 200)
        return 1
    print(report.summary())
    for line in plan_lines(plan) if plan else []:
        print(line)
    return 0


def cmd_export(args) -> int:
    fmt = guess_format(Path(args.file), args.format) if args.file != "-" else (args.format or "json")
    with make_session_factory(make_engine(args.database))() as session:
        text, count = export_text(session, fmt)
        organisations = session.execute(select(sql_func.count()).select_from(m.Organization)).scalar_one()
    if args.file == "-":
        sys.stdout.write(text)
    else:
        Path(args.file).write_text(text, encoding="utf-8")
        print(f"Exported {count} services and {organisations} organisations to {args.file}")
    return 0


def cmd_sync(args) -> int:
    from knowledge.sync import SyncFailed, sync

    engine = make_engine(args.database)
    migrate(engine)
    try:
        report = sync(make_session_factory(engine), args.base_url, per_page=args.per_page, dry_run=args.dry_run, full=args.full)
    except SyncFailed as failed:
        print(f"Sync failed, nothing was changed: {failed}", file=sys.stderr)
        return 1
    print(("(dry run, nothing written) " if args.dry_run else "") + report.summary())
    for sid, fields in list(report.changed.items())[:50]:
        print(f"  changed {sid}: {', '.join(fields)}")
    for sid in report.retired[:50]:
        print(f"  retired {sid}")
    return 0


def cmd_quality(args) -> int:
    with make_session_factory(make_engine(args.database))() as session:
        _organizations, services = export_records(session)
    summary = quality_summary(services, date.today())
    for line in summary.lines():
        print(line)
    return 0


def cmd_find(args) -> int:
    kb = KnowledgeBase(args.database)
    result = kb.find(args.age, args.need, args.place, record_unmet=False)
    if result.errors:
        for error in result.errors:
            print(f"{error.field}: {error.message}")
        return 1
    place = result.place
    where = place.district_name or place.authority_name or place.matched
    print(f"Status: {result.status}; age {result.age:g}; needs {', '.join(result.needs)}; place {where}")
    for match in result.eligible[: args.limit]:
        s = match.service
        print(f"  [{s.tier}] {s.name} ({s.id}): {'; '.join(match.reasons)}")
    if len(result.eligible) > args.limit:
        print(f"  ... {len(result.eligible) - args.limit} more eligible")
    for miss in result.near_misses:
        print(f"  not eligible: {miss.service.name}: {miss.why_not}")
    for sp in result.signposts:
        print(f"  signpost: {sp.signpost.name} ({sp.reason})")
    return 0


def cmd_generate_nlu(args) -> int:
    from knowledge.nlu_lookups import write_lookups

    count = write_lookups(KnowledgeBase(args.database).catalogue(), Path(args.out))
    print(f"Wrote {count} lookup entries to {args.out}")
    return 0


def _safe_url(url: str | None) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url or database_url()).render_as_string(hide_password=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m knowledge", description=__doc__)
    parser.add_argument("--database", help="database URL (default: $LOCAL_OFFER_DATABASE_URL or var/local_offer.db)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create or upgrade the database schema").set_defaults(func=cmd_migrate)
    seed = sub.add_parser("seed", help="load the seed files (safe to run again)")
    seed.add_argument("--dir", default=str(SEED_DIR))
    seed.add_argument(
        "--if-empty", action="store_true", help="only load into an empty knowledge base (never overwrite administrators' edits)"
    )
    seed.set_defaults(func=cmd_seed)
    for name, func, help_text in (
        ("validate", cmd_validate, "check a services file and report every problem"),
        ("import", cmd_import, "import a services file (all or nothing)"),
        ("export", cmd_export, "export all services (FILE or - for standard output)"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("file")
        p.add_argument("--format", choices=("json", "yaml", "csv"))
        if name == "import":
            p.add_argument(
                "--dry-run", action="store_true", help="say what would be added and changed, field by field; write nothing"
            )
        if name == "validate":
            p.add_argument("--all", action="store_true", help="list every problem (default: the first 200)")
        p.set_defaults(func=func)
    sync = sub.add_parser("sync", help="create, update and retire services from a live Open Referral UK API")
    sync.add_argument("base_url", help="the API's base URL (the one whose /services lists the services)")
    sync.add_argument("--per-page", type=int, default=100)
    sync.add_argument("--dry-run", action="store_true", help="fetch and check the feed, report what would change, write nothing")
    sync.add_argument("--full", action="store_true", help="read every service again, even those unchanged since")
    sync.set_defaults(func=cmd_sync)
    sub.add_parser("quality", help="data-quality summary of the knowledge base").set_defaults(func=cmd_quality)
    find = sub.add_parser("find", help="what the eligibility engine finds for a family")
    find.add_argument("--age", required=True, help="age in years, e.g. 7 or 1.5")
    find.add_argument("--need", action="append", required=True, help="need code or word (repeatable)")
    find.add_argument("--place", required=True, help="postcode, town, village or district")
    find.add_argument("--limit", type=int, default=10)
    find.set_defaults(func=cmd_find)
    generate = sub.add_parser("generate-nlu", help="write the NLU lookup tables from the knowledge base")
    generate.add_argument("--out", default=str(PROJECT_ROOT / "data" / "nlu" / "generated" / "lookups.yml"))
    generate.set_defaults(func=cmd_generate_nlu)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (FileFormatError, SeedError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OperationalError as error:
        print(f"error: can't use the database {_safe_url(args.database)}: {error.orig}", file=sys.stderr)
        return 2

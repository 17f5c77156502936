"""Import preview benchmark: preview and apply of a large file, as the /admin/import page does them.

On a SQLite knowledge base holding the sample Local Offer, a generated Open Referral UK file of
N services (default 5,000, from tests/oruk_feed.py) is previewed (checked, planned, digested and
packed for the Apply form) and applied; then the same file with one service changed is previewed
and applied again. Prints the times and the size of the file the preview page carries.

    .venv/bin/python benchmarks/import_preview_bench.py [--services 5000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from knowledge.db import make_engine, make_session_factory  # noqa: E402
from knowledge.import_preview import apply_file, preview_file  # noqa: E402
from knowledge.schema import migrate  # noqa: E402
from knowledge.seed import load_seed  # noqa: E402
from tests.oruk_feed import generated_services  # noqa: E402


def timed(what: str, action):
    start = time.perf_counter()
    result = action()
    print(f"  {what}: {time.perf_counter() - start:.2f} s")
    return result


def preview_and_apply(sessions, name: str, content: bytes) -> None:
    def preview():
        with sessions() as session:
            shown = preview_file(session, name, content)
            session.rollback()
            return shown

    shown = timed("preview (check, plan, digest, pack)", preview)
    plan = shown.plan
    print(
        f"  plan: add {len(plan.services_added)}, change {len(plan.services_changed)}, "
        f"unchanged {len(plan.services_unchanged)}, not in the file {len(plan.absent)}"
    )
    print(f"  file {len(content) / 1e6:.1f} MB, carried by the page as {len(shown.packed) / 1e6:.2f} MB")

    def apply():
        with sessions.begin() as session:
            return apply_file(session, "bench", name, content, "", shown.digest)

    applied = timed("apply (plan again, compare digest, import, audit)", apply)
    print(f"  applied: {len(applied.report.created)} created, {len(applied.report.updated)} updated")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=5000)
    args = parser.parse_args()
    engine = make_engine(f"sqlite:///{tempfile.mkdtemp(prefix='import-preview-bench-')}/bench.db")
    migrate(engine)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        load_seed(session)
    services = generated_services(args.services)
    print(f"First import of {args.services} services into the sample Local Offer (SQLite):")
    preview_and_apply(sessions, "feed.json", json.dumps(services).encode())
    services[args.services // 2]["name"] += " (renamed)"
    print("The same file with one service renamed:")
    preview_and_apply(sessions, "feed.json", json.dumps(services).encode())
    engine.dispose()


if __name__ == "__main__":
    main()

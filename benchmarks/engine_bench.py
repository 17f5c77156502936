"""Eligibility engine benchmark: p50/p95/p99 query time at 10,000 and 100,000 synthetic services.

Runs on SQLite (a temporary file) and on the PostgreSQL at 127.0.0.1:5432 (a
temporary schema in database `test`). The seed's real vocabulary, places and
signposts are loaded; the services are synthetic, spread over every area, need,
tier and age range. Each query is what the assistant does per answer: check the
data version, evaluate (age, needs, place), and fetch the details of the first
five services shown.

    .venv/bin/python benchmarks/engine_bench.py [--sizes 10000 100000] [--backends sqlite postgresql]

Target (issue 2): p95 under 5 ms at 10,000 services on SQLite.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text  # noqa: E402

from knowledge import models as m  # noqa: E402
from knowledge.catalogue import bump_version  # noqa: E402
from knowledge.db import make_engine, make_session_factory  # noqa: E402
from knowledge.kb import KnowledgeBase  # noqa: E402
from knowledge.schema import migrate  # noqa: E402
from knowledge.seed import SEED_DIR, load_needs, load_places, load_signposts  # noqa: E402
from knowledge.vocabulary import ACCESS_ROUTES, ANY_NEED, CATEGORIES, ENGLAND_GSS, NEED_CODES, TIERS  # noqa: E402

PG_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
AGE_RANGES = [(0, 5), (0, 2), (2, 4), (4, 11), (5, 11), (11, 16), (11, 18), (14, 25), (16, 25), (18, 25), (0, 25), (0, 1.5)]
QUERY_PLACES = [
    "PO9 1AB",
    "Havant",
    "Fleet",
    "SO16 3AB",
    "Southsea",
    "Andover",
    "Lymington",
    "Alton",
    "RG21 7LJ",
    "Gosport",
    "Eastleigh",
    "Fareham",
    "Winchester",
    "Farnborough",
]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def synthesise(engine, count: int, rng: random.Random) -> None:
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        load_needs(session, SEED_DIR / "needs.yaml")
        load_places(session, SEED_DIR)
        session.flush()
        load_signposts(session, SEED_DIR / "signposts.yaml")
        districts = [d for (d,) in session.execute(text("SELECT gss_code FROM district"))]
    areas = districts * 6 + ["E10000014"] * 4 + [ENGLAND_GSS]
    tags = list(NEED_CODES) + [ANY_NEED]
    orgs = [{"id": f"org-bench-{i}", "name": f"Bench organisation {i}", "description": "", "is_sample": True} for i in range(200)]
    services, service_areas, attributes = [], [], []
    for i in range(count):
        sid = f"svc-bench-{i}"
        low, high = rng.choice(AGE_RANGES)
        services.append(
            {
                "id": sid,
                "organization_id": f"org-bench-{i % 200}",
                "name": f"Bench service {i}",
                "description": "Synthetic service for the benchmark.",
                "status": "active" if rng.random() > 0.03 else "inactive",
                "category": rng.choice(list(CATEGORIES)),
                "tier": rng.choice(list(TIERS)),
                "access_route": rng.choice(list(ACCESS_ROUTES)),
                "referrers": [],
                "diagnosis_required": rng.random() < 0.1,
                "minimum_age": low,
                "maximum_age": high,
                "review_interval_days": 365,
                "is_sample": True,
                "version": 1,
            }
        )
        for code in rng.sample(areas, rng.choice([1, 1, 1, 2])):
            service_areas.append({"service_id": sid, "gss_code": code, "name": code})
        for tag in set(rng.sample(tags, rng.choice([1, 2, 3]))):
            attributes.append({"service_id": sid, "taxonomy_term_id": f"{m.NEEDS_TAXONOMY}:{tag}"})
    with sessions.begin() as session:
        session.execute(insert(m.Organization), orgs)
        for start in range(0, count, 5000):
            session.execute(insert(m.Service), services[start : start + 5000])
        session.execute(insert(m.ServiceArea), service_areas)
        session.execute(insert(m.Attribute), attributes)
        bump_version(session)


def run(backend: str, count: int, queries: int, seed: int) -> dict:
    rng = random.Random(seed)
    schema = None
    if backend == "sqlite":
        tmp = tempfile.mkdtemp(prefix="kb-bench-")
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
    else:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        admin = make_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        engine = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"}, executemany_mode="values_only")
    try:
        migrate(engine)
        started = time.perf_counter()
        synthesise(engine, count, rng)
        load_seconds = time.perf_counter() - started
        kb = KnowledgeBase(engine=engine)
        started = time.perf_counter()
        kb.catalogue()
        snapshot_seconds = time.perf_counter() - started
        find_ms, page_ms, eligible_counts = [], [], []
        for _ in range(queries):
            age = rng.choice([0.5, 1.5, 3, 4, 6, 9, 12, 15, 17, 19, 23])
            needs = rng.sample(NEED_CODES, rng.choice([1, 1, 2, 3]))
            place = rng.choice(QUERY_PLACES)
            t0 = time.perf_counter()
            result = kb.find(age, needs, place, record_unmet=False)
            t1 = time.perf_counter()
            kb.details([mt.service.id for mt in result.eligible[:5]])
            t2 = time.perf_counter()
            find_ms.append((t1 - t0) * 1000)
            page_ms.append((t2 - t0) * 1000)
            eligible_counts.append(len(result.eligible))
        return {
            "backend": backend,
            "services": count,
            "insert_s": load_seconds,
            "snapshot_s": snapshot_seconds,
            "find": find_ms,
            "page": page_ms,
            "eligible_median": statistics.median(eligible_counts),
        }
    finally:
        engine.dispose()
        if schema:
            admin = make_engine(PG_URL)
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"])
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    header = ("backend", "services", "find p50", "p95", "p99", "+details p50", "p95", "snapshot", "eligible")
    widths = (-11, 9, 10, 8, 8, 14, 8, 10, 10)
    print("".join(f"{h:<{-w}}" if w < 0 else f"{h:>{w}}" for h, w in zip(header, widths, strict=True)))
    for backend in args.backends:
        for size in args.sizes:
            r = run(backend, size, args.queries, args.seed)
            print(
                f"{backend:<11}{size:>9}"
                f"{statistics.median(r['find']):>8.2f}ms{percentile(r['find'], 95):>6.2f}ms{percentile(r['find'], 99):>6.2f}ms"
                f"{statistics.median(r['page']):>12.2f}ms{percentile(r['page'], 95):>6.2f}ms"
                f"{r['snapshot_s']:>9.2f}s{r['eligible_median']:>10.0f}",
                flush=True,
            )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (whole run): {peak_mb:.0f} MB")
    print("find = data-version check + eligibility evaluation; +details = also fetching the first 5 services shown")
    print("target: find p95 < 5 ms at 10,000 services on SQLite")


if __name__ == "__main__":
    main()

"""Open Referral UK benchmark: the read API and the sync.

- `GET /openreferral/services?per_page=50`, and the same filtered by a need
  (`taxonomy_term_id=local-offer-needs:autism`): random pages, p50/p95 through a real HTTP server, on
  synthetic knowledge bases of 10,000 (and 100,000) services, SQLite and PostgreSQL. Also shown: the
  first request (it builds the cached list of ids, as the first request after any change to the data
  does) and the p95 of requests for a page not asked for before (its items not yet cached);
- a sync of 5,000 services from a generated feed served over HTTP (per_page 100, every 4th list item
  partial, so 1,250 detail fetches), then a second sync with nothing changed.

    .venv/bin/python benchmarks/oruk_bench.py                     # 10,000 services and the sync, on SQLite (about 2 minutes)
    .venv/bin/python benchmarks/oruk_bench.py --services 10000 100000 --database sqlite postgresql [--feed 5000] [--requests 300]

Targets (issue 10): p95 under 20 ms at 10,000 services on SQLite; first sync of 5,000 under 60 s;
a no-change sync under 10 s with no audit entry. The machine's load average is printed first: on a
shared machine, figures rise with it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from benchmarks.engine_bench import PG_URL, percentile, synthesise  # noqa: E402
from bot.app import create_app  # noqa: E402
from bot.config import Settings  # noqa: E402
from knowledge import models as m  # noqa: E402
from knowledge.db import make_engine, make_session_factory  # noqa: E402
from knowledge.kb import KnowledgeBase  # noqa: E402
from knowledge.schema import migrate  # noqa: E402
from knowledge.seed import SEED_DIR, load_needs, load_places  # noqa: E402
from knowledge.sync import sync  # noqa: E402
from tests.oruk_feed import FeedServer, feed_app, generated_services  # noqa: E402


def database(backend: str):
    """(engine, cleanup) for an empty, migrated database."""
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tempfile.mkdtemp(prefix='oruk-bench-')}/bench.db")
        schema = None
    else:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        admin = make_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        engine = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"}, executemany_mode="values_only")
    migrate(engine)

    def cleanup() -> None:
        engine.dispose()
        if schema:
            admin = make_engine(PG_URL)
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()

    return engine, cleanup


QUERIES = {
    "/services?per_page=50": "",
    "/services?per_page=50&taxonomy_term_id=local-offer-needs:autism": "&taxonomy_term_id=local-offer-needs:autism",
}


async def _timed_get(http: aiohttp.ClientSession, url: str) -> tuple[float, dict]:
    started = time.perf_counter()
    async with http.get(url) as response:
        body = await response.json()
    assert response.status == 200, (response.status, body)
    return (time.perf_counter() - started) * 1000, body


async def api_latencies(kb: KnowledgeBase, requests: int, rng: random.Random) -> dict[str, dict]:
    """Per query: the first request (it builds the cached list, as after every change to the data), then
    `requests` random pages, and of those the ones asking for a page for the first time."""
    settings = Settings(secret_key="bench", cookie_secure=False, oruk_burst=10**9, oruk_per_minute=10**9)
    runner = web.AppRunner(create_app(settings, kb), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/openreferral"
    results = {}
    async with aiohttp.ClientSession() as http:
        for _ in range(5):  # open the connection
            await _timed_get(http, base + "/")
        for label, extra in QUERIES.items():
            first, body = await _timed_get(http, f"{base}/services?per_page=50{extra}")
            pages, seen, times, new_page_times = body["total_pages"], {1}, [], []
            for _ in range(requests):
                number = rng.randint(1, pages)
                elapsed, body = await _timed_get(http, f"{base}/services?per_page=50&page={number}{extra}")
                assert body["size"] == (50 if number < pages else body["total_items"] - 50 * (pages - 1)), body["size"]
                times.append(elapsed)
                if number not in seen:
                    new_page_times.append(elapsed)
                    seen.add(number)
            results[label] = {"first": first, "times": times, "new_pages": new_page_times, "total": body["total_items"]}
    await runner.cleanup()
    return results


def bench_api(backend: str, count: int, requests: int) -> None:
    engine, cleanup = database(backend)
    try:
        started = time.perf_counter()
        synthesise(engine, count, random.Random(7))
        load = time.perf_counter() - started
        kb = KnowledgeBase(engine=engine)
        results = asyncio.run(api_latencies(kb, requests, random.Random(11)))
        print(f"{backend} with {count} services (data loaded in {load:.0f} s), {requests} requests of random pages each:")
        for label, r in results.items():
            times, fresh = r["times"], r["new_pages"]
            print(
                f"  {label:66} p50 {percentile(times, 50):5.1f} ms  p95 {percentile(times, 95):5.1f} ms  "
                f"(pages asked for the first time: p95 {percentile(fresh, 95) if fresh else 0:5.1f} ms of {len(fresh)}; "
                f"first request {r['first']:.0f} ms; {r['total']} services)"
            )
    finally:
        cleanup()


def bench_sync(backend: str, size: int) -> None:
    engine, cleanup = database(backend)
    server = FeedServer(feed_app(generated_services(size, seed="bench")))
    try:
        sessions = make_session_factory(engine)
        with sessions.begin() as session:
            load_needs(session, SEED_DIR / "needs.yaml")
            load_places(session, SEED_DIR)
        started = time.perf_counter()
        first = sync(sessions, server.url, per_page=100)
        first_s = time.perf_counter() - started
        with sessions() as session:
            audits = session.execute(select(func.count()).select_from(m.AuditEntry)).scalar_one()
        started = time.perf_counter()
        second = sync(sessions, server.url, per_page=100)
        second_s = time.perf_counter() - started
        with sessions() as session:
            new_audits = session.execute(select(func.count()).select_from(m.AuditEntry)).scalar_one() - audits
        print(
            f"{backend:10} sync of {size} services: first {first_s:5.1f} s ({len(first.added)} added, "
            f"{first.pages} pages, {first.details_fetched} detail fetches); "
            f"no-change sync {second_s:5.1f} s ({len(second.changed)} changed, {new_audits} audit entries)"
        )
    finally:
        server.close()
        cleanup()


def main() -> None:
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", "--services", type=int, nargs="+", default=[10_000])
    parser.add_argument("--backends", "--database", nargs="+", default=["sqlite"], choices=["sqlite", "postgresql"])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--feed", type=int, default=5000, help="services in the sync benchmark's feed (0 to skip)")
    args = parser.parse_args()
    for backend in args.backends:
        for count in args.sizes:
            bench_api(backend, count, args.requests)
        if args.feed:
            bench_sync(backend, args.feed)


if __name__ == "__main__":
    main()

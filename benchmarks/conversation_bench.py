"""Conversation benchmark: simulated parents over the REST channel, against a plain `rasa init` baseline.

Starts, in one run, this assistant (trained model + action server, seeded SQLite knowledge
base) and a plain `rasa init` assistant (trained once into var/bench/), and for each prints:
  (a) open loop: conversations arriving at a steady rate, think time between a parent's
      messages, offered load --rate turns/s: turn latency p50/p95/p99 and errors;
  (b) closed loop: --parents parents with no think time: turns per second at saturation;
  (c) peak memory (VmHWM) of each server process.
then the ratios to the baseline.

    .venv/bin/python benchmarks/conversation_bench.py [--rate 10] [--open-seconds 60] [--parents 20] [--closed-seconds 30]

Targets (issue 3): p95 under 150 ms at 10 turns/s offered; saturation throughput at least 0.7 x baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.stack import BIN, LocalStack, free_port, stop, wait_until_ready  # noqa: E402

BENCH_DIR = ROOT / "var" / "bench"

PARENT_CONVERSATIONS = [
    ["hello", "I need help for my son", "he's 7", "he's autistic", "we live in Havant", "show me more", "thanks, bye"],
    ["my daughter is 4 and not talking much yet, we're in PO16", "show more", "why these?", "thank you"],
    ["hi", "my lad's in year 9, adhd and really anxious", "Basingstoke", "can I talk to a person", "bye"],
    ["looking for support", "she's 15", "she won't go to school", "SO16 3AB", "what is an EHCP?", "ta"],
    ["my 9 year old has dyslexia, we live in Reading", "sorry, we're in Fleet", "more please", "goodbye"],
    ["my son is 2 and a half, we're not sure what's wrong yet", "Gosport", "what's a senco", "cheers"],
]
BASELINE_CONVERSATIONS = [
    ["hello", "I'm feeling sad", "yes", "bye"],
    ["hi there", "I am great", "goodbye"],
    ["good morning", "very unhappy", "no", "are you a bot?", "bye"],
]


def peak_memory_mb(pid: int) -> float:
    """VmHWM (peak resident memory) of a process and its children."""
    total = 0.0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


@dataclass
class Server:
    name: str
    url: str
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    close: object = None

    def memory(self) -> dict[str, float]:
        return {label: peak_memory_mb(p.pid) for label, p in self.processes.items()}

    def stop(self) -> None:
        if callable(self.close):
            self.close()
        for process in self.processes.values():
            stop(process)


def start_ours(work: Path, model: Path) -> Server:
    stack = LocalStack(work, model)
    return Server("this assistant", stack.url, stack.processes(), stack.close)


def start_baseline(work: Path, model: Path | None = None) -> Server:
    """A plain `rasa init` assistant (trained once, kept in var/bench/baseline), REST channel on."""
    project = BENCH_DIR / "baseline"
    if not list((project / "models").glob("*.tar.gz")):
        shutil.rmtree(project, ignore_errors=True)
        project.mkdir(parents=True)
        print("Training the `rasa init` baseline (once)...", flush=True)
        subprocess.run([str(BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(project)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    model = sorted((project / "models").glob("*.tar.gz"))[-1]  # its own model, not ours
    port = free_port()
    server = Server("rasa init baseline", url=f"http://127.0.0.1:{port}")
    server.processes["rasa server"] = subprocess.Popen(
        [str(BIN / "rasa"), "run", "--model", str(model), "--credentials", str(project / "credentials.yml"),
         "-i", "127.0.0.1", "-p", str(port)],
        cwd=project, stdout=open(work / "baseline.log", "wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    wait_until_ready(server.url, server.processes["rasa server"])
    return server


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    turns: int = 0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] * 1000


async def turn(session: aiohttp.ClientSession, url: str, sender: str, text: str, results: Results) -> None:
    start = time.perf_counter()
    try:
        async with session.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text}) as response:
            body = await response.json()
            ok = response.status == 200 and isinstance(body, list) and len(body) > 0
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
        ok = False
    results.latencies.append(time.perf_counter() - start)
    results.turns += 1
    results.errors += not ok


async def open_loop(url: str, conversations: list[list[str]], rate: float, seconds: float, think: float) -> Results:
    """Conversations start at a steady rate so that the offered load is `rate` turns per second."""
    results = Results()
    mean_turns = statistics.mean(len(c) for c in conversations)
    interval = mean_turns / rate
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=0)) as session:

        async def parent(script: list[str]) -> None:
            sender = f"bench-{uuid.uuid4().hex[:12]}"
            for i, text in enumerate(script):
                if i:
                    await asyncio.sleep(think)
                await turn(session, url, sender, text, results)

        tasks = []
        start = time.monotonic()
        for n, script in enumerate(itertools.cycle(conversations)):
            when = start + n * interval
            if when - start >= seconds:
                break
            await asyncio.sleep(max(0.0, when - time.monotonic()))
            tasks.append(asyncio.create_task(parent(script)))
        await asyncio.gather(*tasks)
    return results


async def closed_loop(url: str, conversations: list[list[str]], parents: int, seconds: float) -> tuple[Results, float]:
    results = Results()
    stop_at = time.monotonic() + seconds
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=0)) as session:

        async def parent(offset: int) -> None:
            for script in itertools.islice(itertools.cycle(conversations), offset, None):
                sender = f"bench-{uuid.uuid4().hex[:12]}"
                for text in script:
                    if time.monotonic() >= stop_at:
                        return
                    await turn(session, url, sender, text, results)

        started = time.monotonic()
        await asyncio.gather(*(parent(i) for i in range(parents)))
        elapsed = time.monotonic() - started
    return results, results.turns / elapsed


def measure(server: Server, conversations, args) -> dict:
    asyncio.run(closed_loop(server.url, conversations, 2, 5))  # warm-up
    single = asyncio.run(closed_loop(server.url, conversations, 1, 10))[0]
    opened = asyncio.run(open_loop(server.url, conversations, args.rate, args.open_seconds, args.think))
    closed, throughput = asyncio.run(closed_loop(server.url, conversations, args.parents, args.closed_seconds))
    figures = {
        "one parent p50 ms": single.percentile(50),
        "open p50 ms": opened.percentile(50),
        "open p95 ms": opened.percentile(95),
        "open p99 ms": opened.percentile(99),
        "open turns": opened.turns,
        "open errors": opened.errors,
        "closed turns/s": throughput,
        "closed p95 ms": closed.percentile(95),
        "closed errors": closed.errors,
    }
    figures.update({f"peak MB {label}": mb for label, mb in server.memory().items()})
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=10.0, help="offered load, turns per second (open loop)")
    parser.add_argument("--open-seconds", type=float, default=60.0)
    parser.add_argument("--think", type=float, default=3.0, help="seconds between a parent's messages (open loop)")
    parser.add_argument("--parents", type=int, default=20, help="parents with no think time (closed loop)")
    parser.add_argument("--closed-seconds", type=float, default=30.0)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "local-offer.tar.gz")
    parser.add_argument("--only", choices=["ours", "baseline"], help="measure one assistant only (for experiments)")
    args = parser.parse_args()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    work = BENCH_DIR / f"run-{uuid.uuid4().hex[:6]}"
    work.mkdir()
    results = {}
    for name, start, conversations in (
        ("baseline", start_baseline, BASELINE_CONVERSATIONS),
        ("ours", start_ours, PARENT_CONVERSATIONS),
    ):
        if args.only and name != args.only:
            continue
        server = start(work, args.model)
        try:
            print(f"Measuring {server.name}...", flush=True)
            results[name] = measure(server, conversations, args)
        finally:
            server.stop()
    if args.only:
        for key, value in results[args.only].items():
            print(f"{key:<28}{value:>12.1f}")
        return 0
    print(f"\nOffered load {args.rate} turns/s for {args.open_seconds:.0f} s, think time {args.think} s; "
          f"closed loop {args.parents} parents for {args.closed_seconds:.0f} s\n")  # fmt: skip
    keys = list(dict.fromkeys([*results["ours"], *results["baseline"]]))
    print(f"{'figure':<28}{'this assistant':>16}{'rasa init':>12}{'ratio':>8}")
    for key in keys:
        ours, base = results["ours"].get(key, float("nan")), results["baseline"].get(key, float("nan"))
        ratio = ours / base if base else float("nan")
        print(f"{key:<28}{ours:>16.1f}{base:>12.1f}{ratio:>8.2f}")
    p95_ok = results["ours"]["open p95 ms"] < 150
    ratio_ok = results["ours"]["closed turns/s"] >= 0.7 * results["baseline"]["closed turns/s"]
    print(f"\nTarget p95 < 150 ms at {args.rate} turns/s: {'met' if p95_ok else 'NOT met'}")
    print(f"Target throughput >= 0.7 x baseline: {'met' if ratio_ok else 'NOT met'}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

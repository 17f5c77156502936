"""Run the scripted multi-turn conversations (tests/conversations/*.yml) against a freshly started assistant.

Starts a LocalStack (seeded SQLite knowledge base, action server, Rasa server with the trained model), runs
every conversation over the REST channel, reads the tracker over the HTTP API, and prints the share that
reach the right outcome, by category, with the failing transcripts. Exit status 1 below the target.

    .venv/bin/python -m tests.conversations.evaluate [--model models/local-offer.tar.gz] [--only ID-or-category]
    .venv/bin/python -m tests.conversations.evaluate --url http://127.0.0.1:5005   # an assistant already running (scripts/run)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from pathlib import Path

from scripts.stack import LocalStack
from tests.conversations.runner import TARGET, WORKERS, evaluate, report, share
from tests.conversations.spec import load

ROOT = Path(__file__).resolve().parent.parent.parent


class RunningAssistant:
    """An assistant someone else started: its REST channel and HTTP API at `url` (token for the API)."""

    def __init__(self, url: str, api_token: str | None) -> None:
        self.url = url.rstrip("/")
        self.api_token = api_token

    say = LocalStack.say
    tracker = LocalStack.tracker


def run_on_a_new_stack(model: Path, conversations, workers: int):
    with tempfile.TemporaryDirectory(prefix="conversation-eval-") as work:
        print(f"Starting the assistant with {model} ...", flush=True)
        stack = LocalStack(Path(work), model, api_token="eval-" + uuid.uuid4().hex[:12])
        try:
            return evaluate(stack, conversations, workers)
        finally:
            stack.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "local-offer.tar.gz")
    parser.add_argument("--only", help="run only conversations whose id or category contains this")
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument("--no-transcripts", action="store_true", help="list failures without their transcripts")
    parser.add_argument("--url", help="use the Rasa server already running at this address instead of starting one")
    parser.add_argument(
        "--token-file", type=Path, default=ROOT / "var" / "rasa_api_token", help="its HTTP API token (with --url)"
    )
    args = parser.parse_args(argv)
    conversations = [c for c in load() if not args.only or args.only in c.id or args.only in c.category]
    if not conversations:
        raise SystemExit("No conversations match.")
    if args.url:
        token = args.token_file.read_text().strip() if args.token_file.exists() else None
        verdicts, seconds = evaluate(RunningAssistant(args.url, token), conversations, args.workers)
    else:
        verdicts, seconds = run_on_a_new_stack(args.model, conversations, args.workers)
    print(report(verdicts, seconds, transcripts=not args.no_transcripts))
    return 0 if share(verdicts) >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())

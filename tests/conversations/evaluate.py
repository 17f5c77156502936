"""Run the scripted multi-turn conversations (tests/conversations/*.yml) against a freshly started assistant.

Starts a LocalStack (seeded SQLite knowledge base, action server, Rasa server with the trained model), runs
every conversation over the REST channel, reads the tracker over the HTTP API, and prints the share that
reach the right outcome, by category, with the failing transcripts. Exit status 1 below the target.

    .venv/bin/python -m tests.conversations.evaluate [--model models/local-offer.tar.gz] [--only ID-or-category]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from pathlib import Path

from tests.conversations.runner import TARGET, WORKERS, evaluate, report, share
from tests.conversations.spec import load

ROOT = Path(__file__).resolve().parent.parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "local-offer.tar.gz")
    parser.add_argument("--only", help="run only conversations whose id or category contains this")
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument("--no-transcripts", action="store_true", help="list failures without their transcripts")
    args = parser.parse_args(argv)
    conversations = [c for c in load() if not args.only or args.only in c.id or args.only in c.category]
    if not conversations:
        raise SystemExit("No conversations match.")
    from scripts.stack import LocalStack

    with tempfile.TemporaryDirectory(prefix="conversation-eval-") as work:
        print(f"Starting the assistant with {args.model} ...", flush=True)
        stack = LocalStack(Path(work), args.model, api_token="eval-" + uuid.uuid4().hex[:12])
        try:
            verdicts, seconds = evaluate(stack, conversations, args.workers)
        finally:
            stack.close()
    print(report(verdicts, seconds, transcripts=not args.no_transcripts))
    return 0 if share(verdicts) >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())

"""Wait until every URL given answers 200 (or give up after --timeout seconds, exit 1)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.stack import wait_until_ready  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    try:
        for url in args.urls:
            wait_until_ready(url, timeout=args.timeout)
    except TimeoutError:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

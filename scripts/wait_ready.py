"""Wait until every URL given answers 200 (or give up after --timeout seconds, exit 1)."""

from __future__ import annotations

import argparse
import sys
import time
import urllib.error
import urllib.request


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    deadline = time.monotonic() + args.timeout
    waiting = list(args.urls)
    while waiting and time.monotonic() < deadline:
        waiting = [url for url in waiting if not ready(url)]
        if waiting:
            time.sleep(0.5)
    return 1 if waiting else 0


if __name__ == "__main__":
    sys.exit(main())

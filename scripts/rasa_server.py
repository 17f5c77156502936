"""Start `rasa run` with the HTTP API's token kept off the command line (where any local user sees it in `ps`).

    RASA_AUTH_TOKEN=... python scripts/rasa_server.py --model ... --enable-api [other `rasa run` options]

The token comes from $RASA_AUTH_TOKEN (or the file named by $RASA_AUTH_TOKEN_FILE) and is handed to
Rasa's own command-line entry point inside this process: the process's command line, which `ps`
shows, never holds it. Files Rasa creates (the SQLite tracker store, logs) are private (umask 077).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def read_token() -> str | None:
    token = os.environ.get("RASA_AUTH_TOKEN", "").strip()
    if not token and os.environ.get("RASA_AUTH_TOKEN_FILE"):
        token = Path(os.environ["RASA_AUTH_TOKEN_FILE"]).read_text().strip()
    return token or None


def main(argv: list[str] | None = None) -> None:
    os.umask(0o077)
    args = list(sys.argv[1:] if argv is None else argv)
    if "--auth-token" in args:
        raise SystemExit("Pass the token in $RASA_AUTH_TOKEN or $RASA_AUTH_TOKEN_FILE, not on the command line.")
    token = read_token()
    if "--enable-api" in args and not token:
        raise SystemExit("Set RASA_AUTH_TOKEN (or RASA_AUTH_TOKEN_FILE): the HTTP API is never open without a token.")
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", "run", *args, *(["--auth-token", token] if token else [])]
    rasa_main()


if __name__ == "__main__":
    main()

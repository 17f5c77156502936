"""Start the action server so that only Rasa can use it: every request except /health must carry the
shared secret in the X-Action-Secret header (endpoints.yml sends it from $LOCAL_OFFER_ACTION_SECRET).

    LOCAL_OFFER_ACTION_SECRET=... python scripts/action_server.py --port 5055

rasa_sdk's own server (`python -m rasa_sdk`) has no authentication: any local process could call
the actions and, for example, add made-up unmet searches to the gap report. The secret comes from
the environment (or the file named by $LOCAL_OFFER_ACTION_SECRET_FILE), never the command line.
Files are created private (umask 077). Listens on 127.0.0.1 unless $SANIC_HOST says otherwise.
"""

from __future__ import annotations

import argparse
import hmac
import logging
import os
import sys
from pathlib import Path

SECRET_HEADER = "X-Action-Secret"
SECRET_VARIABLE = "LOCAL_OFFER_ACTION_SECRET"
OPEN_PATHS = {"/health"}


def read_secret(variable: str) -> str:
    """A secret from $VARIABLE, or from the file named by $VARIABLE_FILE; refuses to start without one."""
    value = os.environ.get(variable, "").strip()
    if not value and os.environ.get(variable + "_FILE"):
        value = Path(os.environ[variable + "_FILE"]).read_text().strip()
    if not value:
        raise SystemExit(f"Set {variable} (or {variable}_FILE): the shared secret Rasa sends to the action server.")
    return value


def require_secret(app, secret: str) -> None:
    """Refuse (401) every request but /health that lacks the shared secret."""
    from sanic import response

    expected = secret.encode()

    @app.on_request
    async def check_secret(request):
        if request.path in OPEN_PATHS:
            return None
        given = (request.headers.get(SECRET_HEADER) or "").encode()
        if not hmac.compare_digest(given, expected):
            return response.json({"error": "This server only answers the assistant."}, status=401)
        return None


def main(argv: list[str] | None = None) -> int:
    os.umask(0o077)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--actions", default="actions")
    args = parser.parse_args(argv)
    secret = read_secret(SECRET_VARIABLE)

    from rasa_sdk import utils
    from rasa_sdk.endpoint import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    utils.update_sanic_log_level()
    app = create_app(args.actions, cors_origins=None)
    require_secret(app, secret)
    host = os.environ.get("SANIC_HOST", "127.0.0.1")
    app.run(host, args.port, workers=utils.number_of_sanic_workers(), access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())

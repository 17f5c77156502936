"""A generated Open Referral UK feed served by a real local aiohttp server (for the sync tests and benchmark).

The feed looks like a real council directory: UUID-style ids, ages such as 0 to 99,
its own taxonomy, services areas in words, some list items without their nested parts.
`fail_from_page` makes the server answer 500 from that page on (a feed failing half-way); a test may
change `app["fail_from_page"]` while the server runs.
"""

from __future__ import annotations

import asyncio
import threading
import uuid

from aiohttp import web

from knowledge.oruk import page

ORG_ID = "3d2f9c55-0d63-4c55-9f37-1b1b1c1d0001"


def generated_services(count: int, seed: str = "feed") -> list[dict]:
    services = []
    for n in range(count):
        sid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{seed}/{n}"))
        services.append(
            {
                "id": sid,
                "organization_id": ORG_ID,
                "name": f"Community service {n}",
                "description": f"Activities and support, number {n}.",
                "status": "active",
                "url": f"https://directory.example.org/services/{n}",
                "minimum_age": n % 10,
                "maximum_age": 99 if n % 7 == 0 else 18,
                "organization": {"id": ORG_ID, "name": "Example Borough Council", "description": "A council."},
                "contacts": [{"id": f"{sid}-c", "name": "Duty desk", "phones": [{"id": f"{sid}-p", "number": "023 8000 0000"}]}],
                "service_areas": [{"id": f"{sid}-a", "name": "Havant"}],
                "attributes": [
                    {
                        "id": f"{sid}-t",
                        "taxonomy_term": {"id": f"esd-{n % 3}", "name": f"Service type {n % 3}", "taxonomy": "esd"},
                    }
                ],
                "service_at_locations": [
                    {
                        "id": f"{sid}-sal",
                        "location": {
                            "id": f"{sid}-l",
                            "location_type": "physical",
                            "name": "Community centre",
                            "addresses": [
                                {"id": f"{sid}-ad", "address_1": "1 High Street", "city": "Havant", "postal_code": "PO9 1AB"}
                            ],
                        },
                    }
                ],
            }
        )
    return services


def feed_app(services: list[dict], *, fail_from_page: int | None = None, partial_every: int = 4) -> web.Application:
    """/services (paged, every `partial_every`-th item without its nested parts) and /services/{id}."""
    by_id = {s["id"]: s for s in services}

    async def listing(request: web.Request) -> web.Response:
        number = int(request.query.get("page", 1))
        size = int(request.query.get("per_page", 50))
        failing = request.app["fail_from_page"]
        if failing is not None and number >= failing:
            return web.Response(status=500, text="database unavailable")
        chosen = services[(number - 1) * size : number * size]
        items = [
            {k: v for k, v in s.items() if k not in ("contacts", "attributes", "service_at_locations")}
            if partial_every and i % partial_every == 0
            else s
            for i, s in enumerate(chosen)
        ]
        return web.json_response(page(items, len(services), number, size))

    async def detail(request: web.Request) -> web.Response:
        found = by_id.get(request.match_info["id"])
        return web.json_response(found) if found else web.json_response({"error": "not found"}, status=404)

    app = web.Application()
    app["fail_from_page"] = fail_from_page
    app.router.add_get("/services", listing)
    app.router.add_get("/services/{id}", detail)
    return app


class FeedServer:
    """A real HTTP server on a free port, in a background thread (the sync runs its own event loop)."""

    def __init__(self, app: web.Application) -> None:
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(app, access_log=None)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()

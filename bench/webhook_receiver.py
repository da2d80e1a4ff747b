"""`python -m bench.webhook_receiver --port P`: the benchmark's webhook receiver, a process of its own.

Answers every POST 200 at once and remembers when each arrived (by `webhook-id`, first arrival only);
`GET /stats` returns `{"count": n, "arrivals": {webhook-id: [unix time, payload id]}}`."""

from __future__ import annotations

import argparse
import json
import time

from aiohttp import web

_arrivals: dict[str, list[object]] = {}
_count = 0


async def _receive(request: web.Request) -> web.Response:
    global _count
    body = await request.read()
    _count += 1
    event_id = request.headers.get("webhook-id", "")
    if event_id not in _arrivals:
        try:
            payload_id = json.loads(body).get("id")
        except (ValueError, AttributeError):
            payload_id = None
        _arrivals[event_id] = [time.time(), payload_id]
    return web.Response(status=200)


async def _stats(request: web.Request) -> web.Response:
    return web.json_response({"count": _count, "arrivals": _arrivals})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application()
    app.router.add_post("/{tail:.*}", _receive)
    app.router.add_get("/stats", _stats)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()

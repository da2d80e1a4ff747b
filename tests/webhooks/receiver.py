"""A real HTTP receiver for webhook tests: an aiohttp server on 127.0.0.1 in a thread of its own, recording every
request it gets, answering as each path is told to (fail a number of times, answer 410, be slow)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Behaviour:
    """How a path answers: `statuses` one after the other, then `then` for ever; `delay` seconds before each."""

    statuses: list[int] = field(default_factory=list)
    then: int = 200
    delay: float = 0.0


class Receiver:
    """Records requests; `url(path)` is where to point a destination."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.behaviours: dict[str, Behaviour] = {}
        self.port = 0
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def behave(self, path: str, *statuses: int, then: int = 200, delay: float = 0.0) -> None:
        with self._lock:
            self.behaviours[path] = Behaviour(list(statuses), then, delay)

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def wait_for(
        self,
        count: int,
        path: str | None = None,
        timeout: float = 30.0,
        where: Callable[[Received], bool] | None = None,
    ) -> list[Received]:
        """The requests (of `path`, matching `where`) once there are at least `count`; fails after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                got = [r for r in self.received if (path is None or r.path == path) and (where is None or where(r))]
            if len(got) >= count:
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} requests at {path or 'any path'}, got {len(got)}: {got!r}")
            time.sleep(0.02)

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        with self._lock:
            self.received.append(Received(request.path, dict(request.headers), body, time.time()))
            behaviour = self.behaviours.get(request.path)
            status = 200
            delay = 0.0
            if behaviour is not None:
                status = behaviour.statuses.pop(0) if behaviour.statuses else behaviour.then
                delay = behaviour.delay
        if delay:
            await asyncio.sleep(delay)
        return web.Response(status=status, text=f"answered {status}")

    @contextmanager
    def running(self) -> Iterator[Receiver]:
        started = threading.Event()
        stop: asyncio.Future[None] | None = None

        async def serve() -> None:
            nonlocal stop
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self._handle)
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            self.port = self._runner.addresses[0][1]
            stop = asyncio.get_running_loop().create_future()
            started.set()
            await stop
            await self._runner.cleanup()

        def thread_main() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(serve())
            self._loop.close()

        thread = threading.Thread(target=thread_main, name="webhook-receiver", daemon=True)
        thread.start()
        if not started.wait(10):
            raise RuntimeError("the webhook receiver did not start")
        try:
            yield self
        finally:
            assert self._loop is not None
            assert stop is not None
            self._loop.call_soon_threadsafe(stop.set_result, None)
            thread.join(10)

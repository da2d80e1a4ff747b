"""One HTTP attempt of a webhook delivery: signed POST with a timeout, to a destination checked against the SSRF rules
at every connection (docs/webhooks.md#delivery, #destinations)."""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from segment_service.webhooks.destinations import DestinationRefused, check_address, check_url
from segment_service.webhooks.relay_store import Claimed
from segment_service.webhooks.signing import signature_headers

#: How much of a receiver's answer the delivery log keeps.
EXCERPT_BYTES = 1024
#: Headers the service sets itself; a configured header of the same name is not sent.
_RESERVED = frozenset({"host", "content-length", "content-type", "transfer-encoding", "connection"})


class GuardedResolver(AbstractResolver):
    """The default resolver, refusing every answer with an address the destination rules refuse: a name that
    resolves to a link-local, metadata (or, public-only, private) address is never connected to."""

    def __init__(self, *, public_only: bool) -> None:
        self._resolver = DefaultResolver()
        self._public_only = public_only

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        for result in results:
            check_address(result["host"], public_only=self._public_only)
        return results

    async def close(self) -> None:
        await self._resolver.close()


class Attempt:
    """What an attempt gave: the status code (None when no answer), an excerpt of the answer, an error."""

    __slots__ = ("duration_ms", "error", "excerpt", "started_at", "status_code")

    def __init__(self) -> None:
        self.started_at = datetime.now(UTC)
        self.status_code: int | None = None
        self.excerpt: str | None = None
        self.error: str | None = None
        self.duration_ms = 0.0


class Sender:
    """A keep-alive HTTP client for the relay's deliveries."""

    def __init__(self, *, timeout_seconds: float, public_only: bool, concurrency: int) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._public_only = public_only
        self._concurrency = concurrency
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._concurrency,
                resolver=GuardedResolver(public_only=self._public_only),
                ttl_dns_cache=10,
            )
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=self._timeout, auto_decompress=False, skip_auto_headers=("User-Agent",)
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, delivery: Claimed) -> Attempt:
        """POST the delivery's body once; never raises for anything the destination does."""
        attempt = Attempt()
        start = time.perf_counter()
        body = delivery.body.encode()
        try:
            check_url(delivery.destination_url, public_only=self._public_only)
            headers: dict[str, Any] = {
                name: value for name, value in delivery.headers.items() if name.lower() not in _RESERVED
            }
            signed = signature_headers(
                delivery.secret_key, str(delivery.event_id), delivery.event_type, body, time.time()
            )
            lowered = {name.lower() for name in signed}
            headers = {name: value for name, value in headers.items() if name.lower() not in lowered}
            headers.update(signed)
            headers["Content-Type"] = "application/json"
            headers["User-Agent"] = "segment-service-webhooks"
            async with self._client().post(
                delivery.destination_url, data=body, headers=headers, allow_redirects=False
            ) as response:
                attempt.status_code = response.status
                raw = await response.content.read(EXCERPT_BYTES)
                attempt.excerpt = raw.decode("utf-8", errors="replace") if raw else None
        except DestinationRefused as exc:
            attempt.error = f"destination refused: {exc}"
        except TimeoutError:
            attempt.error = f"no answer within {self._timeout.total:g} s"
        except asyncio.CancelledError:
            raise
        except aiohttp.ClientError as exc:
            cause = exc.__cause__ if isinstance(exc.__cause__, DestinationRefused) else None
            attempt.error = f"destination refused: {cause}" if cause else f"{type(exc).__name__}: {exc}"[:500]
        except (OSError, ValueError) as exc:
            attempt.error = f"{type(exc).__name__}: {exc}"[:500]
        attempt.duration_ms = (time.perf_counter() - start) * 1000
        return attempt

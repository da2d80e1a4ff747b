"""The body of a fast-lane POST (core/fastlane.py): which bodies the lane reads, reading one while keeping every
message taken (a request handed over to the routed handler gets them again), and converting it as the routed handler
converts its `data`."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import msgspec
from litestar._signature.model import _deserializer  # how the routed handler converts `data` (Litestar 2)
from litestar.handlers import HTTPRouteHandler
from litestar.serialization import decode_json
from litestar.types import Receive, ReceiveMessage


def body_decoder(twin: HTTPRouteHandler, body: Any) -> Callable[[bytes], Any]:
    """The body converted as the routed handler converts its `data`: decoded with the route's type decoders, then
    converted to the model by msgspec, not strictly, with the route's deserializer (Litestar's signature model)."""
    type_decoders = twin.resolve_type_decoders()
    dec_hook = partial(_deserializer, default_deserializer=twin.default_deserializer)

    def decode(raw: bytes) -> Any:
        return msgspec.convert(decode_json(raw, type_decoders=type_decoders), body, strict=False, dec_hook=dec_hook)

    return decode


def plain_body(headers: dict[str, str], max_body: int) -> bool:
    """A body the lane reads: its length announced (digits only), not chunked, not empty and within the app's
    limit. Anything else, the routed handler reads (and answers 400 or 413 as it does)."""
    length = headers.get("content-length", "")
    return (
        "transfer-encoding" not in headers
        and length.isdigit()
        and length.isascii()
        and 0 < int(length) <= (max_body or int(length))
    )


async def read_body(receive: Receive, received: list[ReceiveMessage], length: int) -> bytes:
    """The whole body of the announced length; every message taken is kept in `received`, so that a request handed
    over to the routed handler gets them again. Raises on a disconnect or a body of another length."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        received.append(message)
        if message["type"] != "http.request":
            raise ValueError("the client went away before the end of the body")
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > length:
            raise ValueError("a body longer than announced")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    if size != length:
        raise ValueError("a body shorter than announced")
    return b"".join(chunks)


def replay(received: list[ReceiveMessage], receive: Receive) -> Receive:
    """`receive` that first gives the messages the lane has already taken."""
    pending = list(received)

    async def replaying() -> ReceiveMessage:
        if pending:
            return pending.pop(0)
        return await receive()

    return replaying

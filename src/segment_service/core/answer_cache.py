"""The answer cache: storefront answers kept in the process, keyed by the versions of what they were made of.

A cached answer is found by a key that holds everything the answer depends on: the tenant, the kind of answer, the
request's parameters, and the version of each thing it was made from (each segment's version, the catalogue's:
docs/answers.md). Writes never touch the cache. They raise versions in the database, in their own transaction
(answers/reactions.py); the next read asks the database for the current versions (one statement, the read's first)
and so builds a key no stale answer is stored under. Old entries are never hit again and leave as the least recently
used. Nothing is shared between processes, so nothing has to be told about a write: every process, on every host,
sees a committed write's versions at its next read.

Memory is bounded by bytes (the answer's body and headers and an estimate of the key); the least recently used
entries go first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from segment_service.core.db import Connection, Database
    from segment_service.core.dbreplicas import ReadKey

T = TypeVar("T")

#: What an entry costs beyond its body, headers and key as `_key_size` counts them: the ordered dict's slot and link,
#: the entry tuple, the Answer and bytes objects, the key's inner tuples and integers. Measured: bench.answer_memory
#: (docs/performance.md#the-answer-cache) freed 74.9 MB on clearing 12,000 entries that counted 65.1 MB with 240 here.
ENTRY_OVERHEAD = 1056


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer as the routes send it: the encoded body and the extra headers."""

    body: bytes
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, rendered: tuple[bytes, dict[str, str]]) -> Answer:
        """An answer from a body and its headers, as `core.http.list_body` gives them."""
        return cls(rendered[0], tuple(rendered[1].items()))

    def header_dict(self) -> dict[str, str]:
        return dict(self.headers)


@dataclass(frozen=True, slots=True)
class Made(Generic[T]):
    """What a cached read made because it found no answer kept: the result to render, and the key to keep the
    rendered answer under (None: not kept)."""

    result: T
    key: Hashable


async def read_answer(
    db: Database,
    read_key: ReadKey | None,
    read: Callable[[Connection], Awaitable[Answer | Made[T]]],
    render: Callable[[T], Answer],
) -> Answer:
    """The answer `read` finds kept, or what it makes, rendered and kept under its key. `read` runs on the connection
    `Database.read` picks (a replica that has the caller's writes, or the primary), so that the versions a key holds
    and the result it is kept for come from one server."""
    found = await db.read(read_key, read)
    if isinstance(found, Answer):
        return found
    answer = render(found.result)
    if found.key is not None:
        db.answers.put(found.key, answer)
    return answer


@dataclass(frozen=True, slots=True)
class Fragments:
    """Encoded JSON values in order, each one element of a list answer: what several answers are made of (a
    segment's item assignments, shaped as a read asks, joined with other segments' into a page)."""

    parts: tuple[bytes, ...]

    def size(self) -> int:
        return sum(len(part) + 41 for part in self.parts) + 56


#: What the cache keeps.
Cached = Answer | Fragments


def _size(value: Cached) -> int:
    if isinstance(value, Fragments):
        return value.size()
    return len(value.body) + sum(len(k) + len(v) + 100 for k, v in value.headers)


def _key_size(key: Hashable) -> int:
    """An estimate of a key's memory: its texts' lengths plus a slot per element, nested tuples included."""
    if isinstance(key, str | bytes):
        return len(key) + 49
    if isinstance(key, tuple):
        return 40 + sum(8 + _key_size(part) for part in key)
    return 32


@dataclass(slots=True)
class CacheCounts:
    """Hits and misses of one kind of answer."""

    hits: int = 0
    misses: int = 0


@dataclass(slots=True)
class AnswerCache:
    """Answers by key, at most `max_bytes` of them; `max_bytes` 0: nothing is kept (every read is a miss)."""

    max_bytes: int
    entries: OrderedDict[Hashable, tuple[Cached, int]] = field(default_factory=OrderedDict)
    bytes: int = 0
    evictions: int = 0
    counts: dict[str, CacheCounts] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def get(self, kind: str, key: Hashable) -> Cached | None:
        """What is kept under `key`, counted as a hit or a miss of `kind`."""
        counts = self.counts.get(kind)
        if counts is None:
            counts = self.counts[kind] = CacheCounts()
        entry = self.entries.get(key)
        if entry is None:
            counts.misses += 1
            return None
        self.entries.move_to_end(key)
        counts.hits += 1
        return entry[0]

    def kept(self, kind: str, key: Hashable) -> Cached | None:
        """What is kept under `key`, counted as a hit of `kind` when found; nothing is counted otherwise (a look
        before the database is asked, which counts its own miss)."""
        entry = self.entries.get(key)
        if entry is None:
            return None
        self.entries.move_to_end(key)
        counts = self.counts.get(kind)
        if counts is None:
            counts = self.counts[kind] = CacheCounts()
        counts.hits += 1
        return entry[0]

    def missed(self, kind: str) -> None:
        """Count a miss of `kind` (a read that looked with `kept` and found nothing)."""
        counts = self.counts.get(kind)
        if counts is None:
            counts = self.counts[kind] = CacheCounts()
        counts.misses += 1

    def holds(self, key: Hashable) -> bool:
        return key in self.entries

    def answer(self, kind: str, key: Hashable) -> Answer | None:
        """The answer kept under `key` (see `get`)."""
        cached = self.get(kind, key)
        return cached if isinstance(cached, Answer) else None

    def fragments(self, kind: str, key: Hashable) -> Fragments | None:
        """The fragments kept under `key` (see `get`)."""
        cached = self.get(kind, key)
        return cached if isinstance(cached, Fragments) else None

    def put(self, key: Hashable, value: Cached) -> None:
        """Keep `value` under `key`, dropping the least recently used entries beyond the memory bound. A value
        bigger than the whole bound is not kept."""
        size = _size(value) + _key_size(key) + ENTRY_OVERHEAD
        if size > self.max_bytes:
            return
        old = self.entries.pop(key, None)
        if old is not None:
            self.bytes -= old[1]
        self.entries[key] = (value, size)
        self.bytes += size
        while self.bytes > self.max_bytes:
            _, (_, dropped) = self.entries.popitem(last=False)
            self.bytes -= dropped
            self.evictions += 1

    def clear(self) -> None:
        self.entries.clear()
        self.bytes = 0

"""core/answer_cache.py alone: answers by key, bounded by bytes, the least recently used dropped first, an answer
bigger than the bound never kept, hits and misses counted per kind."""

from __future__ import annotations

from collections.abc import Hashable

from hypothesis import given, settings
from hypothesis import strategies as st

from segment_service.core.answer_cache import Answer, AnswerCache, Fragments


def answer(size: int, fill: bytes = b"x") -> Answer:
    return Answer(fill * size, (("X-Total-Count", "1"),))


def cost(key: Hashable, value: Answer | Fragments) -> int:
    """What one entry costs, as the cache counts it."""
    probe = AnswerCache(1 << 30)
    probe.put(key, value)
    return probe.bytes


def test_a_kept_answer_is_a_hit_and_an_unknown_key_a_miss() -> None:
    cache = AnswerCache(1 << 20)
    assert cache.enabled
    assert cache.get("items", ("items", "t", 1)) is None
    cache.put(("items", "t", 1), answer(10))
    assert cache.get("items", ("items", "t", 1)) == answer(10)
    assert cache.get("items", ("items", "t", 2)) is None
    assert cache.get("match", ("match", "t", 1)) is None
    assert (cache.counts["items"].hits, cache.counts["items"].misses) == (1, 2)
    assert (cache.counts["match"].hits, cache.counts["match"].misses) == (0, 1)
    assert cache.get("items", ("items", "t", 1)) is not None
    assert cache.counts["items"].hits == 2


def test_the_least_recently_used_goes_first_and_a_get_refreshes() -> None:
    one = cost(("k", 1), answer(100))
    cache = AnswerCache(3 * one)
    for n in (1, 2, 3):
        cache.put(("k", n), answer(100))
    assert list(cache.entries) == [("k", 1), ("k", 2), ("k", 3)]
    assert cache.bytes == 3 * one
    assert cache.get("items", ("k", 1)) is not None  # 1 is now the most recently used
    cache.put(("k", 4), answer(100))
    assert list(cache.entries) == [("k", 3), ("k", 1), ("k", 4)]
    assert cache.evictions == 1
    cache.put(("k", 5), answer(100))
    assert list(cache.entries) == [("k", 1), ("k", 4), ("k", 5)]
    assert cache.evictions == 2
    assert cache.get("items", ("k", 2)) is None
    assert cache.get("items", ("k", 3)) is None
    assert cache.bytes == 3 * one


def test_a_big_answer_drops_as_many_as_it_needs() -> None:
    small = cost(("k", 1), answer(10))
    cache = AnswerCache(4 * small)
    for n in range(4):
        cache.put(("k", n), answer(10))
    big = ("k", 9)
    cache.put(big, answer(2 * small))  # costs more than two small ones, less than the bound
    assert big in cache.entries
    assert cache.bytes <= cache.max_bytes
    assert [key for key in cache.entries if key != big] == [("k", 3)]
    assert cache.evictions == 3


def test_an_answer_bigger_than_the_bound_is_not_kept() -> None:
    bound = cost(("k", 1), answer(10)) + 500
    cache = AnswerCache(bound)
    cache.put(("k", 1), answer(10))
    kept = cache.bytes
    cache.put(("k", 2), answer(bound))
    assert ("k", 2) not in cache.entries
    assert list(cache.entries) == [("k", 1)]  # nothing was dropped to make room for it
    assert (cache.bytes, cache.evictions) == (kept, 0)
    assert cache.get("items", ("k", 2)) is None


def test_an_answer_exactly_the_bound_is_kept_alone() -> None:
    size = cost(("k", 1), answer(500))
    cache = AnswerCache(size)
    cache.put(("k", 0), answer(1))
    cache.put(("k", 1), answer(500))
    assert list(cache.entries) == [("k", 1)]
    assert cache.bytes == size


def test_putting_a_key_again_replaces_it_counted_once() -> None:
    cache = AnswerCache(1 << 20)
    cache.put(("k", 1), answer(10))
    cache.put(("k", 2), answer(10))
    cache.put(("k", 1), answer(50, b"y"))
    assert cache.bytes == cost(("k", 1), answer(50)) + cost(("k", 2), answer(10))
    assert list(cache.entries) == [("k", 2), ("k", 1)]
    assert cache.get("items", ("k", 1)) == answer(50, b"y")


def test_headers_and_key_count_towards_the_bytes() -> None:
    plain = cost(("k",), Answer(b"body"))
    assert cost(("k",), Answer(b"body", (("X-Total-Count", "12345"),))) > plain
    assert cost(("k", "a much longer key text than the other"), Answer(b"body")) > plain


def test_fragments_are_kept_and_told_apart_from_answers() -> None:
    cache = AnswerCache(1 << 20)
    parts = Fragments((b'{"a":1}', b'{"b":2}'))
    cache.put(("segment-items", "t", ("s", 1)), parts)
    assert cache.fragments("segment-items", ("segment-items", "t", ("s", 1))) == parts
    assert cache.answer("segment-items", ("segment-items", "t", ("s", 1))) is None
    assert cache.bytes == cost(("segment-items", "t", ("s", 1)), parts)
    assert cost(("k",), Fragments((b"x" * 100,))) > cost(("k",), Fragments((b"x",)))


def test_off_keeps_nothing() -> None:
    cache = AnswerCache(0)
    assert not cache.enabled
    cache.put(("k", 1), Answer(b""))
    assert (len(cache.entries), cache.bytes) == (0, 0)
    assert cache.get("items", ("k", 1)) is None


def test_clear() -> None:
    cache = AnswerCache(1 << 20)
    cache.put(("k", 1), answer(10))
    cache.clear()
    assert (len(cache.entries), cache.bytes) == (0, 0)
    assert cache.get("items", ("k", 1)) is None


OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.integers(0, 15), st.integers(0, 3000)),
        st.tuples(st.just("get"), st.integers(0, 15), st.just(0)),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(max_bytes=st.integers(0, 8000), operations=OPERATIONS)
def test_bytes_never_exceed_the_bound_and_match_a_model(max_bytes: int, operations: list[tuple[str, int, int]]) -> None:
    """Against a model: an ordered list of (key, size), most recently used last."""
    cache = AnswerCache(max_bytes)
    model: list[tuple[int, int]] = []  # (key number, body size)
    hits = misses = evictions = 0
    for operation, number, size in operations:
        key = ("items", "t", number)
        kept = {n: s for n, s in model}
        if operation == "get":
            found = cache.get("items", key)
            if number in kept:
                hits += 1
                assert found == answer(kept[number])
                model = [entry for entry in model if entry[0] != number] + [(number, kept[number])]
            else:
                misses += 1
                assert found is None
        else:
            cache.put(key, answer(size))
            if cost(key, answer(size)) <= max_bytes:
                model = [entry for entry in model if entry[0] != number] + [(number, size)]
                while sum(cost(("items", "t", n), answer(s)) for n, s in model) > max_bytes:
                    model.pop(0)
                    evictions += 1
        assert cache.bytes <= cache.max_bytes
        assert cache.bytes == sum(cost(key, value) for key, (value, _) in cache.entries.items())
        assert [k[2] for k in cache.entries if isinstance(k, tuple)] == [n for n, _ in model]
    counts = cache.counts.get("items")
    assert ((counts.hits, counts.misses) if counts else (0, 0)) == (hits, misses)
    assert cache.evictions == evictions

"""RFC 6902 JSON Patch: add, remove and replace."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from segment_service.core.patch import PatchError, apply_patch, merge_patch, parse_pointer

SEGMENT: dict[str, Any] = {
    "id": "s1",
    "name": {"en": "Golden"},
    "description": {"en": "Golden"},
    "status": "ACTIVE",
    "mixins": {"productCustomAttributes": {"pricingMeasurePrice": 10}, "tags": ["a", "b"]},
}


@pytest.mark.parametrize(
    ("operations", "expected_change"),
    [
        ([{"op": "replace", "path": "/status", "value": "INACTIVE"}], {"status": "INACTIVE"}),
        ([{"op": "replace", "path": "/name", "value": {"en": "New name"}}], {"name": {"en": "New name"}}),
        ([{"op": "add", "path": "/name/de", "value": "Gold"}], {"name": {"en": "Golden", "de": "Gold"}}),
        (
            [{"op": "replace", "path": "/mixins/productCustomAttributes/pricingMeasurePrice", "value": 15}],
            {"mixins": {"productCustomAttributes": {"pricingMeasurePrice": 15}, "tags": ["a", "b"]}},
        ),
        (
            [{"op": "add", "path": "/mixins/tags/-", "value": "c"}],
            {"mixins": {"productCustomAttributes": {"pricingMeasurePrice": 10}, "tags": ["a", "b", "c"]}},
        ),
        (
            [{"op": "add", "path": "/mixins/tags/0", "value": "z"}],
            {"mixins": {"productCustomAttributes": {"pricingMeasurePrice": 10}, "tags": ["z", "a", "b"]}},
        ),
        (
            [{"op": "remove", "path": "/mixins/tags/1"}],
            {"mixins": {"productCustomAttributes": {"pricingMeasurePrice": 10}, "tags": ["a"]}},
        ),
        ([{"op": "replace", "path": "/status", "value": None}], {"status": None}),
        (
            [{"op": "add", "path": "/validity", "value": {"from": "2024-01-01T00:00:00Z"}}],
            {"validity": {"from": "2024-01-01T00:00:00Z"}},
        ),
    ],
)
def test_operations_apply(operations: list[Any], expected_change: dict[str, Any]) -> None:
    assert apply_patch(SEGMENT, operations) == {**SEGMENT, **expected_change}


def test_remove_deletes_the_member() -> None:
    result = apply_patch(SEGMENT, [{"op": "remove", "path": "/description"}])
    assert "description" not in result


def test_operations_apply_in_order() -> None:
    result = apply_patch(
        SEGMENT,
        [
            {"op": "add", "path": "/mixins/x", "value": {}},
            {"op": "add", "path": "/mixins/x/y", "value": 1},
            {"op": "replace", "path": "/mixins/x/y", "value": 2},
        ],
    )
    assert result["mixins"]["x"] == {"y": 2}


def test_the_input_document_is_never_changed() -> None:
    before = repr(SEGMENT)
    apply_patch(
        SEGMENT,
        [
            {"op": "replace", "path": "/mixins/productCustomAttributes/pricingMeasurePrice", "value": 99},
            {"op": "remove", "path": "/name"},
        ],
    )
    assert repr(SEGMENT) == before


def test_pointer_escapes() -> None:
    assert parse_pointer("/a~1b/c~0d") == ["a/b", "c~d"]
    assert parse_pointer("") == []
    document = {"a/b": 1, "c~d": 2}
    assert apply_patch(document, [{"op": "replace", "path": "/a~1b", "value": 3}]) == {"a/b": 3, "c~d": 2}


@pytest.mark.parametrize(
    ("operations", "message"),
    [
        ({"op": "add"}, "The body must be a JSON array of patch operations (RFC 6902)."),
        (
            [{"op": "move", "path": "/status", "from": "/name"}],
            "Operation 0: op 'move' is not supported; use one of add, remove, replace.",
        ),
        (
            [{"op": "test", "path": "/status", "value": "ACTIVE"}],
            "Operation 0: op 'test' is not supported; use one of add, remove, replace.",
        ),
        (["replace"], "Operation 0 must be an object with 'op' and 'path'."),
        ([{"op": "replace", "value": 1}], "Operation 0: 'path' is required and must be a string."),
        ([{"op": "replace", "path": "/status"}], "Operation 0: 'replace' needs a 'value'."),
        ([{"op": "replace", "path": "status", "value": 1}], "Invalid path 'status': a JSON Pointer starts with '/'."),
        ([{"op": "replace", "path": "/validity", "value": 1}], "Cannot replace '/validity': it does not exist."),
        ([{"op": "remove", "path": "/validity"}], "Cannot remove '/validity': it does not exist."),
        (
            [{"op": "add", "path": "/validity/from", "value": "x"}],
            "Cannot add '/validity/from': '/validity' does not exist.",
        ),
        (
            [{"op": "add", "path": "/mixins/tags/5", "value": "x"}],
            "Invalid path '/mixins/tags/5': index 5 is out of range.",
        ),
        ([{"op": "remove", "path": "/mixins/tags/-"}], "Invalid path '/mixins/tags/-': '-' is not an array index."),
        (
            [{"op": "replace", "path": "/mixins/tags/01", "value": 1}],
            "Invalid path '/mixins/tags/01': '01' is not an array index.",
        ),
        (
            [{"op": "add", "path": "/status/x", "value": 1}],
            "Cannot add '/status/x': its parent is not an object or an array.",
        ),
        ([{"op": "remove", "path": ""}], "Cannot remove the whole document."),
    ],
)
def test_bad_patches_name_the_problem(operations: Any, message: str) -> None:
    with pytest.raises(PatchError) as caught:
        apply_patch(SEGMENT, operations)
    assert caught.value.message == message
    assert caught.value.status == 400


def test_a_failing_operation_leaves_nothing_half_done() -> None:
    with pytest.raises(PatchError):
        apply_patch(SEGMENT, [{"op": "replace", "path": "/status", "value": "X"}, {"op": "remove", "path": "/nothing"}])
    assert SEGMENT["status"] == "ACTIVE"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=10,
)


@given(
    operations=st.lists(
        st.fixed_dictionaries(
            {
                "op": st.sampled_from(["add", "remove", "replace", "copy"]),
                "path": st.text(max_size=12)
                | st.sampled_from(["/name/en", "/mixins/tags/0", "/mixins/tags/-", "/status"]),
                "value": json_values,
            }
        ),
        max_size=5,
    )
)
def test_any_patch_either_applies_or_raises_patch_error(operations: list[Any]) -> None:
    try:
        apply_patch(SEGMENT, operations)
    except PatchError as error:
        message = error.message
    else:
        message = "applied"
    assert message


@pytest.mark.parametrize("token", ["²", "1" * 5000])
def test_odd_array_indexes_are_400(token: str) -> None:
    with pytest.raises(PatchError, match="is not an array index"):
        apply_patch(SEGMENT, [{"op": "replace", "path": f"/mixins/tags/{token}", "value": 1}])


# RFC 7396 JSON Merge Patch: the examples of its appendix A, and that the target is never changed.
@pytest.mark.parametrize(
    ("target", "patch", "result"),
    [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], ["c", "d"], ["c", "d"]),
        ({"a": "b"}, ["c"], ["c"]),
        ({"a": "foo"}, None, None),
        ({"a": "foo"}, "bar", "bar"),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_merge_patch_rfc7396_examples(target: Any, patch: Any, result: Any) -> None:
    before = copy.deepcopy(target)
    assert merge_patch(target, patch) == result
    assert target == before

"""RFC 6902 JSON Patch, limited to `add`, `remove` and `replace` as the segment spec allows
(docs/decisions.md#patch-bodies), and RFC 7396 JSON Merge Patch for the services whose PATCH takes a merge object
(customers, coupons, categories).

Patches are applied to a copy of the resource's JSON document; the service then re-validates the result as a full
update, so a patch can never store what a PUT could not.
"""

from __future__ import annotations

import copy
from enum import StrEnum
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from segment_service.core.errors import BadRequest

OPERATIONS = ("add", "remove", "replace")
MAX_OPERATIONS = 1000


class PatchError(BadRequest):
    """A patch that cannot be applied; the message names the operation and why."""


def parse_pointer(pointer: str) -> list[str]:
    """The reference tokens of a JSON Pointer (RFC 6901)."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError(f"Invalid path '{pointer}': a JSON Pointer starts with '/'.", field="path")
    return [token.replace("~1", "/").replace("~0", "~") for token in pointer[1:].split("/")]


def _array_index(token: str, length: int, *, allow_end: bool, pointer: str) -> int:
    if token == "-" and allow_end:
        return length
    if not (token.isascii() and token.isdigit()) or len(token) > 9 or (len(token) > 1 and token.startswith("0")):
        raise PatchError(f"Invalid path '{pointer}': '{token}' is not an array index.", field="path")
    index = int(token)
    if index > length or (index == length and not allow_end):
        raise PatchError(f"Invalid path '{pointer}': index {index} is out of range.", field="path")
    return index


def _apply_one(document: Any, op: str, pointer: str, value: Any) -> Any:
    tokens = parse_pointer(pointer)
    if not tokens:
        if op == "remove":
            raise PatchError("Cannot remove the whole document.", field="path")
        return copy.deepcopy(value)
    parent = document
    for depth, token in enumerate(tokens[:-1]):
        if isinstance(parent, dict) and token in parent:
            parent = parent[token]
        elif isinstance(parent, list):
            parent = parent[_array_index(token, len(parent), allow_end=False, pointer=pointer)]
        else:
            missing = "/" + "/".join(tokens[: depth + 1])
            raise PatchError(f"Cannot {op} '{pointer}': '{missing}' does not exist.", field="path")
    last = tokens[-1]
    if isinstance(parent, dict):
        if op != "add" and last not in parent:
            raise PatchError(f"Cannot {op} '{pointer}': it does not exist.", field="path")
        if op == "remove":
            del parent[last]
        else:
            parent[last] = copy.deepcopy(value)
    elif isinstance(parent, list):
        index = _array_index(last, len(parent), allow_end=op == "add", pointer=pointer)
        if op == "add":
            parent.insert(index, copy.deepcopy(value))
        elif op == "remove":
            del parent[index]
        else:
            parent[index] = copy.deepcopy(value)
    else:
        raise PatchError(f"Cannot {op} '{pointer}': its parent is not an object or an array.", field="path")
    return document


def apply_patch(document: dict[str, Any], operations: list[Any]) -> Any:
    """The result of applying `operations` (a decoded JSON array) to a copy of `document`."""
    if not isinstance(operations, list):
        raise PatchError("The body must be a JSON array of patch operations (RFC 6902).")
    if len(operations) > MAX_OPERATIONS:
        raise PatchError(f"A patch may hold at most {MAX_OPERATIONS} operations.")
    result: Any = copy.deepcopy(document)
    for position, operation in enumerate(operations):
        if not isinstance(operation, dict):
            raise PatchError(f"Operation {position} must be an object with 'op' and 'path'.")
        op = operation.get("op")
        pointer = operation.get("path")
        if op not in OPERATIONS:
            raise PatchError(
                f"Operation {position}: op {op!r} is not supported; use one of {', '.join(OPERATIONS)}.", field="op"
            )
        if not isinstance(pointer, str):
            raise PatchError(f"Operation {position}: 'path' is required and must be a string.", field="path")
        if op != "remove" and "value" not in operation:
            raise PatchError(f"Operation {position}: '{op}' needs a 'value'.", field="value")
        result = _apply_one(result, op, pointer, operation.get("value"))
    return result


class PatchOp(StrEnum):
    ADD = "add"
    REMOVE = "remove"
    REPLACE = "replace"


class PatchOperation(msgspec.Struct, omit_defaults=True):
    """One RFC 6902 operation as the spec's `PatchOperation` schema describes it."""

    op: PatchOp
    path: str
    value: Any | UnsetType = UNSET


def as_operations(operations: list[PatchOperation]) -> list[Any]:
    """Decoded operations back as plain JSON, keeping "no value" apart from `"value": null`."""
    return [msgspec.to_builtins(o) for o in operations]


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON Merge Patch: `patch`'s members replace `target`'s, `null` removes one, objects merge member by
    member, anything else (arrays included) replaces the whole value. `target` is left unchanged."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result: dict[str, Any] = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result

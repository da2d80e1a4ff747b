"""The shared base for API shapes: msgspec Structs with Emporix's camelCase names."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from segment_service.core.errors import BadRequest

__all__ = ["UNSET", "ApiModel", "Localized", "UnsetType", "body_mixins", "check_nesting", "to_builtins"]

#: A localized field as a client may send it: a map, or a plain string in the Content-Language
#: (docs/decisions.md#localized-fields).
Localized = dict[str, str] | str


class ApiModel(msgspec.Struct, rename="camel", omit_defaults=True, forbid_unknown_fields=False):
    """Base of every request and response shape; fields left out stay UNSET and are omitted on output."""


def to_builtins(value: Any) -> Any:
    """A Struct as plain JSON-ready data."""
    return msgspec.to_builtins(value)


MAX_NESTING = 32


def check_nesting(value: Any, *, field: str, limit: int = MAX_NESTING) -> None:
    """400 when free-form JSON (mixins) nests deeper than `limit`: deeper documents cost recursion in every later
    read, patch and copy, and no real mixin needs them."""
    # Level by level, carrying only the containers: scalars are most of a document and need no look.
    level = [value] if isinstance(value, dict | list) else []
    depth = 1
    while level:
        if depth > limit:
            raise BadRequest(
                f"Invalid {field}: it nests deeper than {limit} levels.", field=field, type="invalid_value"
            )
        below: list[Any] = []
        for container in level:
            for child in container.values() if type(container) is dict else container:
                if type(child) is dict or type(child) is list:
                    below.append(child)
        level = below
        depth += 1


def body_mixins(mixins: Any, metadata: Any) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """A request body's `mixins` and `metadata.mixins` (None where not sent), each checked by `check_nesting`.

    `metadata` is the body's metadata shape (any with a `mixins` field), UNSET or None."""
    own = None if mixins is UNSET else mixins
    check_nesting(own, field="mixins")
    of_metadata = None
    if metadata is not UNSET and metadata is not None and metadata.mixins is not UNSET:
        of_metadata = metadata.mixins
        check_nesting(of_metadata, field="metadata.mixins")
    return own, of_metadata

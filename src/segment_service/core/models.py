"""The shared base for API shapes: msgspec Structs with Emporix's camelCase names."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

__all__ = ["UNSET", "ApiModel", "Localized", "UnsetType", "to_builtins"]

#: A localized field as a client may send it: a map, or a plain string in the Content-Language (digest §5.3).
Localized = dict[str, str] | str


class ApiModel(msgspec.Struct, rename="camel", omit_defaults=True, forbid_unknown_fields=False):
    """Base of every request and response shape; fields left out stay UNSET and are omitted on output."""


def to_builtins(value: Any) -> Any:
    """A Struct as plain JSON-ready data."""
    return msgspec.to_builtins(value)

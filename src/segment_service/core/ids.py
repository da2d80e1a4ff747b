"""Generated and custom ids (docs/decisions.md#ids-and-reserved-words)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection

from segment_service.core.errors import BadRequest

_CUSTOM_ID = re.compile(r"[A-Za-z0-9_-]{1,66}")


def new_id() -> str:
    """A generated id: 24 lowercase hex characters, like the ids Emporix generates."""
    return secrets.token_hex(12)


_CLIENT_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def new_client_id() -> str:
    """An API client id: 32 letters and digits (about 190 bits), like Emporix's client ids. No `-` or `_`: an id
    that started with `-` would read as an option on the command line (`segment-service clients revoke ID`)."""
    return "".join(secrets.choice(_CLIENT_ID_ALPHABET) for _ in range(32))


def check_custom_id(value: str, *, reserved: Collection[str] = (), field: str = "id") -> str:
    """A client-chosen id, case-sensitive, 1-66 of `[A-Za-z0-9_-]`, and not a word the API's paths reserve."""
    if not _CUSTOM_ID.fullmatch(value):
        raise BadRequest(
            f"Invalid {field} '{value[:80]}': use 1 to 66 characters of letters, digits, '_' and '-'.",
            field=field,
            type="invalid_value",
        )
    if value in reserved:
        raise BadRequest(
            f"Invalid {field} '{value}': it is reserved by the API's paths ({', '.join(sorted(reserved))}).",
            field=field,
            type="invalid_value",
        )
    return value

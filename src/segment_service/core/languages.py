"""Localized fields: maps of language tag to text (docs/decisions.md#localized-fields)."""

from __future__ import annotations

import re
from functools import lru_cache

from segment_service.core.errors import BadRequest

_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*")
ALL = "*"


def is_language_tag(value: str) -> bool:
    """Whether `value` is a BCP-47-shaped language tag."""
    return bool(_LANGUAGE_TAG.fullmatch(value))


@lru_cache(maxsize=512)
def accepted_languages(header: str | None) -> tuple[str, ...] | None:
    """The languages an `Accept-Language` header asks for, best first; None means all of them (`*` or no header).

    Unparseable parts are skipped rather than rejected: a client's locale list should never fail a read.
    """
    if header is None or not header.strip():
        return None
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if tag == ALL and weight > 0:
            # A wildcard as the first choice means "everything"; later it only ends the fallback list.
            if not weighted:
                return None
            continue
        if weight > 0 and is_language_tag(tag):
            weighted.append((-weight, position, tag))
    if not weighted:
        return None
    return tuple(tag for _, _, tag in sorted(weighted))


def localize(value: dict[str, str], languages: tuple[str, ...] | None, default_language: str) -> dict[str, str]:
    """The map narrowed to the first requested language it has (`fr-CH` falls back to `fr`), else the default
    language; all of it when all languages are asked for."""
    if languages is None:
        return value
    for tag in languages:
        if tag in value:
            return {tag: value[tag]}
        base = tag.split("-", 1)[0]
        if base in value:
            return {base: value[base]}
    if default_language in value:
        return {default_language: value[default_language]}
    return {}


def content_language(header: str | None) -> str | None:
    """The one language a `Content-Language` header names, or None for `*`, a list or no header."""
    if header is None:
        return None
    tag = header.strip()
    if not tag or tag == ALL or "," in tag:
        return None
    if not is_language_tag(tag):
        raise BadRequest(
            f"Invalid Content-Language '{tag[:40]}': expected a language tag such as 'en'.",
            field="Content-Language",
            type="invalid_header",
        )
    return tag


def localized_input(
    value: str | dict[str, str], *, field: str, language: str | None, default_language: str
) -> dict[str, str]:
    """A localized field as sent: a map as it is, a plain string under the Content-Language (else the default)."""
    if isinstance(value, str):
        return {language or default_language: value}
    for tag in value:
        if not is_language_tag(tag):
            raise BadRequest(
                f"Invalid language '{tag[:40]}' in {field}: keys of a localized map are language tags such as 'en'.",
                field=field,
                type="invalid_value",
            )
    return value


class WriteLanguage:
    """Which language plain-string localized values of a write are in: the Content-Language, else the default."""

    __slots__ = ("content", "default")

    def __init__(self, content: str | None, default: str) -> None:
        self.content = content
        self.default = default

    def localized(self, value: str | dict[str, str], *, field: str) -> dict[str, str]:
        """A localized field of the body, as a map."""
        return localized_input(value, field=field, language=self.content, default_language=self.default)

    def required(self, value: str | dict[str, str], *, field: str) -> dict[str, str]:
        """A localized field the body must fill: 400 when it holds no language."""
        checked = self.localized(value, field=field)
        if not checked:
            raise BadRequest(
                f"Validation problem with request body: {field} needs at least one language.",
                field=field,
                type="invalid_value",
            )
        return checked

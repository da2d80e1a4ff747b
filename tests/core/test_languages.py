"""Localized maps, Accept-Language and Content-Language."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from segment_service.core.errors import BadRequest
from segment_service.core.languages import WriteLanguage, accepted_languages, content_language, localize

NAME = {"en": "Golden", "de": "Golden-DE", "fr": "Or"}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("*", None),
        ("de", ("de",)),
        ("fr-CH, fr;q=0.9, en;q=0.8, *;q=0.5", ("fr-CH", "fr", "en")),
        ("en;q=0.2, de;q=0.9", ("de", "en")),
        ("de;q=0, en", ("en",)),
        ("en;q=abc, de", ("de",)),
        ("not a tag!, en", ("en",)),
        ("*, de", None),
    ],
)
def test_accept_language_lists_the_languages_best_first(header: str | None, expected: tuple[str, ...] | None) -> None:
    assert accepted_languages(header) == expected


@pytest.mark.parametrize(
    ("languages", "expected"),
    [
        (None, NAME),
        (("de",), {"de": "Golden-DE"}),
        (("it", "fr"), {"fr": "Or"}),
        (("fr-CH",), {"fr": "Or"}),
        (("it",), {"en": "Golden"}),
    ],
)
def test_localize_picks_one_language_with_fallback(languages: tuple[str, ...] | None, expected: dict[str, str]) -> None:
    assert localize(NAME, languages, "en") == expected


def test_localize_gives_an_empty_map_when_no_language_fits() -> None:
    assert localize({"de": "x"}, ("it",), "en") == {}


@pytest.mark.parametrize(
    ("header", "expected"), [(None, None), ("*", None), ("en", "en"), ("de-CH", "de-CH"), ("en, de", None), (" ", None)]
)
def test_content_language(header: str | None, expected: str | None) -> None:
    assert content_language(header) == expected


def test_content_language_rejects_what_is_not_a_tag() -> None:
    with pytest.raises(BadRequest) as caught:
        content_language("e$")
    assert caught.value.message == "Invalid Content-Language 'e$': expected a language tag such as 'en'."


def test_plain_strings_go_under_the_content_language_else_the_default() -> None:
    assert WriteLanguage("fr", "en").localized("Or", field="name") == {"fr": "Or"}
    assert WriteLanguage(None, "en").localized("Gold", field="name") == {"en": "Gold"}
    assert WriteLanguage("fr", "en").localized({"de": "x"}, field="name") == {"de": "x"}


def test_map_keys_must_be_language_tags() -> None:
    with pytest.raises(BadRequest) as caught:
        WriteLanguage(None, "en").localized({"not a tag": "x"}, field="name")
    assert caught.value.field == "name"


@given(st.text(max_size=60))
def test_any_accept_language_header_is_read_without_error(header: str) -> None:
    languages = accepted_languages(header)
    assert languages is None or all(languages)

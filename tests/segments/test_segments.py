"""Single-segment operations over HTTP: POST /segments, GET/PUT/DELETE /segments/{segmentId} (operations 1, 4, 5, 7).

PATCH is in test_segments_patch.py, lists and search in test_segments_list.py, segment_read_own visibility and tenant
isolation in test_segments_visibility.py, the bulk operations in test_segments_bulk.py.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from tests.factories import (
    AUTH_FAILURES,
    ISO_MILLIS,
    Api,
    assert_refused,
    assign_customer,
    assign_item,
    assignment_count,
    segment_body,
    segment_error,
)

MANAGE = ("customersegment.segment_manage",)
READ = ("customersegment.segment_read", "customersegment.segment_read_own")
RESERVED = ("items", "search", "bulk", "match")
GOLDEN = {
    "name": {"en": "Golden Segment"},
    "description": {"en": "Golden Segment"},
    "validity": {"from": "2024-04-17T08:00:00.000Z", "to": "2025-04-17T08:00:00.000Z"},
    "status": "ACTIVE",
    "siteCode": "main",
}


def bad_body(message: str, field: str | None = None, type: str = "invalid_value") -> dict[str, Any]:
    """The 400 of a body that does not decode: Litestar's message, details only when a field is named."""
    where = f" (at '{field}')" if field else ""
    return segment_error(400, f"Validation problem with request body: {message}{where}.", field=field, type=type)


def get(api: Api, segment_id: str, **kwargs: Any) -> dict[str, Any]:
    response = api.request("GET", f"/segments/{segment_id}", **kwargs)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def not_found(segment_id: str) -> dict[str, Any]:
    return segment_error(404, f"The resource with id {segment_id} has not been found.", resource_id=segment_id)


class TestCreateSegment:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused_and_nothing_stored(self, api: Api, case: str) -> None:
        assert_refused(api, case, "POST", "/segments", valid_scopes=READ, required=MANAGE, json=segment_body(id="nope"))
        assert api.request("GET", "/segments/nope").status_code == 404

    def test_customer_token_cannot_create(self, api: Api) -> None:
        token = api.tokens.customer(api.tenant, "c1")
        response = api.request("POST", "/segments", token=token, json=segment_body())
        assert response.status_code == 403
        assert response.json() == segment_error(403, "Required scope(s): customersegment.segment_manage.")

    def test_non_bearer_authorization_is_401(self, api: Api) -> None:
        response = api.client.post(
            api.url("/segments"), json=segment_body(), headers={"Authorization": f"Basic {api.token}"}
        )
        assert response.status_code == 401
        assert response.json()["fault"]["detail"] == {"errorcode": "oauth.v2.InvalidAccessToken"}

    def test_generated_id_and_stored_document(self, api: Api) -> None:
        response = api.request("POST", "/segments", json=segment_body())
        assert response.status_code == 201, response.text
        body = response.json()
        assert list(body) == ["id"]
        assert re.fullmatch(r"[0-9a-f]{24}", body["id"])
        assert get(api, body["id"]) == {
            "id": body["id"],
            **GOLDEN,
            "metadata": {"createdAt": ISO_MILLIS, "modifiedAt": ISO_MILLIS, "version": 1},
        }

    def test_generated_ids_differ(self, api: Api) -> None:
        assert api.create_segment() != api.create_segment()

    def test_created_and_modified_at_are_equal_on_create(self, api: Api) -> None:
        metadata = get(api, api.create_segment())["metadata"]
        assert metadata["createdAt"] == metadata["modifiedAt"]

    def test_minimal_body_defaults_status_to_inactive(self, api: Api) -> None:
        response = api.request("POST", "/segments", json={"id": "min", "name": {"en": "M"}, "siteCode": "main"})
        assert response.status_code == 201, response.text
        assert get(api, "min") == {
            "id": "min",
            "name": {"en": "M"},
            "status": "INACTIVE",
            "siteCode": "main",
            "metadata": {"createdAt": ISO_MILLIS, "modifiedAt": ISO_MILLIS, "version": 1},
        }

    def test_mixins_and_metadata_mixins_round_trip(self, api: Api) -> None:
        mixins = {"segmentAttributes": {"membershipStatus": "PREMIUM", "level": 3, "tags": ["a", "b"]}}
        metadata = {"mixins": {"segmentAttributes": "https://example.com/segmentAttributes.json"}}
        api.create_segment(id="mx", mixins=mixins, metadata=metadata)
        doc = get(api, "mx")
        assert doc["mixins"] == mixins
        assert doc["metadata"] == {"createdAt": ISO_MILLIS, "modifiedAt": ISO_MILLIS, "version": 1, **metadata}

    def test_version_sent_on_create_is_ignored(self, api: Api) -> None:
        api.create_segment(id="v", metadata={"version": 7})
        assert get(api, "v")["metadata"]["version"] == 1

    def test_nulls_for_optional_fields_are_left_out(self, api: Api) -> None:
        api.create_segment(id="n", description=None, validity=None, mixins=None)
        assert set(get(api, "n")) == {"id", "name", "status", "siteCode", "metadata"}

    def test_validity_is_stored_in_utc_with_milliseconds(self, api: Api) -> None:
        api.create_segment(id="tz", validity={"from": "2024-04-17T10:00:00+02:00", "to": "2024-04-18T00:00:00.5Z"})
        assert get(api, "tz")["validity"] == {"from": "2024-04-17T08:00:00.000Z", "to": "2024-04-18T00:00:00.500Z"}

    def test_validity_with_one_bound(self, api: Api) -> None:
        api.create_segment(id="open", validity={"to": "2030-01-01T00:00:00Z"})
        assert get(api, "open")["validity"] == {"to": "2030-01-01T00:00:00.000Z"}

    def test_early_years_keep_four_digits(self, api: Api) -> None:
        api.create_segment(id="y5", validity={"from": "0005-01-01T00:00:00Z"})
        assert get(api, "y5")["validity"] == {"from": "0005-01-01T00:00:00.000Z"}

    @pytest.mark.parametrize("segment_id", ["custom-ID_1", "x" * 66, "A", "628cd20c6e8b2432b6346ca6"])
    def test_custom_id_accepted(self, api: Api, segment_id: str) -> None:
        response = api.request("POST", "/segments", json=segment_body(id=segment_id))
        assert response.status_code == 201, response.text
        assert response.json() == {"id": segment_id}
        assert get(api, segment_id)["id"] == segment_id

    def test_ids_are_case_sensitive(self, api: Api) -> None:
        api.create_segment(id="Dup", name={"en": "upper"})
        api.create_segment(id="dup", name={"en": "lower"})
        assert get(api, "Dup")["name"] == {"en": "upper"}
        assert get(api, "dup")["name"] == {"en": "lower"}

    def test_duplicate_id_is_409_and_keeps_the_first(self, api: Api) -> None:
        api.create_segment(id="dup", name={"en": "first"})
        response = api.request("POST", "/segments", json=segment_body(id="dup", name={"en": "second"}))
        assert response.status_code == 409
        assert response.json() == segment_error(409, "The resource already exists.", resource_id="dup")
        assert get(api, "dup")["name"] == {"en": "first"}
        assert get(api, "dup")["metadata"]["version"] == 1

    @pytest.mark.parametrize("segment_id", RESERVED)
    def test_reserved_id_is_400(self, api: Api, segment_id: str) -> None:
        response = api.request("POST", "/segments", json=segment_body(id=segment_id))
        assert response.status_code == 400
        message = f"Invalid id '{segment_id}': it is reserved by the API's paths (bulk, items, match, search)."
        assert response.json() == segment_error(400, message, field="id", type="invalid_value")

    @pytest.mark.parametrize("segment_id", ["a b", "x" * 67, "", "a/b", "ä", "a.b", "semi;colon"])
    def test_invalid_id_is_400(self, api: Api, segment_id: str) -> None:
        response = api.request("POST", "/segments", json=segment_body(id=segment_id))
        assert response.status_code == 400
        message = f"Invalid id '{segment_id}': use 1 to 66 characters of letters, digits, '_' and '-'."
        assert response.json() == segment_error(400, message, field="id", type="invalid_value")
        assert api.request("GET", "/segments").json() == []

    def test_malformed_json(self, api: Api) -> None:
        response = api.request("POST", "/segments", content=b"{not json", headers={"Content-Type": "application/json"})
        assert response.status_code == 400
        assert response.json() == segment_error(400, "JSON is malformed: object keys must be strings (byte 1)")

    def test_missing_body(self, api: Api) -> None:
        response = api.request("POST", "/segments")
        assert response.status_code == 400
        assert response.json() == segment_error(400, "The request body is missing; send a JSON body.")

    @pytest.mark.parametrize("field", ["name", "siteCode"])
    def test_missing_required_field(self, api: Api, field: str) -> None:
        body = segment_body()
        del body[field]
        response = api.request("POST", "/segments", json=body)
        assert response.status_code == 400
        assert response.json() == segment_error(
            400,
            f"Validation problem with request body: Object missing required field `{field}`.",
            field=field,
            type="invalid_value",
        )
        assert api.request("GET", "/segments").json() == []

    @pytest.mark.parametrize(
        ("overrides", "message", "field"),
        [
            ({"status": "FOO"}, "Invalid enum value 'FOO'", "status"),
            ({"status": "active"}, "Invalid enum value 'active'", "status"),
            ({"name": 5}, "Expected `str | object`, got `int`", "name"),
            ({"name": {"en": 5}}, "Expected `str`, got `int`", "name[...]"),
            ({"siteCode": 5}, "Expected `str`, got `int`", "siteCode"),
            ({"siteCode": ""}, "Expected `str` of length >= 1", "siteCode"),
            ({"id": 5}, "Expected `str`, got `int`", "id"),
            ({"validity": {"from": "nope"}}, "Invalid RFC3339 encoded datetime", "validity.from"),
            ({"validity": "2024"}, "Expected `object | null`, got `str`", "validity"),
            ({"mixins": [1]}, "Expected `object | null`, got `array`", "mixins"),
            ({"metadata": {"version": "x"}}, "Expected `int`, got `str`", "metadata.version"),
            ({"metadata": {"mixins": 5}}, "Expected `object`, got `int`", "metadata.mixins"),
        ],
    )
    def test_wrong_type_or_value(self, api: Api, overrides: dict[str, Any], message: str, field: str) -> None:
        response = api.request("POST", "/segments", json=segment_body(**overrides))
        assert response.status_code == 400
        assert response.json() == bad_body(message, field)
        assert api.request("GET", "/segments").json() == []

    def test_body_must_be_an_object(self, api: Api) -> None:
        response = api.request("POST", "/segments", json=[segment_body()])
        assert response.status_code == 400
        assert response.json() == bad_body("Expected `object`, got `array`")

    def test_empty_name_map(self, api: Api) -> None:
        response = api.request("POST", "/segments", json=segment_body(name={}))
        assert response.status_code == 400
        assert response.json() == segment_error(
            400,
            "Validation problem with request body: name needs at least one language.",
            field="name",
            type="invalid_value",
        )

    def test_name_keys_must_be_language_tags(self, api: Api) -> None:
        response = api.request("POST", "/segments", json=segment_body(name={"1x": "a"}))
        assert response.status_code == 400
        assert response.json() == segment_error(
            400,
            "Invalid language '1x' in name: keys of a localized map are language tags such as 'en'.",
            field="name",
            type="invalid_value",
        )

    @pytest.mark.parametrize(
        "validity",
        [
            {"from": "2024-01-02T00:00:00Z", "to": "2024-01-01T00:00:00Z"},
            {"from": "2024-01-01T00:00:00Z", "to": "2024-01-01T00:00:00Z"},
        ],
    )
    def test_validity_must_end_after_it_starts(self, api: Api, validity: dict[str, str]) -> None:
        response = api.request("POST", "/segments", json=segment_body(validity=validity))
        assert response.status_code == 400
        assert response.json() == segment_error(
            400,
            "Validation problem with request body: validity.to must be later than validity.from.",
            field="validity",
            type="invalid_value",
        )

    def test_date_outside_utc_range_is_400(self, api: Api) -> None:
        response = api.request("POST", "/segments", json=segment_body(validity={"from": "0001-01-01T00:00:00+01:00"}))
        assert response.status_code == 400
        assert response.json() == segment_error(
            400,
            "Invalid date-time 0001-01-01T00:00:00+01:00: in UTC it falls outside the years 1 to 9999.",
            field="validity.from",
            type="invalid_value",
        )

    @pytest.mark.parametrize(
        "overrides",
        [
            {"name": {"en": "a\u0000b"}},
            {"siteCode": "a\u0000"},
            {"mixins": {"k\u0000": 1}},
            {"mixins": {"k": "\u0000"}},
        ],
    )
    def test_nul_characters_are_400(self, api: Api, overrides: dict[str, Any]) -> None:
        response = api.request("POST", "/segments", json=segment_body(**overrides))
        assert response.status_code == 400
        assert response.json() == segment_error(400, "Invalid input: text cannot contain the NUL character (\\u0000).")

    def test_plain_string_with_content_language(self, api: Api) -> None:
        response = api.request(
            "POST",
            "/segments",
            json=segment_body(id="de", name="Gold", description="Beschreibung"),
            headers={"Content-Language": "de"},
        )
        assert response.status_code == 201, response.text
        doc = get(api, "de")
        assert (doc["name"], doc["description"]) == ({"de": "Gold"}, {"de": "Beschreibung"})

    @pytest.mark.parametrize("headers", [{}, {"Content-Language": "*"}])
    def test_plain_string_without_language_is_stored_under_en(self, api: Api, headers: dict[str, str]) -> None:
        response = api.request("POST", "/segments", json=segment_body(id="en", name="Gold"), headers=headers)
        assert response.status_code == 201, response.text
        assert get(api, "en")["name"] == {"en": "Gold"}

    def test_map_is_kept_as_sent_whatever_the_content_language(self, api: Api) -> None:
        api.request(
            "POST",
            "/segments",
            json=segment_body(id="m", name={"en": "A", "fr": "B"}),
            headers={"Content-Language": "de"},
        )
        assert get(api, "m")["name"] == {"en": "A", "fr": "B"}

    @pytest.mark.parametrize("tag", ["!!", "e", "en_US", "123"])
    def test_invalid_content_language(self, api: Api, tag: str) -> None:
        response = api.request("POST", "/segments", json=segment_body(name="x"), headers={"Content-Language": tag})
        assert response.status_code == 400
        assert response.json() == segment_error(
            400,
            f"Invalid Content-Language '{tag}': expected a language tag such as 'en'.",
            field="Content-Language",
            type="invalid_header",
        )
        assert api.request("GET", "/segments").json() == []


class TestGetSegment:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused(self, api: Api, case: str) -> None:
        api.create_segment(id="s")
        assert_refused(api, case, "GET", "/segments/s", valid_scopes=MANAGE, required=READ)

    def test_whole_document(self, api: Api) -> None:
        api.create_segment(id="s", mixins={"a": {"b": 1}})
        assert get(api, "s") == {
            "id": "s",
            **GOLDEN,
            "mixins": {"a": {"b": 1}},
            "metadata": {"createdAt": ISO_MILLIS, "modifiedAt": ISO_MILLIS, "version": 1},
        }

    def test_read_scope_alone_is_enough(self, api: Api) -> None:
        api.create_segment(id="s")
        token = api.tokens.service(api.tenant, ("customersegment.segment_read",))
        assert api.request("GET", "/segments/s", token=token).status_code == 200

    @pytest.mark.parametrize("segment_id", ["unknown", "a b", "x" * 67])
    def test_unknown_id_is_404(self, api: Api, segment_id: str) -> None:
        response = api.request("GET", f"/segments/{segment_id}")
        assert response.status_code == 404
        assert response.json() == not_found(segment_id)

    def test_nul_in_id_is_400(self, api: Api) -> None:
        response = api.request("GET", "/segments/a%00b")
        assert response.status_code == 400
        assert response.json() == segment_error(400, "Invalid input: text cannot contain the NUL character (\\u0000).")

    @pytest.mark.parametrize(
        ("fields", "expected"),
        [
            ("name", {"id": "s", "name": {"en": "Golden Segment"}}),
            ("siteCode,status", {"id": "s", "siteCode": "main", "status": "ACTIVE"}),
            ("validity.from", {"id": "s", "validity": {"from": "2024-04-17T08:00:00.000Z"}}),
            ("metadata.version,mixins.a.c", {"id": "s", "metadata": {"version": 1}, "mixins": {"a": {"c": 2}}}),
            ("id", {"id": "s"}),
            ("nothing.here", {"id": "s"}),
            (" name , status ", {"id": "s", "name": {"en": "Golden Segment"}, "status": "ACTIVE"}),
        ],
    )
    def test_fields_projection_keeps_id(self, api: Api, fields: str, expected: dict[str, Any]) -> None:
        api.create_segment(id="s", mixins={"a": {"b": 1, "c": 2}})
        assert get(api, "s", params={"fields": fields}) == expected

    @pytest.mark.parametrize(
        ("accept", "name"),
        [
            ("de", {"de": "Gold"}),
            ("fr-CH", {"fr": "Or"}),
            ("it, fr;q=0.5, de;q=0.8", {"de": "Gold"}),
            ("de;q=0.5, fr;q=0.9", {"fr": "Or"}),
            ("xx", {"en": "Golden"}),
            ("*", {"en": "Golden", "de": "Gold", "fr": "Or"}),
            ("", {"en": "Golden", "de": "Gold", "fr": "Or"}),
        ],
    )
    def test_accept_language(self, api: Api, accept: str, name: dict[str, str]) -> None:
        api.create_segment(id="s", name={"en": "Golden", "de": "Gold", "fr": "Or"}, description={"en": "Only en"})
        doc = get(api, "s", headers={"Accept-Language": accept})
        assert doc["name"] == name
        assert doc["description"] == {"en": "Only en"}

    def test_accept_language_then_fields(self, api: Api) -> None:
        api.create_segment(id="s", name={"en": "Golden", "de": "Gold"})
        doc = get(api, "s", params={"fields": "name.en"}, headers={"Accept-Language": "de"})
        assert doc == {"id": "s"}


class TestUpsertSegment:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused_and_nothing_stored(self, api: Api, case: str) -> None:
        assert_refused(api, case, "PUT", "/segments/s", valid_scopes=READ, required=MANAGE, json=segment_body())
        assert api.request("GET", "/segments/s").status_code == 404

    def test_creates_when_absent(self, api: Api) -> None:
        response = api.request("PUT", "/segments/new-one", json=segment_body())
        assert response.status_code == 201, response.text
        assert response.json() == {"id": "new-one"}
        assert get(api, "new-one") == {
            "id": "new-one",
            **GOLDEN,
            "metadata": {"createdAt": ISO_MILLIS, "modifiedAt": ISO_MILLIS, "version": 1},
        }

    def test_updates_when_present(self, api: Api) -> None:
        api.create_segment(id="s")
        created = get(api, "s")["metadata"]
        response = api.request("PUT", "/segments/s", json=segment_body(name={"en": "Renamed"}, status="INACTIVE"))
        assert response.status_code == 204
        assert response.content == b""
        doc = get(api, "s")
        assert doc == {
            "id": "s",
            **GOLDEN,
            "name": {"en": "Renamed"},
            "status": "INACTIVE",
            "metadata": {"createdAt": created["createdAt"], "modifiedAt": ISO_MILLIS, "version": 2},
        }
        assert doc["metadata"]["modifiedAt"] >= created["modifiedAt"]

    def test_version_grows_by_one_per_put(self, api: Api) -> None:
        api.request("PUT", "/segments/s", json=segment_body())
        for expected in (2, 3, 4):
            assert api.request("PUT", "/segments/s", json=segment_body()).status_code == 204
            assert get(api, "s")["metadata"]["version"] == expected

    def test_is_a_full_replace(self, api: Api) -> None:
        api.create_segment(id="s", mixins={"a": 1}, metadata={"mixins": {"a": "https://x"}})
        response = api.request("PUT", "/segments/s", json={"name": {"de": "Nur"}, "siteCode": "other"})
        assert response.status_code == 204
        assert get(api, "s") == {
            "id": "s",
            "name": {"de": "Nur"},
            "status": "INACTIVE",
            "siteCode": "other",
            "metadata": {"createdAt": ISO_MILLIS, "modifiedAt": ISO_MILLIS, "version": 2},
        }

    def test_matching_version_updates(self, api: Api) -> None:
        api.create_segment(id="s")
        response = api.request("PUT", "/segments/s", json=segment_body(siteCode="b", metadata={"version": 1}))
        assert response.status_code == 204
        assert get(api, "s")["siteCode"] == "b"
        response = api.request("PUT", "/segments/s", json=segment_body(siteCode="c", metadata={"version": 2}))
        assert response.status_code == 204
        assert get(api, "s")["metadata"]["version"] == 3

    @pytest.mark.parametrize("version", [0, 2, 1000, 2_147_483_647])
    def test_stale_version_is_409_and_nothing_changes(self, api: Api, version: int) -> None:
        api.create_segment(id="s")
        response = api.request("PUT", "/segments/s", json=segment_body(siteCode="b", metadata={"version": version}))
        assert response.status_code == 409
        assert response.json() == segment_error(
            409, "The resource you are attempting to access has changed.", resource_id="s"
        )
        doc = get(api, "s")
        assert (doc["siteCode"], doc["metadata"]["version"]) == ("main", 1)

    @pytest.mark.parametrize(
        ("version", "message"),
        [
            (-1, "Expected `int` >= 0"),
            (2**31, "Expected `int` <= 2147483647"),
            (2**70, "Expected `int` <= 2147483647"),
            ("one", "Expected `int`, got `str`"),
            (1.5, "Expected `int`, got `float`"),
        ],
    )
    def test_version_out_of_range_is_400(self, api: Api, version: Any, message: str) -> None:
        api.create_segment(id="s")
        response = api.request("PUT", "/segments/s", json=segment_body(metadata={"version": version}))
        assert response.status_code == 400
        assert response.json() == bad_body(message, "metadata.version")

    def test_omitted_version_means_no_lock(self, api: Api) -> None:
        api.create_segment(id="s")
        api.request("PUT", "/segments/s", json=segment_body(siteCode="b"))
        response = api.request("PUT", "/segments/s", json=segment_body(siteCode="c"))
        assert response.status_code == 204
        assert get(api, "s")["metadata"]["version"] == 3

    def test_version_on_create_by_put_is_ignored(self, api: Api) -> None:
        response = api.request("PUT", "/segments/s", json=segment_body(metadata={"version": 5}))
        assert response.status_code == 201
        assert get(api, "s")["metadata"]["version"] == 1

    def test_path_id_wins_over_body_id(self, api: Api) -> None:
        response = api.request("PUT", "/segments/p1", json=segment_body(id="other"))
        assert response.status_code == 201
        assert response.json() == {"id": "p1"}
        assert api.request("GET", "/segments/other").status_code == 404

    @pytest.mark.parametrize("segment_id", ["search", "items", "match"])
    def test_reserved_paths_are_not_upsert_targets(self, api: Api, segment_id: str) -> None:
        response = api.request("PUT", f"/segments/{segment_id}", json=segment_body())
        assert response.status_code == 405
        assert response.json() == segment_error(405, "The method is not allowed for the requested resource.")
        assert api.request("GET", "/segments").json() == []

    def test_bulk_path_is_the_bulk_upsert(self, api: Api) -> None:
        response = api.request("PUT", "/segments/bulk", json=segment_body())
        assert response.status_code == 400
        assert response.json() == bad_body("Expected `array`, got `object`")

    @pytest.mark.parametrize("segment_id", ["a%20b", "x" * 67, "a.b"])
    def test_invalid_id_is_400(self, api: Api, segment_id: str) -> None:
        response = api.request("PUT", f"/segments/{segment_id}", json=segment_body())
        assert response.status_code == 400
        assert response.json()["details"]["field"] == "id"
        assert api.request("GET", "/segments").json() == []

    def test_66_character_id(self, api: Api) -> None:
        assert api.request("PUT", f"/segments/{'x' * 66}", json=segment_body()).status_code == 201

    @pytest.mark.parametrize("field", ["name", "siteCode"])
    def test_missing_required_field(self, api: Api, field: str) -> None:
        api.create_segment(id="s")
        body = segment_body()
        del body[field]
        response = api.request("PUT", "/segments/s", json=body)
        assert response.status_code == 400
        assert response.json() == segment_error(
            400,
            f"Validation problem with request body: Object missing required field `{field}`.",
            field=field,
            type="invalid_value",
        )
        assert get(api, "s")["metadata"]["version"] == 1

    def test_bad_status(self, api: Api) -> None:
        response = api.request("PUT", "/segments/s", json=segment_body(status="DELETED"))
        assert response.status_code == 400
        assert response.json() == bad_body("Invalid enum value 'DELETED'", "status")

    def test_malformed_json(self, api: Api) -> None:
        response = api.request("PUT", "/segments/s", content=b"[", headers={"Content-Type": "application/json"})
        assert response.status_code == 400
        assert response.json() == segment_error(400, "Input data was truncated")
        assert api.request("GET", "/segments/s").status_code == 404

    def test_content_language(self, api: Api) -> None:
        api.create_segment(id="s")
        response = api.request("PUT", "/segments/s", json=segment_body(name="Or"), headers={"Content-Language": "fr"})
        assert response.status_code == 204
        assert get(api, "s")["name"] == {"fr": "Or"}


class TestDeleteSegment:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused_and_nothing_deleted(self, api: Api, case: str) -> None:
        api.create_segment(id="s")
        assert_refused(api, case, "DELETE", "/segments/s", valid_scopes=READ, required=MANAGE)
        assert api.request("GET", "/segments/s").status_code == 200

    def test_deletes(self, api: Api) -> None:
        api.create_segment(id="s")
        api.create_segment(id="keep")
        response = api.request("DELETE", "/segments/s")
        assert response.status_code == 204
        assert response.content == b""
        assert api.request("GET", "/segments/s").json() == not_found("s")
        assert [d["id"] for d in api.request("GET", "/segments").json()] == ["keep"]

    @pytest.mark.parametrize("path", ["/segments/missing", "/segments/missing?forceDelete=true"])
    def test_missing_is_204(self, api: Api, path: str) -> None:
        response = api.request("DELETE", path)
        assert response.status_code == 204
        assert response.content == b""

    def test_twice_is_204(self, api: Api) -> None:
        api.create_segment(id="s")
        assert api.request("DELETE", "/segments/s").status_code == 204
        assert api.request("DELETE", "/segments/s").status_code == 204

    @pytest.mark.parametrize("kind", ["customer", "b2b customer", "item"])
    @pytest.mark.parametrize("query", ["", "?forceDelete=false"])
    def test_with_assignments_needs_force(self, api: Api, database_url: str, kind: str, query: str) -> None:
        api.create_segment(id="s")
        if kind == "item":
            assign_item(database_url, api.tenant, "s", "p1")
        else:
            assign_customer(database_url, api.tenant, "s", "c1", "le1" if kind == "b2b customer" else "")
        response = api.request("DELETE", f"/segments/s{query}")
        assert response.status_code == 400
        assert response.json() == segment_error(
            400,
            "The segment s still has customer or item assignments; delete them first or use forceDelete=true "
            "to delete them with the segment.",
            resource_id="s",
        )
        assert api.request("GET", "/segments/s").status_code == 200
        assert assignment_count(database_url, api.tenant, "s") == 1

    def test_force_deletes_assignments_too(self, api: Api, database_url: str) -> None:
        api.create_segment(id="s")
        api.create_segment(id="other")
        assign_customer(database_url, api.tenant, "s", "c1")
        assign_customer(database_url, api.tenant, "s", "c2", "le1")
        assign_item(database_url, api.tenant, "s", "p1")
        assign_item(database_url, api.tenant, "s", "cat1", "CATEGORY")
        assign_customer(database_url, api.tenant, "other", "c1")
        response = api.request("DELETE", "/segments/s?forceDelete=true")
        assert response.status_code == 204
        assert api.request("GET", "/segments/s").status_code == 404
        assert assignment_count(database_url, api.tenant, "s") == 0
        assert assignment_count(database_url, api.tenant, "other") == 1

    def test_force_without_assignments(self, api: Api) -> None:
        api.create_segment(id="s")
        assert api.request("DELETE", "/segments/s?forceDelete=true").status_code == 204
        assert api.request("GET", "/segments/s").status_code == 404

    def test_recreate_after_delete_starts_at_version_1(self, api: Api) -> None:
        api.create_segment(id="s")
        api.request("PUT", "/segments/s", json=segment_body())
        api.request("DELETE", "/segments/s")
        api.create_segment(id="s")
        assert get(api, "s")["metadata"]["version"] == 1

    def test_invalid_force_delete(self, api: Api) -> None:
        api.create_segment(id="s")
        response = api.request("DELETE", "/segments/s?forceDelete=abc")
        assert response.status_code == 400
        message = "Invalid query parameter 'forceDelete': Expected `bool`, got `str`."
        assert response.json() == segment_error(400, message, field="forceDelete", type="invalid_value")
        assert api.request("GET", "/segments/s").status_code == 200

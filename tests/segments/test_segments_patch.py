"""PATCH /segments/{segmentId} over HTTP (operation 6): RFC 6902 `add`, `remove` and `replace`, nothing else."""

from __future__ import annotations

from typing import Any

import pytest
from tests.factories import AUTH_FAILURES, ISO_MILLIS, Api, assert_refused, segment_error

MANAGE = ("customersegment.segment_manage",)
READ = ("customersegment.segment_read", "customersegment.segment_read_own")
PATCH_JSON = {"Content-Type": "application/json-patch+json"}


def get(api: Api, segment_id: str = "s") -> dict[str, Any]:
    response = api.request("GET", f"/segments/{segment_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def patch(api: Api, operations: Any, segment_id: str = "s", **kwargs: Any) -> Any:
    return api.request("PATCH", f"/segments/{segment_id}", json=operations, **kwargs)


def assert_unchanged(api: Api, before: dict[str, Any]) -> None:
    assert get(api, before["id"]) == before


class TestPatchSegment:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused_and_nothing_changed(self, api: Api, case: str) -> None:
        api.create_segment(id="s")
        before = get(api)
        assert_refused(
            api,
            case,
            "PATCH",
            "/segments/s",
            valid_scopes=READ,
            required=MANAGE,
            json=[{"op": "replace", "path": "/status", "value": "INACTIVE"}],
        )
        assert_unchanged(api, before)

    def test_spec_examples_one_after_another(self, api: Api) -> None:
        api.create_segment(id="s", mixins={"productCustomAttributes": {"pricingMeasurePrice": 10}})
        created = get(api)["metadata"]["createdAt"]
        examples: list[list[dict[str, Any]]] = [
            [{"op": "replace", "path": "/status", "value": "INACTIVE"}],
            [{"op": "replace", "path": "/name", "value": {"en": "New name"}}],
            [{"op": "remove", "path": "/description"}],
            [{"op": "replace", "path": "/mixins/productCustomAttributes/pricingMeasurePrice", "value": 15}],
        ]
        for version, operations in enumerate(examples, start=2):
            response = patch(api, operations)
            assert response.status_code == 204, response.text
            assert response.content == b""
            assert get(api)["metadata"]["version"] == version
        assert get(api) == {
            "id": "s",
            "name": {"en": "New name"},
            "validity": {"from": "2024-04-17T08:00:00.000Z", "to": "2025-04-17T08:00:00.000Z"},
            "status": "INACTIVE",
            "siteCode": "main",
            "mixins": {"productCustomAttributes": {"pricingMeasurePrice": 15}},
            "metadata": {"createdAt": created, "modifiedAt": ISO_MILLIS, "version": 5},
        }

    def test_json_patch_media_type(self, api: Api) -> None:
        api.create_segment(id="s")
        response = api.request(
            "PATCH",
            "/segments/s",
            headers=PATCH_JSON,
            content=b'[{"op":"replace","path":"/status","value":"INACTIVE"}]',
        )
        assert response.status_code == 204, response.text
        assert get(api)["status"] == "INACTIVE"

    def test_several_operations_apply_in_order_as_one_change(self, api: Api) -> None:
        api.create_segment(id="s")
        response = patch(
            api,
            [
                {"op": "add", "path": "/name/de", "value": "Gold"},
                {"op": "replace", "path": "/siteCode", "value": "b2b"},
                {"op": "add", "path": "/mixins", "value": {"a": {"tags": ["x"]}}},
                {"op": "add", "path": "/mixins/a/tags/-", "value": "z"},
                {"op": "add", "path": "/mixins/a/tags/1", "value": "y"},
                {"op": "remove", "path": "/validity/to"},
                {"op": "add", "path": "/metadata/mixins", "value": {"a": "https://example.com/a.json"}},
            ],
        )
        assert response.status_code == 204, response.text
        doc = get(api)
        assert doc["name"] == {"en": "Golden Segment", "de": "Gold"}
        assert doc["siteCode"] == "b2b"
        assert doc["mixins"] == {"a": {"tags": ["x", "y", "z"]}}
        assert doc["validity"] == {"from": "2024-04-17T08:00:00.000Z"}
        assert doc["metadata"] == {
            "createdAt": ISO_MILLIS,
            "modifiedAt": ISO_MILLIS,
            "version": 2,
            "mixins": {"a": "https://example.com/a.json"},
        }

    def test_add_replaces_an_existing_member(self, api: Api) -> None:
        api.create_segment(id="s")
        assert patch(api, [{"op": "add", "path": "/status", "value": "INACTIVE"}]).status_code == 204
        assert get(api)["status"] == "INACTIVE"

    def test_escaped_pointer_tokens(self, api: Api) -> None:
        api.create_segment(id="s", mixins={"a/b": {"c~d": 1}})
        assert patch(api, [{"op": "replace", "path": "/mixins/a~1b/c~0d", "value": 2}]).status_code == 204
        assert get(api)["mixins"] == {"a/b": {"c~d": 2}}

    def test_remove_array_element(self, api: Api) -> None:
        api.create_segment(id="s", mixins={"tags": ["a", "b", "c"]})
        assert patch(api, [{"op": "remove", "path": "/mixins/tags/1"}]).status_code == 204
        assert get(api)["mixins"] == {"tags": ["a", "c"]}

    def test_add_validity_to_a_segment_without_one(self, api: Api) -> None:
        api.create_segment(id="s", validity=None)
        response = patch(api, [{"op": "add", "path": "/validity", "value": {"from": "2024-01-01T00:00:00+01:00"}}])
        assert response.status_code == 204, response.text
        assert get(api)["validity"] == {"from": "2023-12-31T23:00:00.000Z"}

    def test_plain_string_takes_the_content_language(self, api: Api) -> None:
        api.create_segment(id="s")
        response = patch(
            api,
            [{"op": "replace", "path": "/description", "value": "Beschreibung"}],
            headers={"Content-Language": "de"},
        )
        assert response.status_code == 204
        assert get(api)["description"] == {"de": "Beschreibung"}

    def test_plain_string_without_content_language_is_en(self, api: Api) -> None:
        api.create_segment(id="s", name={"de": "Gold"})
        assert patch(api, [{"op": "replace", "path": "/name", "value": "Golden"}]).status_code == 204
        assert get(api)["name"] == {"en": "Golden"}

    def test_matching_version_is_accepted(self, api: Api) -> None:
        api.create_segment(id="s")
        response = patch(
            api,
            [
                {"op": "replace", "path": "/metadata/version", "value": 1},
                {"op": "replace", "path": "/status", "value": "INACTIVE"},
            ],
        )
        assert response.status_code == 204
        assert get(api)["metadata"]["version"] == 2

    @pytest.mark.parametrize("version", [0, 2, 99])
    def test_stale_version_is_409(self, api: Api, version: int) -> None:
        api.create_segment(id="s")
        before = get(api)
        response = patch(
            api,
            [
                {"op": "replace", "path": "/metadata/version", "value": version},
                {"op": "replace", "path": "/status", "value": "INACTIVE"},
            ],
        )
        assert response.status_code == 409
        assert response.json() == segment_error(
            409, "The resource you are attempting to access has changed.", resource_id="s"
        )
        assert_unchanged(api, before)

    def test_unknown_segment_is_404(self, api: Api) -> None:
        response = patch(api, [{"op": "replace", "path": "/status", "value": "ACTIVE"}], segment_id="missing")
        assert response.status_code == 404
        assert response.json() == segment_error(
            404, "The resource with id missing has not been found.", resource_id="missing"
        )
        assert api.request("GET", "/segments/missing").status_code == 404

    @pytest.mark.parametrize("op", ["move", "copy", "test", "REPLACE", "merge"])
    def test_unsupported_op_is_400(self, api: Api, op: str) -> None:
        api.create_segment(id="s")
        before = get(api)
        response = patch(api, [{"op": op, "from": "/name", "path": "/description", "value": {"en": "x"}}])
        assert response.status_code == 400
        assert response.json() == segment_error(
            400, f"Validation problem with request body: Invalid enum value '{op}'."
        )
        assert_unchanged(api, before)

    @pytest.mark.parametrize(
        ("operation", "message", "field"),
        [
            (
                {"op": "replace", "path": "/nope/x", "value": 1},
                "Cannot replace '/nope/x': '/nope' does not exist.",
                "path",
            ),
            ({"op": "replace", "path": "/nope", "value": 1}, "Cannot replace '/nope': it does not exist.", "path"),
            ({"op": "remove", "path": "/mixins"}, "Cannot remove '/mixins': it does not exist.", "path"),
            (
                {"op": "replace", "path": "/mixins/productCustomAttributes/pricingMeasurePrice", "value": 15},
                "Cannot replace '/mixins/productCustomAttributes/pricingMeasurePrice': '/mixins' does not exist.",
                "path",
            ),
            (
                {"op": "remove", "path": "/metadata/createdAt"},
                "Cannot remove '/metadata/createdAt': it does not exist.",
                "path",
            ),
            (
                {"op": "replace", "path": "status", "value": "ACTIVE"},
                "Invalid path 'status': a JSON Pointer starts with '/'.",
                "path",
            ),
            ({"op": "replace", "path": "/status"}, "Operation 0: 'replace' needs a 'value'.", "value"),
            (
                {"op": "add", "path": "/name/en/x", "value": 1},
                "Cannot add '/name/en/x': its parent is not an object or an array.",
                "path",
            ),
            ({"op": "remove", "path": ""}, "Cannot remove the whole document.", "path"),
        ],
    )
    def test_operation_that_cannot_apply_is_400(
        self, api: Api, operation: dict[str, Any], message: str, field: str
    ) -> None:
        api.create_segment(id="s")
        before = get(api)
        response = patch(api, [operation])
        assert response.status_code == 400
        assert response.json() == segment_error(400, message, field=field)
        assert_unchanged(api, before)

    @pytest.mark.parametrize(
        ("operation", "message"),
        [
            ({"op": "replace", "path": "/status", "value": "FOO"}, "Invalid enum value 'FOO' - at `$.status`"),
            ({"op": "remove", "path": "/name"}, "Object missing required field `name`"),
            ({"op": "remove", "path": "/siteCode"}, "Object missing required field `siteCode`"),
            ({"op": "replace", "path": "/siteCode", "value": ""}, "Expected `str` of length >= 1 - at `$.siteCode`"),
            (
                {"op": "replace", "path": "/validity/from", "value": "nope"},
                "Invalid RFC3339 encoded datetime - at `$.validity.from`",
            ),
            (
                {"op": "replace", "path": "/mixins", "value": [1]},
                "Expected `object | null`, got `array` - at `$.mixins`",
            ),
        ],
    )
    def test_result_that_fails_validation_is_400_and_nothing_stored(
        self, api: Api, operation: dict[str, Any], message: str
    ) -> None:
        api.create_segment(id="s", mixins={"a": 1})
        before = get(api)
        response = patch(api, [operation])
        assert response.status_code == 400
        assert response.json() == segment_error(400, f"Validation problem with the patched segment: {message}.")
        assert_unchanged(api, before)

    def test_validity_end_before_start_is_400(self, api: Api) -> None:
        api.create_segment(id="s")
        before = get(api)
        response = patch(api, [{"op": "replace", "path": "/validity/from", "value": "2200-01-01T00:00:00Z"}])
        assert response.status_code == 400
        assert response.json() == segment_error(
            400,
            "Validation problem with request body: validity.to must be later than validity.from.",
            field="validity",
            type="invalid_value",
        )
        assert_unchanged(api, before)

    def test_nul_character_is_400(self, api: Api) -> None:
        api.create_segment(id="s")
        before = get(api)
        response = patch(api, [{"op": "replace", "path": "/name", "value": {"en": "a\u0000"}}])
        assert response.status_code == 400
        assert response.json() == segment_error(400, "Invalid input: text cannot contain the NUL character (\\u0000).")
        assert_unchanged(api, before)

    def test_a_failing_operation_undoes_the_earlier_ones(self, api: Api) -> None:
        api.create_segment(id="s")
        before = get(api)
        response = patch(
            api, [{"op": "replace", "path": "/status", "value": "INACTIVE"}, {"op": "remove", "path": "/nope"}]
        )
        assert response.status_code == 400
        assert_unchanged(api, before)

    @pytest.mark.parametrize(
        "operation",
        [
            {"op": "replace", "path": "/id", "value": "other"},
            {"op": "remove", "path": "/id"},
            {"op": "replace", "path": "", "value": {"name": {"en": "x"}, "siteCode": "main"}},
        ],
    )
    def test_changing_the_id_is_400(self, api: Api, operation: dict[str, Any]) -> None:
        api.create_segment(id="s")
        before = get(api)
        response = patch(api, [operation])
        assert response.status_code == 400
        assert response.json() == segment_error(
            400, "The patch must not change the segment's id.", field="id", type="invalid_value"
        )
        assert_unchanged(api, before)
        assert api.request("GET", "/segments/other").status_code == 404

    def test_replacing_id_with_itself_is_allowed(self, api: Api) -> None:
        api.create_segment(id="s")
        assert patch(api, [{"op": "replace", "path": "/id", "value": "s"}]).status_code == 204

    @pytest.mark.parametrize(
        ("body", "message", "field"),
        [
            ({"op": "replace", "path": "/status", "value": "INACTIVE"}, "Expected `array`, got `object`", None),
            ([1], "Expected `object`, got `int`", None),
            ([{"path": "/status", "value": "INACTIVE"}], "Object missing required field `op`", "op"),
            ([{"op": "replace", "value": "INACTIVE"}], "Object missing required field `path`", "path"),
        ],
    )
    def test_body_that_is_not_a_patch_is_400(self, api: Api, body: Any, message: str, field: str | None) -> None:
        api.create_segment(id="s")
        before = get(api)
        response = patch(api, body)
        assert response.status_code == 400
        assert response.json() == segment_error(
            400, f"Validation problem with request body: {message}.", field=field, type="invalid_value"
        )
        assert_unchanged(api, before)

    def test_malformed_json(self, api: Api) -> None:
        api.create_segment(id="s")
        response = api.request("PATCH", "/segments/s", content=b"[{", headers=PATCH_JSON)
        assert response.status_code == 400
        assert response.json() == segment_error(400, "Input data was truncated")

"""POST, PUT and DELETE /segments/bulk over HTTP (operations 8-10): at most 200 items, 207 with one result per item
(`index` 0-based), and every item committed or rejected on its own."""

from __future__ import annotations

from typing import Any

import httpx
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
TOO_MANY = segment_error(400, "A bulk request may hold at most 200 items; this one holds 201.")
NUL = "Invalid input: text cannot contain the NUL character (\\u0000)."


def created(index: int, segment_id: str) -> dict[str, Any]:
    return {"index": index, "code": 201, "status": "Created", "id": segment_id}


def ok(index: int, segment_id: str) -> dict[str, Any]:
    return {"index": index, "code": 204, "status": "OK", "id": segment_id}


def failed(index: int, code: int, message: str, segment_id: str | None = None) -> dict[str, Any]:
    status = {400: "Bad Request", 409: "Conflict"}[code]
    result: dict[str, Any] = {"index": index, "code": code, "status": status, "message": message}
    if segment_id is not None:
        result["id"] = segment_id
    return result


def results(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 207, response.text
    body: list[dict[str, Any]] = response.json()
    assert [r["index"] for r in body] == list(range(len(body)))
    return body


def stored(api: Api) -> list[str]:
    return [d["id"] for d in api.request("GET", "/segments", params={"sort": "id", "pageSize": "1000"}).json()]


def get(api: Api, segment_id: str) -> dict[str, Any]:
    response = api.request("GET", f"/segments/{segment_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class TestBulkCreate:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused_and_nothing_stored(self, api: Api, case: str) -> None:
        assert_refused(
            api, case, "POST", "/segments/bulk", valid_scopes=READ, required=MANAGE, json=[segment_body(id="a")]
        )
        assert stored(api) == []

    def test_creates_each_item(self, api: Api) -> None:
        body = results(api.request("POST", "/segments/bulk", json=[segment_body(id="a"), segment_body()]))
        assert body[0] == created(0, "a")
        generated = body[1]["id"]
        assert body[1] == created(1, generated)
        assert len(generated) == 24
        assert stored(api) == sorted(["a", generated])
        assert get(api, "a")["metadata"] == {"createdAt": ISO_MILLIS, "modifiedAt": ISO_MILLIS, "version": 1}

    def test_spec_example(self, api: Api) -> None:
        platinum = {
            "id": "61ge81e13562e22001h6cf456",
            "name": {"en": "Platinum Segment"},
            "description": {"en": "Platinum Segment"},
            "validity": {"from": "2024-07-20T08:00:00.000Z", "to": "2025-07-20T08:00:00.000Z"},
            "status": "INACTIVE",
            "siteCode": "main",
        }
        response = api.request("POST", "/segments/bulk", json=[segment_body(id="628cd20c6e8b2432b6346ca6"), platinum])
        assert results(response) == [created(0, "628cd20c6e8b2432b6346ca6"), created(1, "61ge81e13562e22001h6cf456")]
        assert {k: v for k, v in get(api, "61ge81e13562e22001h6cf456").items() if k != "metadata"} == platinum

    def test_bad_items_fail_alone(self, api: Api) -> None:
        api.create_segment(id="taken")
        response = api.request(
            "POST",
            "/segments/bulk",
            json=[
                segment_body(id="a"),
                segment_body(id="b", status="X"),
                7,
                segment_body(id="taken"),
                segment_body(id="a"),
                segment_body(id="bulk"),
                {"id": "c", "siteCode": "main"},
                segment_body(id="d", name={"en": "a\u0000"}),
                segment_body(id="e"),
            ],
        )
        assert results(response) == [
            created(0, "a"),
            failed(1, 400, "Validation problem with request body: Invalid enum value 'X' - at `$.status`.", "b"),
            failed(2, 400, "Validation problem with request body: Expected `object`, got `int`."),
            failed(3, 409, "The resource already exists.", "taken"),
            failed(4, 409, "The resource already exists.", "a"),
            failed(
                5, 400, "Invalid id 'bulk': it is reserved by the API's paths (bulk, items, match, search).", "bulk"
            ),
            failed(6, 400, "Validation problem with request body: Object missing required field `name`.", "c"),
            failed(7, 400, NUL, "d"),
            created(8, "e"),
        ]
        assert stored(api) == ["a", "e", "taken"]
        assert get(api, "taken")["metadata"]["version"] == 1

    def test_content_language(self, api: Api) -> None:
        response = api.request(
            "POST", "/segments/bulk", json=[segment_body(id="a", name="Gold")], headers={"Content-Language": "de"}
        )
        assert results(response) == [created(0, "a")]
        assert get(api, "a")["name"] == {"de": "Gold"}

    def test_invalid_content_language_rejects_the_request(self, api: Api) -> None:
        response = api.request(
            "POST", "/segments/bulk", json=[segment_body(id="a")], headers={"Content-Language": "!!"}
        )
        assert response.status_code == 400
        assert response.json()["details"]["field"] == "Content-Language"
        assert stored(api) == []

    def test_200_items(self, api: Api) -> None:
        response = api.request("POST", "/segments/bulk", json=[segment_body(id=f"s{n:03d}") for n in range(200)])
        assert results(response) == [created(n, f"s{n:03d}") for n in range(200)]
        total = api.request("GET", "/segments", headers={"X-Total-Count": "true"}).headers["X-Total-Count"]
        assert total == "200"

    def test_201_items_reject_the_whole_request(self, api: Api) -> None:
        response = api.request("POST", "/segments/bulk", json=[segment_body(id=f"s{n}") for n in range(201)])
        assert response.status_code == 400
        assert response.json() == TOO_MANY
        assert stored(api) == []

    def test_empty_array(self, api: Api) -> None:
        assert results(api.request("POST", "/segments/bulk", json=[])) == []

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            (segment_body(), "Validation problem with request body: Expected `array`, got `object`."),
            ("a", "Validation problem with request body: Expected `array`, got `str`."),
            (None, "The request body is missing; send a JSON body."),
        ],
    )
    def test_body_must_be_an_array(self, api: Api, body: Any, message: str) -> None:
        response = api.request("POST", "/segments/bulk", json=body)
        assert response.status_code == 400
        assert response.json() == segment_error(400, message)

    def test_malformed_json(self, api: Api) -> None:
        response = api.request("POST", "/segments/bulk", content=b"[{]", headers={"Content-Type": "application/json"})
        assert response.status_code == 400
        assert response.json() == segment_error(400, "JSON is malformed: object keys must be strings (byte 2)")


class TestBulkUpsert:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused_and_nothing_stored(self, api: Api, case: str) -> None:
        assert_refused(
            api, case, "PUT", "/segments/bulk", valid_scopes=READ, required=MANAGE, json=[segment_body(id="a")]
        )
        assert stored(api) == []

    def test_creates_and_updates(self, api: Api) -> None:
        api.create_segment(id="old", mixins={"x": 1})
        response = api.request(
            "PUT",
            "/segments/bulk",
            json=[segment_body(id="new"), {"id": "old", "name": {"en": "Replaced"}, "siteCode": "b"}],
        )
        assert results(response) == [created(0, "new"), ok(1, "old")]
        assert get(api, "new")["metadata"]["version"] == 1
        assert get(api, "old") == {
            "id": "old",
            "name": {"en": "Replaced"},
            "status": "INACTIVE",
            "siteCode": "b",
            "metadata": {"createdAt": ISO_MILLIS, "modifiedAt": ISO_MILLIS, "version": 2},
        }

    def test_same_id_twice_creates_then_updates(self, api: Api) -> None:
        response = api.request("PUT", "/segments/bulk", json=[segment_body(id="a"), segment_body(id="a", siteCode="b")])
        assert results(response) == [created(0, "a"), ok(1, "a")]
        doc = get(api, "a")
        assert (doc["siteCode"], doc["metadata"]["version"]) == ("b", 2)

    def test_spec_example_versions(self, api: Api) -> None:
        api.create_segment(id="628cd20c6e8b2432b6346ca6")
        api.create_segment(id="61ge81e13562e22001h6cf456")
        response = api.request(
            "PUT",
            "/segments/bulk",
            json=[
                segment_body(id="628cd20c6e8b2432b6346ca6", metadata={"version": 1}),
                segment_body(id="61ge81e13562e22001h6cf456", status="INACTIVE", metadata={"version": 2}),
            ],
        )
        assert results(response) == [
            ok(0, "628cd20c6e8b2432b6346ca6"),
            failed(1, 409, "The resource you are attempting to access has changed.", "61ge81e13562e22001h6cf456"),
        ]
        assert get(api, "628cd20c6e8b2432b6346ca6")["metadata"]["version"] == 2
        doc = get(api, "61ge81e13562e22001h6cf456")
        assert (doc["status"], doc["metadata"]["version"]) == ("ACTIVE", 1)

    def test_bad_items_fail_alone(self, api: Api) -> None:
        api.create_segment(id="keep")
        response = api.request(
            "PUT",
            "/segments/bulk",
            json=[
                segment_body(),
                segment_body(id="a"),
                segment_body(id="a b"),
                segment_body(id="items"),
                segment_body(id="keep", status="GONE"),
                "keep",
                segment_body(id="keep", metadata={"version": 3}),
                segment_body(id="n", siteCode="\u0000"),
                segment_body(id="b", metadata={"version": 2**40}),
            ],
        )
        assert results(response) == [
            failed(0, 400, "Validation problem with request body: id is required in a bulk upsert item."),
            created(1, "a"),
            failed(2, 400, "Invalid id 'a b': use 1 to 66 characters of letters, digits, '_' and '-'.", "a b"),
            failed(
                3, 400, "Invalid id 'items': it is reserved by the API's paths (bulk, items, match, search).", "items"
            ),
            failed(4, 400, "Validation problem with request body: Invalid enum value 'GONE' - at `$.status`.", "keep"),
            failed(5, 400, "Validation problem with request body: Expected `object`, got `str`.", "keep"),
            failed(6, 409, "The resource you are attempting to access has changed.", "keep"),
            failed(7, 400, NUL, "n"),
            failed(
                8,
                400,
                "Validation problem with request body: Expected `int` <= 2147483647 - at `$.metadata.version`.",
                "b",
            ),
        ]
        assert stored(api) == ["a", "keep"]
        assert get(api, "keep")["metadata"]["version"] == 1

    def test_content_language(self, api: Api) -> None:
        response = api.request(
            "PUT",
            "/segments/bulk",
            json=[segment_body(id="a", description="Descr")],
            headers={"Content-Language": "fr"},
        )
        assert results(response) == [created(0, "a")]
        assert get(api, "a")["description"] == {"fr": "Descr"}

    def test_200_items(self, api: Api) -> None:
        api.create_segment(id="s000")
        response = api.request("PUT", "/segments/bulk", json=[segment_body(id=f"s{n:03d}") for n in range(200)])
        assert results(response) == [ok(0, "s000")] + [created(n, f"s{n:03d}") for n in range(1, 200)]

    def test_201_items_reject_the_whole_request(self, api: Api) -> None:
        api.create_segment(id="s0")
        response = api.request("PUT", "/segments/bulk", json=[segment_body(id=f"s{n}") for n in range(201)])
        assert response.status_code == 400
        assert response.json() == TOO_MANY
        assert stored(api) == ["s0"]
        assert get(api, "s0")["metadata"]["version"] == 1

    def test_body_must_be_an_array(self, api: Api) -> None:
        response = api.request("PUT", "/segments/bulk", json={"id": "a"})
        assert response.status_code == 400
        assert response.json() == segment_error(
            400, "Validation problem with request body: Expected `array`, got `object`."
        )


class TestBulkDelete:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused_and_nothing_deleted(self, api: Api, case: str) -> None:
        api.create_segment(id="a")
        assert_refused(api, case, "DELETE", "/segments/bulk", valid_scopes=READ, required=MANAGE, json=["a"])
        assert stored(api) == ["a"]

    def test_deletes_each_id(self, api: Api) -> None:
        for segment_id in ("a", "b", "c"):
            api.create_segment(id=segment_id)
        response = api.request("DELETE", "/segments/bulk", json=["a", "c", "missing", "a"])
        assert results(response) == [ok(0, "a"), ok(1, "c"), ok(2, "missing"), ok(3, "a")]
        assert stored(api) == ["b"]

    def test_bad_items_fail_alone(self, api: Api, database_url: str) -> None:
        for segment_id in ("a", "busy", "c"):
            api.create_segment(id=segment_id)
        assign_customer(database_url, api.tenant, "busy", "c1")
        response = api.request("DELETE", "/segments/bulk", json=["a", 5, None, {"id": "c"}, "busy", "c"])
        item_message = "Each item of a bulk delete must be a segment id string."
        assert results(response) == [
            ok(0, "a"),
            failed(1, 400, item_message),
            failed(2, 400, item_message),
            failed(3, 400, item_message, "c"),
            failed(
                4,
                400,
                "The segment busy still has customer or item assignments; delete them first or use "
                "forceDelete=true to delete them with the segment.",
                "busy",
            ),
            ok(5, "c"),
        ]
        assert stored(api) == ["busy"]
        assert assignment_count(database_url, api.tenant, "busy") == 1

    def test_force_delete_applies_to_every_item(self, api: Api, database_url: str) -> None:
        for segment_id in ("a", "b", "c", "keep"):
            api.create_segment(id=segment_id)
        assign_customer(database_url, api.tenant, "a", "c1", "L1")
        assign_item(database_url, api.tenant, "b", "p1")
        assign_item(database_url, api.tenant, "keep", "p1")
        response = api.request("DELETE", "/segments/bulk", params={"forceDelete": "true"}, json=["a", "b", "c"])
        assert results(response) == [ok(0, "a"), ok(1, "b"), ok(2, "c")]
        assert stored(api) == ["keep"]
        assert [assignment_count(database_url, api.tenant, s) for s in ("a", "b", "keep")] == [0, 0, 1]

    def test_force_delete_false(self, api: Api, database_url: str) -> None:
        api.create_segment(id="a")
        assign_item(database_url, api.tenant, "a", "cat", "CATEGORY")
        response = api.request("DELETE", "/segments/bulk", params={"forceDelete": "false"}, json=["a"])
        assert results(response)[0]["code"] == 400
        assert stored(api) == ["a"]

    def test_invalid_force_delete(self, api: Api) -> None:
        api.create_segment(id="a")
        response = api.request("DELETE", "/segments/bulk", params={"forceDelete": "maybe"}, json=["a"])
        assert response.status_code == 400
        message = "Invalid query parameter 'forceDelete': Expected `bool`, got `str`."
        assert response.json() == segment_error(400, message, field="forceDelete", type="invalid_value")
        assert stored(api) == ["a"]

    def test_nul_in_id_fails_alone(self, api: Api) -> None:
        api.create_segment(id="a")
        response = api.request("DELETE", "/segments/bulk", json=["x\u0000", "a"])
        assert results(response) == [failed(0, 400, NUL, "x\u0000"), ok(1, "a")]

    def test_200_items(self, api: Api) -> None:
        api.request("POST", "/segments/bulk", json=[segment_body(id=f"s{n:03d}") for n in range(200)])
        response = api.request("DELETE", "/segments/bulk", json=[f"s{n:03d}" for n in range(200)])
        assert results(response) == [ok(n, f"s{n:03d}") for n in range(200)]
        assert stored(api) == []

    def test_201_items_reject_the_whole_request(self, api: Api) -> None:
        api.create_segment(id="s0")
        response = api.request("DELETE", "/segments/bulk", json=[f"s{n}" for n in range(201)])
        assert response.status_code == 400
        assert response.json() == TOO_MANY
        assert stored(api) == ["s0"]

    def test_empty_array(self, api: Api) -> None:
        assert results(api.request("DELETE", "/segments/bulk", json=[])) == []

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ("a", "Validation problem with request body: Expected `array`, got `str`."),
            ({"ids": ["a"]}, "Validation problem with request body: Expected `array`, got `object`."),
            (None, "The request body is missing; send a JSON body."),
        ],
    )
    def test_body_must_be_an_array(self, api: Api, body: Any, message: str) -> None:
        api.create_segment(id="a")
        response = api.request("DELETE", "/segments/bulk", json=body)
        assert response.status_code == 400
        assert response.json() == segment_error(400, message)
        assert stored(api) == ["a"]

"""The spec's own examples, verbatim: create the Golden Segment, read it back, find it with the search example."""

from __future__ import annotations

from tests.factories import ISO_MILLIS, Api

#: `components.examples.SegmentCreation` of customer-segment.yml, exactly as written there.
SPEC_CREATION = {
    "id": "628cd20c6e8b2432b6346ca6",
    "name": {"en": "Golden Segment"},
    "description": {"en": "Golden Segment"},
    "validity": {"from": "2024-04-17T08:00:00.000Z", "to": "2025-04-17T08:00:00.000Z"},
    "status": "ACTIVE",
    "siteCode": "main",
}


def test_spec_example_create_get_and_search(api: Api) -> None:
    response = api.request("POST", "/segments", json=SPEC_CREATION)
    assert response.status_code == 201, response.text
    assert response.json() == {"id": "628cd20c6e8b2432b6346ca6"}

    got = api.request("GET", "/segments/628cd20c6e8b2432b6346ca6")
    assert got.status_code == 200, got.text
    # `components.examples.SegmentResponse`, with this server's own timestamps.
    expected = {**SPEC_CREATION, "metadata": {"createdAt": ISO_MILLIS, "modifiedAt": ISO_MILLIS, "version": 1}}
    assert got.json() == expected
    assert list(got.json()) == ["id", "name", "description", "validity", "status", "siteCode", "metadata"]

    found = api.request("POST", "/segments/search", json={"q": "siteCode:main"}, headers={"X-Total-Count": "true"})
    assert found.status_code == 200, found.text
    assert found.headers["X-Total-Count"] == "1"
    assert found.json() == [got.json()]

"""Segment validity at the ends of the date-time range: the first and last instants of years 1-9999 are refused,
because PostgreSQL would keep them as -infinity and infinity and the validity would not read back."""

from __future__ import annotations

import pytest
from tests.factories import Api, segment_body, segment_error


@pytest.mark.parametrize(
    ("bound", "value"),
    [
        ("from", "0001-01-01T00:00:00Z"),
        ("from", "0001-01-01T00:00:00.000+00:00"),
        ("to", "9999-12-31T23:59:59.999999Z"),
        ("to", "9999-12-31T23:59:59.999999"),
    ],
)
def test_the_extreme_instants_are_400(api: Api, bound: str, value: str) -> None:
    response = api.request("POST", "/segments", json=segment_body(validity={bound: value}))
    assert response.status_code == 400
    written = "0001-01-01T00:00:00+00:00" if bound == "from" else "9999-12-31T23:59:59.999999+00:00"
    assert response.json() == segment_error(
        400,
        f"Invalid date-time {written}: in UTC it must lie after 0001-01-01T00:00:00Z and before "
        "9999-12-31T23:59:59.999999Z.",
        field=f"validity.{bound}",
        type="invalid_value",
    )
    assert api.request("GET", "/segments").json() == []


def test_the_extreme_instants_are_400_on_replace(api: Api) -> None:
    segment_id = api.create_segment()
    replaced = api.request(
        "PUT", f"/segments/{segment_id}", json=segment_body(validity={"from": "0001-01-01T00:00:00Z"})
    )
    assert replaced.status_code == 400
    assert replaced.json()["details"]["field"] == "validity.from"
    stored = api.request("GET", f"/segments/{segment_id}").json()
    assert stored["validity"] == {"from": "2024-04-17T08:00:00.000Z", "to": "2025-04-17T08:00:00.000Z"}


def test_the_instants_next_to_them_are_kept(api: Api) -> None:
    validity = {"from": "0001-01-01T00:00:00.001Z", "to": "9999-12-31T23:59:59.999Z"}
    segment_id = api.create_segment(validity=validity)
    assert api.request("GET", f"/segments/{segment_id}").json()["validity"] == validity
    listed = api.request("GET", "/segments").json()
    assert [s["validity"] for s in listed] == [validity]

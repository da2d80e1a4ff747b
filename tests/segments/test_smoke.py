from tests.factories import Api, segment_body


def test_create_and_get(api: Api) -> None:
    response = api.request("POST", "/segments", json=segment_body(id="628cd20c6e8b2432b6346ca6"))
    assert response.status_code == 201, response.text
    assert response.json() == {"id": "628cd20c6e8b2432b6346ca6"}
    got = api.request("GET", "/segments/628cd20c6e8b2432b6346ca6")
    assert got.status_code == 200, got.text
    assert got.json()["metadata"]["version"] == 1

"""GET /contact-assignments: q, the filter parameters (`legalEntity.id`, `customer.id`, `type`, `primary`), paging
(16 by default), sort, fields and totals."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.factories import AUTH_FAILURES, PAGE_BOUNDS, Tokens, assert_refused, run_sql
from tests.legal_entities.helpers import CA_MANAGE, CA_READ, Management, customer_token, error

KNOWN_FIELDS = (
    "customer.id, id, legalEntity.id, legalEntity.name, metadata.createdAt, metadata.modifiedAt, "
    "metadata.version, metadataCreatedAt, metadataModifiedAt, mixins, primary, type"
)


@pytest.fixture
def api(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> Management:
    return Management(client, tokens, tenant)


@pytest.fixture
def seeded(api: Management) -> Management:
    """Assignments a1-a5 over legal entities L1 ("ABC Company") and L2 ("XYZ Corp") and customers c1-c3."""
    api.create_legal_entity(id="L1", name="ABC Company")
    api.create_legal_entity(id="L2", name="XYZ Corp")
    for customer_id in ("c1", "c2", "c3"):
        api.create_customer(customer_id)
    api.create_contact("L1", "c1", id="a1", type="PRIMARY", primary=True, mixins={"dept": {"name": "Sales"}})
    api.create_contact("L1", "c1", id="a2", type="BILLING")
    api.create_contact("L1", "c2", id="a3", type="LOGISTICS", mixins={"dept": {"name": "Ops"}})
    api.create_contact("L2", "c2", id="a4", type="CONTACT", primary=True)
    api.create_contact("L2", "c3", id="a5")
    return api


def listed(api: Management, **params: str) -> httpx.Response:
    return api.request("GET", "/contact-assignments", params={"sort": "id", **params})


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [doc["id"] for doc in response.json()]


class TestListContactAssignments:
    @pytest.mark.parametrize("case", AUTH_FAILURES)
    def test_refused(self, api: Management, case: str) -> None:
        assert_refused(api, case, "GET", "/contact-assignments", valid_scopes=CA_MANAGE, required=CA_READ)

    def test_customer_token_is_403(self, seeded: Management, app: Litestar) -> None:
        response = seeded.request("GET", "/contact-assignments", token=customer_token(app, seeded.tenant, "c1"))
        assert response.status_code == 403
        assert response.json() == error(403, "Required scope(s): customermanagement.contactassignment_read.")

    def test_empty_tenant(self, api: Management) -> None:
        response = api.request("GET", "/contact-assignments")
        assert (response.status_code, response.json()) == (200, [])

    def test_whole_documents(self, seeded: Management) -> None:
        docs = listed(seeded, q="id:(a1,a4)").json()
        assert docs == [seeded.request("GET", f"/contact-assignments/{i}").json() for i in ("a1", "a4")]
        assert docs[1]["legalEntity"]["name"] == "XYZ Corp"

    def test_other_tenants_are_not_listed(
        self, seeded: Management, client: TestClient[Litestar], tokens: Tokens
    ) -> None:
        other = Management(client, tokens, "o" + seeded.tenant[1:])
        other.create_legal_entity(id="L1")
        other.create_customer("c1")
        other.create_contact("L1", "c1", id="theirs")
        assert ids(listed(seeded)) == ["a1", "a2", "a3", "a4", "a5"]
        assert other.ids("/contact-assignments") == ["theirs"]

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"legalEntity.id": "L1"}, ["a1", "a2", "a3"]),
            ({"customer.id": "c2"}, ["a3", "a4"]),
            ({"type": "CONTACT"}, ["a4", "a5"]),
            ({"primary": "true"}, ["a1", "a4"]),
            ({"primary": "false"}, ["a2", "a3", "a5"]),
            ({"legalEntity.id": "L2", "primary": "true"}, ["a4"]),
            ({"legalEntity.id": "l1"}, []),
            ({"customer.id": "nobody"}, []),
        ],
    )
    def test_filter_parameters(self, seeded: Management, params: dict[str, str], expected: list[str]) -> None:
        assert ids(listed(seeded, **params)) == expected

    @pytest.mark.parametrize(
        ("params", "message"),
        [
            ({"type": "BOSS"}, "Invalid query parameter 'type': Invalid enum value 'BOSS'."),
            ({"primary": "maybe"}, "Invalid query parameter 'primary': Expected `bool | null`, got `str`."),
        ],
    )
    def test_bad_filter_parameter_is_400(self, api: Management, params: dict[str, str], message: str) -> None:
        response = listed(api, **params)
        assert response.status_code == 400
        assert response.json() == error(400, message, field=next(iter(params)))

    @pytest.mark.parametrize(
        ("q", "expected"),
        [
            ("legalEntity.id:L1 type:BILLING", ["a2"]),
            ("customer.id:(c1,c3)", ["a1", "a2", "a5"]),
            ("primary:true", ["a1", "a4"]),
            ('legalEntity.name:"XYZ Corp"', ["a4", "a5"]),
            ("legalEntity.name:~^ABC", ["a1", "a2", "a3"]),
            ("mixins.dept.name:Sales", ["a1"]),
            ("mixins:missing", ["a2", "a4", "a5"]),
            ("type:(PRIMARY,LOGISTICS)", ["a1", "a3"]),
            ("metadata.version:1", ["a1", "a2", "a3", "a4", "a5"]),
        ],
    )
    def test_q(self, seeded: Management, q: str, expected: list[str]) -> None:
        assert ids(listed(seeded, q=q)) == expected

    @pytest.mark.parametrize(
        ("q", "message"),
        [
            ("legalEntityId:L1", f"Unknown field 'legalEntityId'; known fields: {KNOWN_FIELDS}."),
            ("customer.name:John", f"Unknown field 'customer.name'; known fields: {KNOWN_FIELDS}."),
            ("primary:yes", "Field 'primary' in q expects true or false, got 'yes'."),
            ("type:(A", "Invalid q at position 6: '(' is never closed; add a matching ')'."),
        ],
    )
    def test_bad_q_is_400(self, seeded: Management, q: str, message: str) -> None:
        response = listed(seeded, q=q)
        assert response.status_code == 400
        assert response.json() == error(400, message, field="q")

    @pytest.mark.parametrize(
        ("sort", "expected"),
        [
            ("id:desc", ["a5", "a4", "a3", "a2", "a1"]),
            ("legalEntity.name:desc,customer.id:asc", ["a4", "a5", "a1", "a2", "a3"]),
            ("primary:desc,type", ["a4", "a1", "a2", "a5", "a3"]),
        ],
    )
    def test_sort(self, seeded: Management, sort: str, expected: list[str]) -> None:
        assert ids(listed(seeded, sort=sort)) == expected

    def test_unknown_sort_field_is_400(self, api: Management) -> None:
        response = listed(api, sort="customer.name")
        assert response.status_code == 400
        assert response.json() == error(
            400, f"Invalid sort: Unknown field 'customer.name'; known fields: {KNOWN_FIELDS}.", field="sort"
        )

    def test_default_page_size_is_16_and_totals(self, api: Management, database_url: str) -> None:
        api.create_legal_entity(id="L1")
        run_sql(
            database_url,
            "INSERT INTO contact_assignments (tenant, id, legal_entity_id, customer_id, type, created_at,"
            " modified_at) SELECT $1, 'ca' || lpad(i::text, 3, '0'), 'L1', 'c' || i, 'CONTACT', now(), now()"
            " FROM generate_series(1, 40) AS i",
            api.tenant,
        )
        response = api.request("GET", "/contact-assignments", headers={"X-Total-Count": "true"})
        assert ids(response) == [f"ca{n:03d}" for n in range(1, 17)]
        assert response.headers["X-Total-Count"] == "40"
        page3 = listed(api, pageSize="16", pageNumber="3")
        assert ids(page3) == [f"ca{n:03d}" for n in range(33, 41)]
        # Customers that no longer exist are shown by their id alone.
        assert page3.json()[0]["customer"] == {"id": "c33"}

    @pytest.mark.parametrize(("name", "value"), [("pageSize", "0"), ("pageNumber", "-1"), ("pageSize", "many")])
    def test_not_a_positive_integer_is_400(self, api: Management, name: str, value: str) -> None:
        response = listed(api, **{name: value})
        assert response.status_code == 400
        assert response.json() == error(400, f"Invalid {name} '{value}': expected {PAGE_BOUNDS[name]}.", field=name)

    def test_fields(self, seeded: Management) -> None:
        response = listed(seeded, q="legalEntity.id:L2", fields="customer.id,primary")
        assert response.json() == [
            {"id": "a4", "customer": {"id": "c2"}, "primary": True},
            {"id": "a5", "customer": {"id": "c3"}, "primary": False},
        ]

    def test_total_only_when_asked(self, seeded: Management) -> None:
        assert "X-Total-Count" not in listed(seeded).headers
        assert listed(seeded, q="customer.id:c2", pageSize="1").status_code == 200
        response = seeded.request(
            "GET",
            "/contact-assignments",
            params={"q": "customer.id:c2", "pageSize": "1"},
            headers={"X-Total-Count": "true"},
        )
        assert response.headers["X-Total-Count"] == "2"

    def test_every_assignment_shows_its_customer(self, seeded: Management) -> None:
        docs: list[dict[str, Any]] = listed(seeded, **{"customer.id": "c1"}).json()
        assert [d["customer"] for d in docs] == [
            {"id": "c1", "name": "John", "surname": "Doe", "email": "c1@example.com"}
        ] * 2

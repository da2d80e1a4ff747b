"""Tenant-managed customer routes (customer.yml, "Account and profile"):

POST/GET /customers, POST /customers/search, GET/PUT/PATCH/DELETE /customers/{customerNumber}.

The spec also lists the `*_own` scopes here (customers of the same company); customers use `/me` instead, so these
operations need `customer.customer_read` / `customer.customer_manage`.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, delete, get, patch, post, put
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import Parameter

from segment_service.core.auth import Caller
from segment_service.core.db import Database
from segment_service.core.deps import Listing
from segment_service.core.http import empty_response, json_response, list_response
from segment_service.core.openapi import CustomerError, error_responses, no_content
from segment_service.customers import service
from segment_service.customers.models import (
    CustomerForSellerDto,
    CustomerPatchBySellerDto,
    CustomerSignupBySellerDto,
    CustomersSearch,
    CustomerUpdateBySellerDto,
    ResourceLocation,
)
from segment_service.customers.passwords import Passwords, passwords
from segment_service.customers.scopes import MANAGE_CUSTOMERS, READ_CUSTOMERS

ExpandParameter = Parameter(
    query="expand",
    required=False,
    default=None,
    description="`mixin:*` (or `mixin:<name>`) adds the customer's mixins.",
)
SendPasswordReset = Parameter(
    query="sendPasswordResetNotifications",
    required=False,
    default=None,
    description="Accepted for compatibility; this service sends no emails.",
)


def provide_passwords(state: State) -> Passwords:
    """The password hasher at the configured cost."""
    return passwords(state.settings.password_hash_memory_kib)


PASSWORDS = {"passwords": Provide(provide_passwords, sync_to_thread=False)}


def customer_errors(*codes: int) -> dict[int, Any]:
    return error_responses(*codes, body=CustomerError)


class CustomerController(Controller):
    path = "/customer/{tenant:str}/customers"
    tags = ["Customers"]
    dependencies = PASSWORDS

    @post(
        "",
        opt={"scopes": MANAGE_CUSTOMERS},
        status_code=201,
        operation_id="POST-customer-tenant-create-customer",
        summary="Creating a customer",
        responses=customer_errors(400, 403, 409),
    )
    async def create_customer(
        self,
        db: Database,
        caller: Caller,
        passwords: Passwords,
        data: CustomerSignupBySellerDto,
        send_password_reset: bool | None = SendPasswordReset,
    ) -> Response[ResourceLocation]:
        """Creates a new customer (with an initial password when the body has one)."""
        customer_id = await service.create_customer(db, caller, data, passwords=passwords)
        return json_response({"id": customer_id}, status=201)

    @get(
        "",
        opt={"scopes": READ_CUSTOMERS},
        operation_id="GET-customer-tenant-list-customers",
        summary="Retrieving a list of customers",
        responses=customer_errors(400, 403),
    )
    async def list_customers(
        self, db: Database, caller: Caller, listing: Listing, q: str | None = None, expand: str | None = ExpandParameter
    ) -> Response[list[CustomerForSellerDto]]:
        """Retrieves the tenant's customers (filtered by `q`)."""
        docs, total = await service.list_customers(
            db,
            caller,
            q=q,
            page=listing.page,
            sort=listing.sort,
            with_total=listing.with_total,
            expand=service.parse_expand(expand),
        )
        return list_response(docs, total)

    @post(
        "/search",
        opt={"scopes": READ_CUSTOMERS},
        status_code=200,
        operation_id="POST-customer-tenant-search",
        summary="Searching for customers",
        responses=customer_errors(400, 403),
    )
    async def search_customers(
        self,
        db: Database,
        caller: Caller,
        listing: Listing,
        expand: str | None = ExpandParameter,
        data: CustomersSearch | None = None,
    ) -> Response[list[CustomerForSellerDto]]:
        """Returns the customers that match the `q` in the body (without a body: all of them)."""
        docs, total = await service.list_customers(
            db,
            caller,
            q=None if data is None else data.q,
            page=listing.page,
            sort=listing.sort,
            with_total=listing.with_total,
            expand=service.parse_expand(expand),
        )
        return list_response(docs, total)

    @get(
        "/{customerNumber:str}",
        opt={"scopes": READ_CUSTOMERS},
        operation_id="GET-customer-tenant-retrieve-customer",
        summary="Retrieving a customer profile",
        responses=customer_errors(400, 403, 404),
    )
    async def get_customer(
        self, db: Database, caller: Caller, customerNumber: str, expand: str | None = ExpandParameter
    ) -> Response[CustomerForSellerDto]:
        """Retrieves the customer with this customer number (the id)."""
        expanded = service.parse_expand(expand)
        return json_response(await service.get_customer(db, caller, customerNumber, expand=expanded))

    @put(
        "/{customerNumber:str}",
        opt={"scopes": MANAGE_CUSTOMERS},
        status_code=201,
        operation_id="PUT-customer-tenant-update-customer",
        summary="Upserting a customer profile",
        responses=customer_errors(400, 403, 409) | no_content("The customer profile was updated."),
    )
    async def upsert_customer(
        self,
        db: Database,
        caller: Caller,
        customerNumber: str,
        data: CustomerUpdateBySellerDto,
        send_password_reset: bool | None = SendPasswordReset,
    ) -> Response[ResourceLocation]:
        """Replaces the customer's profile, or creates it: 201 with its id when created, 204 when updated."""
        if await service.upsert_customer(db, caller, customerNumber, data):
            return json_response({"id": customerNumber}, status=201)
        return empty_response(204)

    @patch(
        "/{customerNumber:str}",
        opt={"scopes": MANAGE_CUSTOMERS},
        status_code=200,
        operation_id="PATCH-customer-tenant-update-customer",
        summary="Updating a customer profile",
        response_description="The customer profile was updated (no body).",
        responses=customer_errors(400, 403, 404, 409),
    )
    async def patch_customer(
        self, db: Database, caller: Caller, customerNumber: str, data: CustomerPatchBySellerDto
    ) -> Response[None]:
        """Changes the members the merge object names (`null` removes one; `mixins` merge)."""
        await service.patch_customer(db, caller, customerNumber, data)
        return empty_response(200)

    @delete(
        "/{customerNumber:str}",
        opt={"scopes": MANAGE_CUSTOMERS},
        status_code=202,
        operation_id="DELETE-customer-tenant-remove-customer",
        summary="Deleting a customer profile",
        response_description="The customer and its login are deleted (no body).",
        responses=customer_errors(403, 404),
    )
    async def delete_customer(self, db: Database, caller: Caller, customerNumber: str) -> Response[None]:
        """Deletes the customer profile and its login."""
        await service.delete_customer(db, caller, customerNumber)
        return empty_response(202)

"""Customer Management routes (legal-entity.yml): legal entities and contact assignments.

POST/GET /legal-entities, POST /legal-entities/search, GET/PUT/DELETE /legal-entities/{legalEntityId},
POST/GET /contact-assignments, GET/PUT/DELETE /contact-assignments/{contactAssignmentId}.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, delete, get, post, put
from litestar.di import Provide
from litestar.params import Parameter

from segment_service.core.auth import Caller
from segment_service.core.db import Database
from segment_service.core.deps import Listing, listing_dependency
from segment_service.core.http import ReadShape, empty_response, json_response, list_response
from segment_service.core.openapi import CategoryError, error_responses, no_content
from segment_service.legal_entities import contacts, service
from segment_service.legal_entities.models import (
    ContactAssignmentCreate,
    ContactAssignmentFilters,
    ContactAssignmentResponse,
    ContactAssignmentUpdate,
    ContactType,
    IdResponse,
    LegalEntitiesSearch,
    LegalEntityCreate,
    LegalEntityFilters,
    LegalEntityResponse,
    LegalEntityType,
    LegalEntityUpdate,
)
from segment_service.legal_entities.scopes import (
    MANAGE_CONTACT_ASSIGNMENTS,
    MANAGE_LEGAL_ENTITIES,
    READ_ANY_LEGAL_ENTITY,
    READ_CONTACT_ASSIGNMENTS,
    READ_LEGAL_ENTITIES,
)

#: The Customer Management spec's `pageSize` default (`trait_paged_pageSize`).
PAGE_SIZE = 16


def _errors(*codes: int) -> dict[int, Any]:
    return error_responses(*codes, body=CategoryError)


def _text(name: str, description: str) -> Any:
    return Parameter(query=name, required=False, default=None, description=description)


LegalEntityTypeFilter = _text("type", "Only legal entities of this type.")
ContactTypeFilter = _text("type", "Only assignments of this type.")
PrimaryFilter = _text("primary", "Only assignments with this primary flag.")


def provide_legal_entity_filters(
    id_: str | None = _text("id", "Only the legal entity with this id (equals, case-insensitive)."),
    name: str | None = _text("name", "Legal entities whose name contains this (case-insensitive)."),
    type_: LegalEntityType | None = LegalEntityTypeFilter,
    parent_id: str | None = _text("parentId", "Only the subsidiaries of this legal entity."),
    legal_name: str | None = _text("legalInfo.legalName", "Legal name contains this (case-insensitive)."),
    registration_date: str | None = _text(
        "legalInfo.registrationDate", "Registered at this date-time, or on this day for a bare date."
    ),
    tax_registration_number: str | None = _text("legalInfo.taxRegistrationNumber", "Tax registration number equals."),
    registration_agency: str | None = _text(
        "legalInfo.registrationAgency", "Registration agency contains this (case-insensitive)."
    ),
    country_of_registration: str | None = _text(
        "legalInfo.countryOfRegistration", "Country of registration contains this (case-insensitive)."
    ),
    registration_id: str | None = _text("legalInfo.registrationId", "Registration id equals."),
) -> LegalEntityFilters:
    return LegalEntityFilters(
        id=id_,
        name=name,
        type=type_,
        parent_id=parent_id,
        legal_name=legal_name,
        registration_date=registration_date,
        tax_registration_number=tax_registration_number,
        registration_agency=registration_agency,
        country_of_registration=country_of_registration,
        registration_id=registration_id,
    )


def provide_contact_assignment_filters(
    legal_entity_id: str | None = _text("legalEntity.id", "Only the contacts of this legal entity."),
    customer_id: str | None = _text("customer.id", "Only the assignments of this customer."),
    contact_type: ContactType | None = ContactTypeFilter,
    primary: bool | None = PrimaryFilter,
) -> ContactAssignmentFilters:
    return ContactAssignmentFilters(
        legal_entity_id=legal_entity_id, customer_id=customer_id, type=contact_type, primary=primary
    )


class LegalEntityController(Controller):
    path = "/customer-management/{tenant:str}/legal-entities"
    tags = ["Legal Entities"]
    dependencies = {
        "listing": listing_dependency(PAGE_SIZE),
        "filters": Provide(provide_legal_entity_filters, sync_to_thread=False),
    }

    @post(
        "",
        opt={"scopes": MANAGE_LEGAL_ENTITIES},
        status_code=201,
        operation_id="POST-customer-mgmt-create-legal-entity",
        summary="Creating legal entity",
        responses=_errors(400, 403, 409),
    )
    async def create_legal_entity(self, db: Database, caller: Caller, data: LegalEntityCreate) -> Response[IdResponse]:
        """Creates a new legal entity: a company or one of its subsidiaries."""
        return json_response({"id": await service.create_legal_entity(db, caller, data)}, status=201)

    @get(
        "",
        opt={"scopes": READ_LEGAL_ENTITIES},
        operation_id="GET-customer-mgmt-list-legal-entities",
        summary="Retrieving all legal entities",
        responses=_errors(400, 403),
    )
    async def list_legal_entities(
        self,
        db: Database,
        caller: Caller,
        listing: Listing,
        shape: ReadShape,
        filters: LegalEntityFilters,
        q: str | None = None,
    ) -> Response[list[LegalEntityResponse]]:
        """Retrieves all legal entities (with `legalentity_read_own`: those the customer is a contact of)."""
        docs, total = await service.list_legal_entities(
            db, caller, q=q, filters=filters, page=listing.page, sort=listing.sort, with_total=listing.with_total
        )
        return list_response(docs, total, shape)

    @post(
        "/search",
        opt={"scopes": READ_LEGAL_ENTITIES},
        status_code=200,
        operation_id="POST-customer-mgmt-search-legal-entities",
        summary="Searching with parameters for legal entities",
        responses=_errors(400, 403),
    )
    async def search_legal_entities(
        self,
        db: Database,
        caller: Caller,
        listing: Listing,
        shape: ReadShape,
        filters: LegalEntityFilters,
        data: LegalEntitiesSearch | None = None,
    ) -> Response[list[LegalEntityResponse]]:
        """Retrieves the legal entities that match the `q` in the body (optional) and the filter parameters."""
        docs, total = await service.list_legal_entities(
            db,
            caller,
            q=None if data is None else data.q,
            filters=filters,
            page=listing.page,
            sort=listing.sort,
            with_total=listing.with_total,
        )
        return list_response(docs, total, shape)

    @get(
        "/{legalEntityId:str}",
        opt={"scopes": READ_ANY_LEGAL_ENTITY},
        operation_id="GET-customer-mgmt-retrieve-legal-entity",
        summary="Retrieving a legal entity",
        responses=_errors(400, 403, 404),
    )
    async def get_legal_entity(
        self, db: Database, caller: Caller, shape: ReadShape, legalEntityId: str
    ) -> Response[LegalEntityResponse]:
        """Retrieves the legal entity with the given id."""
        return json_response(shape.apply(await service.get_legal_entity(db, caller, legalEntityId), ()))

    @put(
        "/{legalEntityId:str}",
        opt={"scopes": MANAGE_LEGAL_ENTITIES},
        status_code=201,
        operation_id="PUT-customer-mgmt-update-legal-entity",
        summary="Upserting a legal entity",
        responses=_errors(400, 403, 404, 409) | no_content("The legal entity has been updated successfully."),
    )
    async def upsert_legal_entity(
        self, db: Database, caller: Caller, legalEntityId: str, data: LegalEntityUpdate
    ) -> Response[IdResponse]:
        """Updates or creates a legal entity: 201 with its id when created, 204 when updated."""
        if await service.upsert_legal_entity(db, caller, legalEntityId, data):
            return json_response({"id": legalEntityId}, status=201)
        return empty_response(204)

    @delete(
        "/{legalEntityId:str}",
        opt={"scopes": MANAGE_LEGAL_ENTITIES},
        status_code=204,
        operation_id="DELETE-customer-mgmt-remove-legal-entity",
        summary="Delete a legal entity",
        responses=_errors(400, 403, 404),
    )
    async def delete_legal_entity(self, db: Database, caller: Caller, legalEntityId: str) -> Response[None]:
        """Deletes a legal entity with its subsidiaries and their contact assignments."""
        await service.delete_legal_entity(db, caller, legalEntityId)
        return empty_response(204)


class ContactAssignmentController(Controller):
    path = "/customer-management/{tenant:str}/contact-assignments"
    tags = ["Contact Assignments"]
    dependencies = {
        "listing": listing_dependency(PAGE_SIZE),
        "filters": Provide(provide_contact_assignment_filters, sync_to_thread=False),
    }

    @post(
        "",
        opt={"scopes": MANAGE_CONTACT_ASSIGNMENTS},
        status_code=201,
        operation_id="POST-customer-mgmt-create-contact-assignment",
        summary="Creating contact assignment",
        responses=_errors(400, 403, 409),
    )
    async def create_contact_assignment(
        self, db: Database, caller: Caller, data: ContactAssignmentCreate
    ) -> Response[IdResponse]:
        """Makes a customer a contact of a legal entity."""
        return json_response({"id": await contacts.create_contact_assignment(db, caller, data)}, status=201)

    @get(
        "",
        opt={"scopes": READ_CONTACT_ASSIGNMENTS},
        operation_id="GET-customer-mgmt-list-contact-assignments",
        summary="Retrieving all contact assignments",
        responses=_errors(400, 403),
    )
    async def list_contact_assignments(
        self,
        db: Database,
        caller: Caller,
        listing: Listing,
        shape: ReadShape,
        filters: ContactAssignmentFilters,
        q: str | None = None,
    ) -> Response[list[ContactAssignmentResponse]]:
        """Retrieves the tenant's contact assignments, each with its legal entity."""
        docs, total = await contacts.list_contact_assignments(
            db, caller, q=q, filters=filters, page=listing.page, sort=listing.sort, with_total=listing.with_total
        )
        return list_response(docs, total, shape)

    @get(
        "/{contactAssignmentId:str}",
        opt={"scopes": READ_CONTACT_ASSIGNMENTS},
        operation_id="GET-customer-mgmt-retrieve-contact-assignment",
        summary="Retrieving a contact assignment",
        responses=_errors(400, 403, 404),
    )
    async def get_contact_assignment(
        self, db: Database, caller: Caller, shape: ReadShape, contactAssignmentId: str
    ) -> Response[ContactAssignmentResponse]:
        """Retrieves the contact assignment with the given id."""
        return json_response(shape.apply(await contacts.get_contact_assignment(db, caller, contactAssignmentId), ()))

    @put(
        "/{contactAssignmentId:str}",
        opt={"scopes": MANAGE_CONTACT_ASSIGNMENTS},
        status_code=201,
        operation_id="PUT-customer-mgmt-update-contact-assignment",
        summary="Upserting a contact assignment",
        responses=_errors(400, 403, 404, 409) | no_content("The customer assignment has been updated successfully."),
    )
    async def upsert_contact_assignment(
        self, db: Database, caller: Caller, contactAssignmentId: str, data: ContactAssignmentUpdate
    ) -> Response[IdResponse]:
        """Updates or creates a contact assignment: 201 with its id when created, 204 when updated."""
        if await contacts.upsert_contact_assignment(db, caller, contactAssignmentId, data):
            return json_response({"id": contactAssignmentId}, status=201)
        return empty_response(204)

    @delete(
        "/{contactAssignmentId:str}",
        opt={"scopes": MANAGE_CONTACT_ASSIGNMENTS},
        status_code=204,
        operation_id="DELETE-customer-mgmt-remove-contact-assignment",
        summary="Delete a contact assignment",
        responses=_errors(400, 403, 404),
    )
    async def delete_contact_assignment(self, db: Database, caller: Caller, contactAssignmentId: str) -> Response[None]:
        """Deletes a contact assignment."""
        await contacts.delete_contact_assignment(db, caller, contactAssignmentId)
        return empty_response(204)

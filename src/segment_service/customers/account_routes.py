"""Customer-managed routes (customer-login.yml): the storefront's view of a customer's own account.

POST /signup and POST /login (anonymous token), GET /refreshauthtoken (anonymous or customer token),
GET /validateauthtoken, GET and PATCH /me, GET /logout and POST /password/change (customer token).

Which kind of token an operation takes is checked in `account.py`; the guard only checks the token and the tenant
(`opt={"scopes": ()}`), or the `*_own` scope for `/me`.
"""

from __future__ import annotations

from litestar import Controller, Response, get, patch, post
from litestar.datastructures import State
from litestar.params import Dependency, Parameter

from segment_service.core.auth import ANY_TOKEN, Caller, TokenKind
from segment_service.core.db import Database
from segment_service.core.http import empty_response, json_response
from segment_service.customers import account, service
from segment_service.customers.models import (
    Customer,
    CustomerPatchDto,
    CustomerSignup,
    CustomerToken,
    PasswordAuthentication,
    PasswordChangeDto,
    RefreshCustomerToken,
    ResourceLocation,
    ValidateTokenResponse,
)
from segment_service.customers.passwords import Passwords
from segment_service.customers.routes import PASSWORDS, ExpandParameter, customer_errors
from segment_service.customers.scopes import MANAGE_OWN_ACCOUNT, READ_OWN_ACCOUNT

# Which token kinds the account operations take (checked by the guard, like scopes).
ANONYMOUS = (TokenKind.ANONYMOUS,)
CUSTOMER = (TokenKind.CUSTOMER,)
STOREFRONT = (TokenKind.ANONYMOUS, TokenKind.CUSTOMER)

#: A dependency the application provides (app.py), passed through as it is: a function, not request data.
INJECTED = Dependency(skip_validation=True)


class AccountController(Controller):
    path = "/customer/{tenant:str}"
    tags = ["Customer account"]
    dependencies = PASSWORDS

    @post(
        "/signup",
        opt={"scopes": ANY_TOKEN, "kinds": ANONYMOUS},
        status_code=201,
        operation_id="POST-customer-create-customer-account",
        summary="Creating a new customer",
        responses=customer_errors(400, 403, 409),
    )
    async def signup(
        self, db: Database, caller: Caller, passwords: Passwords, data: CustomerSignup
    ) -> Response[ResourceLocation]:
        """Creates a customer account with a password (anonymous token)."""
        return json_response({"id": await account.signup(db, caller, data, passwords=passwords)}, status=201)

    @post(
        "/login",
        opt={"scopes": ANY_TOKEN, "kinds": ANONYMOUS},
        status_code=200,
        operation_id="POST-customer-authenticate-customer",
        summary="Logging in a customer",
        responses=customer_errors(400, 403, 429),
    )
    async def login(
        self, db: Database, state: State, caller: Caller, passwords: Passwords, data: PasswordAuthentication
    ) -> Response[CustomerToken]:
        """Logs a customer in with email and password (anonymous token): customer tokens and a new session."""
        return json_response(await account.login(db, state.tokens, caller, data, passwords=passwords))

    @get(
        "/refreshauthtoken",
        opt={"scopes": ANY_TOKEN, "kinds": STOREFRONT},
        operation_id="GET-customer-refresh-authtoken",
        summary="Refreshing a customer token",
        responses=customer_errors(400, 403),
    )
    async def refresh_token(
        self,
        db: Database,
        state: State,
        caller: Caller,
        contact_check: account.ContactCheck = INJECTED,
        refresh_token: str = Parameter(query="refreshToken", description="The session's refresh token."),
        legal_entity_id: str | None = Parameter(
            query="legalEntityId",
            required=False,
            default=None,
            description="A legal entity the customer is a contact of: the token becomes a B2B token for it.",
        ),
    ) -> Response[RefreshCustomerToken]:
        """Returns new tokens for the session of the refresh token (anonymous or customer token)."""
        return json_response(
            await account.refresh(
                db,
                state.tokens,
                caller,
                refresh_token=refresh_token,
                legal_entity_id=legal_entity_id,
                is_contact=contact_check,
            )
        )

    @get(
        "/validateauthtoken",
        opt={"scopes": ANY_TOKEN, "kinds": CUSTOMER},
        operation_id="GET-customer-validate-token",
        summary="Validate a token",
        responses=customer_errors(403),
    )
    async def validate_token(self, db: Database, caller: Caller) -> Response[ValidateTokenResponse]:
        """Checks the customer token and returns what it stands for."""
        return json_response(await account.validate(db, caller))

    @get(
        "/me",
        opt={"scopes": READ_OWN_ACCOUNT, "kinds": CUSTOMER},
        operation_id="GET-customer-retrieve-customer-profile",
        summary="Retrieving a customer profile",
        responses=customer_errors(400, 403),
    )
    async def get_me(self, db: Database, caller: Caller, expand: str | None = ExpandParameter) -> Response[Customer]:
        """Retrieves the calling customer's own profile."""
        return json_response(await account.get_me(db, caller, expand=service.parse_expand(expand)))

    @patch(
        "/me",
        opt={"scopes": MANAGE_OWN_ACCOUNT, "kinds": CUSTOMER},
        status_code=200,
        operation_id="PATCH-customer-update-customer",
        summary="Updating a customer profile",
        response_description="The profile was updated (no body).",
        responses=customer_errors(400, 403, 409),
    )
    async def patch_me(self, db: Database, caller: Caller, data: CustomerPatchDto) -> Response[None]:
        """Changes the calling customer's own profile with a merge object."""
        await account.patch_me(db, caller, data)
        return empty_response(200)

    @get(
        "/logout",
        opt={"scopes": ANY_TOKEN, "kinds": CUSTOMER},
        status_code=204,
        operation_id="GET-customer-logout-customer",
        summary="Logging out a customer",
        responses=customer_errors(400, 403),
    )
    async def logout(
        self,
        db: Database,
        state: State,
        caller: Caller,
        access_token: str | None = Parameter(
            query="accessToken",
            required=False,
            default=None,
            description="A token of the session to end; without it, the session of the calling token.",
        ),
    ) -> Response[None]:
        """Logs the customer out: every token of the session stops working."""
        await account.logout(db, state.tokens, caller, access_token=access_token)
        return empty_response(204)

    @post(
        "/password/change",
        opt={"scopes": ANY_TOKEN, "kinds": CUSTOMER},
        status_code=204,
        operation_id="POST-customer-change-account-password",
        summary="Changing a customer password",
        responses=customer_errors(400, 403, 429),
    )
    async def change_password(
        self, db: Database, caller: Caller, passwords: Passwords, data: PasswordChangeDto
    ) -> Response[None]:
        """Changes the calling customer's password; the current one must be given."""
        await account.change_password(db, caller, data, passwords=passwords)
        return empty_response(204)

"""The application: routes, dependencies, error handling, OpenAPI and the database lifespan."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Response, get
from litestar.config.app import ExperimentalFeatures
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

from segment_service import __version__
from segment_service.answers import service as answer_versions
from segment_service.categories.assignment_routes import FAST_ROUTES as CATEGORY_FAST_ROUTES
from segment_service.categories.assignment_routes import CategoryAssignmentController, ReferenceAssignmentController
from segment_service.categories.routes import CategoryController
from segment_service.categories.tree_routes import CategoryTreeController
from segment_service.console import routes as console_routes
from segment_service.core.allow import AllowHeaderMiddleware
from segment_service.core.answer_cache import AnswerCache
from segment_service.core.cors import cors_config
from segment_service.core.db import Database
from segment_service.core.deps import DEPENDENCIES, resolve_in_order
from segment_service.core.disconnect import IncompleteBodyMiddleware
from segment_service.core.errors import ServiceError
from segment_service.core.fastlane import FastLane
from segment_service.core.guard import guard_in_place, scope_guard
from segment_service.core.http import UrlLimitMiddleware, exception_handler, json_response
from segment_service.core.metrics import Metrics
from segment_service.core.observe import ObservedLane
from segment_service.core.openapi import COMPONENTS, declare_security, finalize
from segment_service.coupons.redemption_routes import FAST_ROUTES as COUPON_FAST_ROUTES
from segment_service.coupons.redemption_routes import RedemptionController, ReferralCouponController
from segment_service.coupons.routes import CouponController
from segment_service.customers.account import ContactCheck
from segment_service.customers.account_routes import AccountController
from segment_service.customers.routes import CustomerController
from segment_service.legal_entities import service as legal_entities_service
from segment_service.legal_entities.routes import ContactAssignmentController, LegalEntityController
from segment_service.oauth import keys as oauth_keys
from segment_service.oauth.routes import AnonymousLoginController, OAuthController
from segment_service.ops import routes as ops_routes
from segment_service.orders.routes import CustomerOrderController, PurchaseController, SalesOrderController
from segment_service.products.routes import ProductController
from segment_service.reactions import register_reactions
from segment_service.rules import evaluator as rule_evaluator
from segment_service.rules.routes import SegmentRuleController
from segment_service.segments.customer_routes import SegmentCustomerController
from segment_service.segments.item_routes import SegmentItemAssignmentController
from segment_service.segments.routes import FAST_ROUTES as SEGMENT_FAST_ROUTES
from segment_service.segments.routes import SegmentController
from segment_service.segments.storefront_routes import FAST_ROUTES as STOREFRONT_FAST_ROUTES
from segment_service.segments.storefront_routes import StorefrontController
from segment_service.settings import Settings
from segment_service.transfer import jobs as import_jobs
from segment_service.transfer.job_routes import ImportJobController
from segment_service.webhooks.relay import deliver_forever
from segment_service.webhooks.routes import WebhookConfigController, WebhookEventController

__all__ = ["create_app", "create_served_app"]

DOCS_ASSETS = "/docs/assets"


def _swagger_ui_files() -> Path:
    """Swagger UI 5 (it reads OpenAPI 3.1) as shipped in the swagger-ui-py wheel."""
    import swagger_ui  # type: ignore[import-untyped]

    return Path(swagger_ui.__file__).parent / "static"


@get("/health", include_in_schema=False)
async def health(state: State) -> Response[Any]:
    """200 once requests can be served: the database answers."""
    db: Database = state.db
    async with db.connection() as conn:
        await conn.fetchval("SELECT 1")
    return json_response({"status": "UP"})


@get("/openapi.json", include_in_schema=False)
async def openapi_json(request: Request[Any, Any, Any]) -> Response[Any]:
    """The OpenAPI document of what is implemented."""
    return json_response(request.app.openapi_schema.to_schema())


def _provide_contact_check() -> ContactCheck:
    """The Legal Entity service answers the customer account's "is this customer a contact" (a B2B token refresh)."""
    return legal_entities_service.is_contact


def create_app(settings: Settings) -> Litestar:
    """The service, configured by `settings`; `settings.database_url` must name a migrated database."""
    if not settings.database_url:
        raise ValueError("create_app needs settings.database_url (the CLI starts an embedded database otherwise)")
    dsn = settings.database_url
    register_reactions()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        db = await Database.connect(settings, dsn)
        relay: asyncio.Task[None] | None = None
        rules: asyncio.Task[None] | None = None
        try:
            app.state.tokens = await oauth_keys.token_service(db, settings.signing_key)
            db.answers = AnswerCache(settings.answer_cache_mb * 2**20)
            db.memo = answer_versions.memo_for(db, settings)
            app.state.db = db
            if settings.webhook_deliver:
                relay = asyncio.create_task(deliver_forever(db, settings), name="webhook-relay")
            if settings.rule_evaluate:
                rules = asyncio.create_task(
                    rule_evaluator.run_forever(
                        db, poll_seconds=settings.rule_poll_ms / 1000, sweep_seconds=settings.rule_sweep_seconds
                    ),
                    name="rule-evaluator",
                )
            yield
        finally:
            if rules is not None:
                rules.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await rules
            if relay is not None:
                relay.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await relay
            await import_jobs.stop_running()  # while the pool is open, so each job records that it stopped
            await db.close()

    app = Litestar(
        route_handlers=[
            health,
            *ops_routes.ROUTES,
            openapi_json,
            # Swagger UI's files come from a wheel, so /docs works without internet access.
            create_static_files_router(path=DOCS_ASSETS, directories=[_swagger_ui_files()], include_in_schema=False),
            *console_routes.ROUTES,
            OAuthController,
            AnonymousLoginController,
            SegmentController,
            SegmentCustomerController,
            SegmentRuleController,
            SegmentItemAssignmentController,
            StorefrontController,
            CustomerController,
            AccountController,
            LegalEntityController,
            ContactAssignmentController,
            ProductController,
            CategoryController,
            CategoryTreeController,
            CategoryAssignmentController,
            ReferenceAssignmentController,
            CouponController,
            RedemptionController,
            ReferralCouponController,
            WebhookConfigController,
            SalesOrderController,
            CustomerOrderController,
            PurchaseController,
            WebhookEventController,
            ImportJobController,
        ],
        dependencies={**DEPENDENCIES, "contact_check": Provide(_provide_contact_check, sync_to_thread=False)},
        guards=[scope_guard],
        exception_handlers={Exception: exception_handler, ServiceError: exception_handler},
        middleware=[
            DefineMiddleware(UrlLimitMiddleware, max_bytes=settings.max_url_bytes),
            IncompleteBodyMiddleware,
            AllowHeaderMiddleware,
        ],
        cors_config=cors_config(settings.cors_origins),
        lifespan=[lifespan, ops_routes.watch_pool],
        state=State({"settings": settings, "metrics": Metrics()}),
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="segment-service",
            version=__version__,
            description=(
                "Emporix-compatible Customer Segment Service, with the OAuth, customer login, customer, "
                "category, legal entity and product operations segments rely on."
            ),
            components=COMPONENTS,
            path="/docs",
            render_plugins=[
                SwaggerRenderPlugin(
                    path="/",
                    js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
                    css_url=f"{DOCS_ASSETS}/swagger-ui.css",
                    standalone_preset_js_url=f"{DOCS_ASSETS}/swagger-ui-standalone-preset.js",
                    favicon=f"<link rel='icon' type='image/png' href='{DOCS_ASSETS}/favicon-32x32.png'>",
                )
            ],
        ),
        experimental_features=list[ExperimentalFeatures](),
        logging_config=None,  # logging is the service's own (core/logs.py), one format for every line
        debug=False,
    )
    declare_security(app)
    finalize(app.openapi_schema)
    resolve_in_order(app)
    guard_in_place(app)
    return app


def create_served_app(settings: Settings) -> FastLane:
    """The app as served: the fast lane for the hottest storefront reads (core/fastlane.py) in front of the Litestar
    app, which answers everything else, with request ids, the access log and the metrics around both
    (core/observe.py)."""
    routes = [*STOREFRONT_FAST_ROUTES, *CATEGORY_FAST_ROUTES, *SEGMENT_FAST_ROUTES, *COUPON_FAST_ROUTES]
    app = create_app(settings)
    return ObservedLane(
        app,
        routes,
        enabled=settings.fast_lane,
        metrics=app.state.metrics,
        access_log_on=settings.access_log,
    )

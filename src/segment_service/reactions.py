"""Start-up wiring of the change-event subscribers (docs/events.md): each reacting service registers its own from
its `reactions.py`; the application (app.py) and the import path (transfer/importer.py) call this before any write.

The order below is the order subscribers of one event type run in: memberships go before sessions end; the webhook
outbox sees each batch after every per-type subscriber of it has run.
"""

from __future__ import annotations

from segment_service.answers import reactions as answer_reactions
from segment_service.categories import payloads as category_payloads
from segment_service.categories import reactions as category_reactions
from segment_service.core.events import EventRegistry, registry
from segment_service.customers import payloads as customer_payloads
from segment_service.legal_entities import reactions as legal_entity_reactions
from segment_service.oauth import reactions as oauth_reactions
from segment_service.orders import payloads as order_payloads
from segment_service.orders import reactions as order_reactions
from segment_service.products import payloads as product_payloads
from segment_service.rules import reactions as rule_reactions
from segment_service.segments import payloads as segment_payloads
from segment_service.segments import reactions as segment_reactions
from segment_service.webhooks import reactions as webhook_reactions


def register_reactions(target: EventRegistry = registry) -> None:
    """Subscribe every service's reactions to `target` and let it take events; calling it again changes nothing."""
    category_reactions.register(target)
    legal_entity_reactions.register(target)
    segment_reactions.register(target)
    order_reactions.register(target)
    rule_reactions.register(target)
    oauth_reactions.register(target)
    webhook_reactions.register(target)
    answer_reactions.register(target)
    for payloads in (segment_payloads, customer_payloads, category_payloads, product_payloads, order_payloads):
        payloads.register(target)
    target.ready = True

"""The scope sets of the webhook routes (`opt["scopes"]`): any one scope of a set is enough.

webhook.yml gives reads `webhook.subscription_read` and writes `webhook.subscription_manage`; a client that manages
the configuration may read it too, as elsewhere in this service.
"""

from __future__ import annotations

from segment_service.core.auth import Scope

READ_WEBHOOKS = (Scope.WEBHOOK_SUBSCRIPTION_READ.value, Scope.WEBHOOK_SUBSCRIPTION_MANAGE.value)
MANAGE_WEBHOOKS = (Scope.WEBHOOK_SUBSCRIPTION_MANAGE.value,)
READ_WEBHOOKS_DECLARED = (Scope.WEBHOOK_SUBSCRIPTION_READ.value,)

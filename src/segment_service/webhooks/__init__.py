"""Webhooks: the Emporix Webhook Service's HTTP strategy, the transactional outbox and its relay (docs/webhooks.md)."""

"""Webhooks: subscriptions, the transactional outbox, signed and ordered delivery with retries."""

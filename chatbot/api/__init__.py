"""REST API v1 for integrations: scoped API keys, conversations, handoffs, tickets, reports."""

"""The audit trail: an append-only record of what staff and integrations did with people's data."""

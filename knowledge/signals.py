"""What the graph tells whoever listens, without knowing who does (webhooks, for one)."""

from django.dispatch import Signal

# Sent inside the transaction that raises the graph's version, with `number`: the new
# version. A receiver's writes commit, or roll back, with the change.
version_changed = Signal()

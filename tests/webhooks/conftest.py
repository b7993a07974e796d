"""Subscriptions for the webhooks tests."""

import pytest
from django.contrib.auth.models import User

from chatbot.webhooks.events import EVENT_TYPES
from chatbot.webhooks.models import Subscription


def subscribe(url: str = "https://hooks.example.com/in", events=None, **fields) -> Subscription:
    """Subscribe a URL to the given events (all of them by default), owned by Olivia."""
    owner, _ = User.objects.get_or_create(
        username="olivia", defaults={"email": "olivia@example.com"}
    )
    return Subscription.objects.create(
        name="crm", url=url, events=list(events or EVENT_TYPES), owner=owner, **fields
    )


@pytest.fixture
def models_var_dir(settings, tmp_path):
    """A VAR_DIR with two stored intent models, v1 served."""
    from chatbot.nlu import artefacts

    settings.VAR_DIR = tmp_path
    for version in ("v1", "v2"):
        folder = artefacts.models_root() / version
        folder.mkdir(parents=True)
        (folder / "metadata.json").write_text("{}")
    artefacts.promote("v1")
    return tmp_path

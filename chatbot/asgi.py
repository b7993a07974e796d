"""The ASGI application: Django for HTTP, Channels for websockets (origin-checked)."""

import os
import warnings

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot.settings")
# WhiteNoise streams static files synchronously; Django buffers them for ASGI and warns each
# time. The files are small, and in production the reverse proxy serves them (deploy/).
warnings.filterwarnings(
    "ignore", message="StreamingHttpResponse must consume synchronous iterators"
)
# Django must be set up before anything imports models.
django_http_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from chatbot.routing import websocket_urlpatterns  # noqa: E402
from chatbot.tracing import configure_tracing  # noqa: E402

# With OTEL_* set, this web process sends its turns' spans (docs/metrics.md, "Traces").
configure_tracing("chatbot-web")

from django.conf import settings  # noqa: E402

if settings.CELERY_TASK_ALWAYS_EAGER:
    # Embedded, the web process delivers webhooks itself: it also picks up what a stopped one
    # left (docs/webhooks.md). With workers, they do it.
    from chatbot.privacy.tasks import start_daily_purge
    from chatbot.webhooks.tasks import start_sweeper

    start_sweeper()
    # Nor is there a Celery beat: the web process runs the daily retention purge too.
    start_daily_purge()

application = ProtocolTypeRouter(
    {
        "http": django_http_application,
        # Each route checks its own origins (chatbot/routing.py).
        "websocket": URLRouter(websocket_urlpatterns()),
    }
)

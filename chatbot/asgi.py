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
from channels.security.websocket import OriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from chatbot.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_http_application,
        # The widget runs on the company's own site, so origins are listed, not derived from hosts.
        "websocket": OriginValidator(
            URLRouter(websocket_urlpatterns), settings.CHAT_ALLOWED_ORIGINS
        ),
    }
)

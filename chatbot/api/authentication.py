"""Who calls the API (a key in `Authorization: Bearer`), what it may do, and how often."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.throttling import SimpleRateThrottle

from chatbot.api.models import ApiKey, key_digest

# Recording every use would be a write per request; a minute's precision is enough to see
# which keys are still in use before revoking one.
LAST_USED_PRECISION = timedelta(minutes=1)


class KeyHolder:
    """The caller of a request: an integration holding an API key (never a person's session)."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key

    def __str__(self) -> str:
        return f"API key {self.api_key}"


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer <key>` with an active key; anything else is refused with 401."""

    def authenticate(self, request):
        header = request.headers.get("Authorization", "")
        if not header:
            return None
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise exceptions.AuthenticationFailed("Send the key as 'Authorization: Bearer <key>'.")
        api_key = ApiKey.objects.filter(digest=key_digest(key.strip())).first()
        if api_key is None:
            raise exceptions.AuthenticationFailed("This API key is not known.")
        if not api_key.is_active:
            raise exceptions.AuthenticationFailed("This API key has been revoked.")
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_PRECISION:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        return KeyHolder(api_key), api_key

    def authenticate_header(self, request) -> str:
        # Makes a missing or bad key a 401 with a challenge, not a 403.
        return 'Bearer realm="api"'


class HasScope(BasePermission):
    """The key holds the scope the view names for this method (`required_scopes`)."""

    def has_permission(self, request, view) -> bool:
        if not isinstance(request.auth, ApiKey):
            raise exceptions.NotAuthenticated(
                "An API key is required: 'Authorization: Bearer <key>'."
            )
        needed = view.required_scopes.get(request.method)
        if needed is None:
            # A method the view does not serve: DRF answers 405 itself, after this check.
            return True
        if needed not in request.auth.scopes:
            raise exceptions.PermissionDenied(f"This API key lacks the '{needed}' scope.")
        return True


class PerKeyThrottle(SimpleRateThrottle):
    """At most API_RATE_LIMIT requests per key (e.g. 600/min), counted in the cache."""

    scope = "api_key"

    def get_rate(self) -> str:
        return settings.API_RATE_LIMIT

    def get_cache_key(self, request, view) -> str | None:
        if not isinstance(request.auth, ApiKey):
            return None  # refused anyway
        # The digest, not the row id: ids are reused after a database is reset.
        return f"api-throttle:{request.auth.digest[:24]}"

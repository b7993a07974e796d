"""One asyncio Redis client per event loop, for locks and rate limits."""

import asyncio
import weakref

import redis.asyncio as redis
from django.conf import settings

_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis.Redis]" = (
    weakref.WeakKeyDictionary()
)


def get_redis() -> redis.Redis:
    """Return this event loop's Redis client (a client cannot cross event loops)."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = redis.Redis.from_url(
            settings.REDIS_URL,
            max_connections=settings.REDIS_MAX_CONNECTIONS,
            socket_timeout=10,
            socket_connect_timeout=5,
        )
        _clients[loop] = client
    return client


def redis_key(*parts: object) -> str:
    """Return a key under this deployment's prefix."""
    return ":".join([settings.REDIS_KEY_PREFIX, *(str(part) for part in parts)])

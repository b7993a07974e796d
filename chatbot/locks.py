"""Per-conversation locks: one message at a time per conversation, across processes with Redis."""

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator

from django.conf import settings

from chatbot.redis_connection import get_redis, redis_key

# Locks vanish when nobody holds or awaits them, so idle conversations cost nothing.
_local_locks: "weakref.WeakValueDictionary[str, asyncio.Lock]" = weakref.WeakValueDictionary()


class LockTimeout(Exception):
    """The conversation stayed locked longer than CHAT_LOCK_TIMEOUT_SECONDS."""


@contextlib.asynccontextmanager
async def conversation_lock(conversation_id: object) -> AsyncIterator[None]:
    """Hold the conversation's lock: Redis when REDIS_URL is set, else in-process."""
    if settings.REDIS_URL:
        async with _redis_lock(str(conversation_id)):
            yield
    else:
        async with _local_lock(str(conversation_id)):
            yield


@contextlib.asynccontextmanager
async def _local_lock(key: str) -> AsyncIterator[None]:
    lock = _local_locks.get(key)
    if lock is None:
        lock = _local_locks[key] = asyncio.Lock()
    try:
        await asyncio.wait_for(lock.acquire(), settings.CHAT_LOCK_TIMEOUT_SECONDS)
    except TimeoutError:
        raise LockTimeout(key) from None
    try:
        yield
    finally:
        lock.release()


@contextlib.asynccontextmanager
async def _redis_lock(key: str) -> AsyncIterator[None]:
    timeout = settings.CHAT_LOCK_TIMEOUT_SECONDS
    # The lock expires by itself, so a process that dies holding it blocks nobody for long.
    lock = get_redis().lock(
        redis_key("lock", "conversation", key), timeout=timeout, blocking_timeout=timeout
    )
    if not await lock.acquire():
        raise LockTimeout(key)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            await lock.release()

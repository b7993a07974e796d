"""Where the ORM runs when async code calls it: one thread for SQLite, a few for PostgreSQL.

Channels runs every database call of a process on one thread. SQLite wants that (one writer at
a time), but with PostgreSQL a turn's round trips then queue behind every other socket's, and a
server waits on the network with a core idle. PostgreSQL's row locks and transactions already
order concurrent writers to a conversation (`chatbot.actions`), so its calls share a small pool.
"""

import functools
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import SyncToAsync
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import close_old_connections

_pool: ThreadPoolExecutor | None = None


class _PooledDatabaseCall(SyncToAsync):
    """A call on the pool that, like Channels' own, drops connections that are too old."""

    def thread_handler(self, loop, *args, **kwargs):
        close_old_connections()
        try:
            return super().thread_handler(loop, *args, **kwargs)
        finally:
            close_old_connections()


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(settings.DATABASE_THREADS, thread_name_prefix="database")
    return _pool


def _one_thread() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")


def database_call(function):
    """Wrap a function that uses the ORM so that async code can await it."""
    single = database_sync_to_async(function)
    pooled: list[_PooledDatabaseCall] = []  # made on first use, when the pool's size is known

    @functools.wraps(function)
    async def call(*args, **kwargs):
        if _one_thread():
            return await single(*args, **kwargs)
        if not pooled:
            pooled.append(
                _PooledDatabaseCall(function, thread_sensitive=False, executor=_executor())
            )
        return await pooled[0](*args, **kwargs)

    return call

"""Rate limits: per visitor across all their sockets, and per socket for any frame."""

import time
from collections import deque

from django.conf import settings

from chatbot.redis_connection import get_redis, redis_key


class SlidingWindow:
    """At most `limit` hits in any `window` seconds; kept in memory."""

    def __init__(self, limit: int, window: float, clock=time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.hits: deque[float] = deque()

    def hit(self) -> float | None:
        """Count a hit; return None if allowed, else the seconds until one would be."""
        now = self.clock()
        while self.hits and self.hits[0] <= now - self.window:
            self.hits.popleft()
        if len(self.hits) >= self.limit:
            return round(self.hits[0] + self.window - now, 3)
        self.hits.append(now)
        return None


_visitor_windows: dict[str, SlidingWindow] = {}


async def hit_visitor_message_limit(visitor_id: object) -> float | None:
    """Count one message by the visitor; return None if allowed, else seconds to wait."""
    limit = settings.CHAT_RATE_LIMIT_MESSAGES
    window = settings.CHAT_RATE_LIMIT_WINDOW_SECONDS
    if settings.REDIS_URL:
        return await _hit_redis_window(str(visitor_id), limit, window)
    key = str(visitor_id)
    sliding = _visitor_windows.get(key)
    if sliding is None or (sliding.limit, sliding.window) != (limit, window):
        sliding = _visitor_windows[key] = SlidingWindow(limit, window)
    _forget_idle_windows()
    return sliding.hit()


def _forget_idle_windows() -> None:
    # Bounded memory: drop windows whose hits have all expired, once the table grows.
    if len(_visitor_windows) < 10_000:
        return
    now = time.monotonic()
    for key in [
        k for k, w in _visitor_windows.items() if not w.hits or w.hits[-1] < now - w.window
    ]:
        del _visitor_windows[key]


async def _hit_redis_window(key: str, limit: int, window: float) -> float | None:
    # Fixed windows in Redis: one INCR per message, shared by every server process.
    now = time.time()
    window_index = int(now // window)
    name = redis_key("rate", "visitor", key, window_index)
    pipeline = get_redis().pipeline()
    pipeline.incr(name)
    pipeline.expire(name, int(window) + 1)
    count, _ = await pipeline.execute()
    if count > limit:
        return round((window_index + 1) * window - now, 3)
    return None

"""The graph this process answers from: built once, rebuilt when the version moves on.

Each turn asks for `current_graph()`, which costs one cheap version check: a Redis GET when Redis
is configured (writers raise the number there when they commit, so every process learns of it),
otherwise one indexed read of the version row.
"""

import logging
import threading

import redis
from django.conf import settings

from knowledge.graph import KnowledgeGraph
from knowledge.loading import load_graph, stored_version

logger = logging.getLogger(__name__)

# Raise the shared number only upwards: two writers' commits may announce out of order.
RAISE_VERSION = """
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1]) end
return redis.call('GET', KEYS[1])
"""

_graph: KnowledgeGraph | None = None
_build_lock = threading.Lock()
_redis_client: redis.Redis | None = None


def current_graph() -> KnowledgeGraph:
    """Return the graph at the latest version, building it if this process has an older one."""
    global _graph
    version = published_version()
    graph = _graph
    # Any difference means rebuilding, not just a newer number: a restored or reset database
    # can go back to an older one.
    if graph is not None and graph.version == version:
        return graph
    with _build_lock:
        if _graph is None or _graph.version != version:
            _graph = load_graph()
            logger.info("Built knowledge graph version %s (%s nodes)", _graph.version, len(_graph))
        return _graph


def published_version() -> int:
    """Return the newest version number announced to all processes."""
    client = _redis()
    if client is None:
        return stored_version()
    try:
        announced = client.get(_version_key())
        if announced is not None:
            return int(announced)
        return announce_version(stored_version())
    except redis.RedisError:
        logger.warning("Redis unreachable; reading the graph version from the database")
        return stored_version()


def announce_version(number: int) -> int:
    """Tell every process that the graph is now at least at this version; return the newest."""
    client = _redis()
    if client is None:
        return number
    try:
        return int(client.eval(RAISE_VERSION, 1, _version_key(), number))
    except redis.RedisError:
        logger.warning("Could not announce knowledge graph version %s over Redis", number)
        return number


def forget_graph() -> None:
    """Drop this process's graph, so the next turn rebuilds it (tests switch databases)."""
    global _graph
    _graph = None


def forget_announced_version() -> None:
    """Drop the announced number, so it is read again from the database (tests reset databases)."""
    client = _redis()
    if client is not None:
        client.delete(_version_key())


def _redis() -> redis.Redis | None:
    global _redis_client
    if not settings.REDIS_URL:
        return None
    if _redis_client is None:
        _redis_client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2
        )
    return _redis_client


def _version_key() -> str:
    return f"{settings.REDIS_KEY_PREFIX}:knowledge:graph-version"

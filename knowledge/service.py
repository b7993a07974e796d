"""The graph this process answers from: built once, rebuilt when the version moves on.

Callers ask for `current_graph()`, which costs one cheap version check: a Redis GET when Redis is
configured (writers raise the number there when they commit, so every process learns of it),
otherwise one indexed read of the version row. A turn reads the stored number within the query
that loads its conversation (`knowledge.loading.stored_version_expression()`, then
`graph_at()`), and so makes no check of its own.

A big graph is a lot of small Python objects (about 1.6 million at 100,000 nodes), and the cyclic
garbage collector walks every one of them in each full collection: a pause of most of a second,
now and then, in whatever turn happens to trigger it. So the graph is loaded with the collector
paused (it would otherwise walk the growing graph again and again while loading) and, once built,
frozen out of the collector's sight with `gc.freeze()`, with everything else the process holds by
then. Frozen objects are still freed when their last reference goes, but not when only the
collector could free them (reference cycles). The graph holds no cycles, and the views networkx
caches on a replaced graph (which refer back to it) are dropped, so a replaced graph goes as soon
as the turns still using it finish; should one outlive that anyway, the next rebuild unfreezes
everything and collects. A collection just before each rebuild keeps the process's other garbage
out of what is frozen.
"""

import functools
import gc
import logging
import threading
import weakref

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

# From this many nodes on, a built graph is frozen (see above); a small one costs the collector
# little, and freezing would only hold on to the rest of the process's garbage.
FREEZE_MIN_NODES = 10_000

_graph: KnowledgeGraph | None = None
_build_lock = threading.Lock()
_redis_client: redis.Redis | None = None
# Replaced graphs, to check at the next build that they were freed.
_replaced: list[weakref.ref] = []


def current_graph() -> KnowledgeGraph:
    """Return the graph at the latest version, building it if this process has an older one."""
    return graph_at(published_version())


def graph_at(version: int) -> KnowledgeGraph:
    """Return the graph at `version`, the newest as just read, building it if this process's
    graph is at another one.

    For a caller that read the stored version within a query it makes anyway
    (`knowledge.loading.stored_version_expression()`), which saves the turn its own version
    check.
    """
    graph = _graph
    # Any difference means rebuilding, not just a newer number: a restored or reset database
    # can go back to an older one.
    if graph is not None and graph.version == version:
        return graph
    del graph  # so that this frame does not keep a replaced graph alive
    with _build_lock:
        if _graph is None or _graph.version != version:
            _rebuild()
            logger.info("Built knowledge graph version %s (%s nodes)", _graph.version, len(_graph))
        return _graph


def built_graph() -> KnowledgeGraph | None:
    """Return the graph this process built last, without checking the version (no I/O).

    For work that follows a turn's own `current_graph()` by milliseconds, such as classifying
    the turn's message, off the database thread.
    """
    return _graph


def _rebuild() -> None:
    """Load the graph with the collector paused and make it current; freeze it if it is big."""
    global _graph, _replaced
    if any(replaced() is not None for replaced in _replaced):
        # A big graph replaced at an earlier build is still here: held in a reference cycle,
        # which only the collector can free, and frozen. Let the collector see everything again.
        logger.warning("A replaced knowledge graph was not freed; running a full collection")
        gc.unfreeze()
        gc.collect()
    elif _graph is not None and len(_graph) >= FREEZE_MIN_NODES:
        # Collect the garbage of the turns since the last build, so as not to freeze it with
        # the new graph; quick, as what was frozen then is not walked.
        gc.collect()
    _replaced = []
    enabled = gc.isenabled()
    gc.disable()
    try:
        graph = load_graph()
        previous, _graph = _graph, graph
        if previous is not None:
            _retire(previous)
            del previous
        if len(graph) >= FREEZE_MIN_NODES:
            # Before the collector is back on: its next collection would walk the whole graph.
            # Everything the process holds now, the new graph included, is never walked again.
            gc.freeze()
    finally:
        if enabled:
            gc.enable()


def _retire(graph: KnowledgeGraph) -> None:
    if len(graph) >= FREEZE_MIN_NODES:
        _replaced.append(weakref.ref(graph))
    _drop_cached_views(graph)


def _drop_cached_views(graph: KnowledgeGraph) -> None:
    # networkx caches views on the graph object (`edges`, `degree`...), some of which refer back
    # to it: a reference cycle, which would keep a frozen graph alive. They are made again when
    # next asked for.
    cached = vars(graph.graph)
    for name in _cached_view_names(type(graph.graph)):
        cached.pop(name, None)


@functools.cache
def _cached_view_names(graph_class: type) -> tuple[str, ...]:
    return tuple(
        {
            name
            for klass in graph_class.__mro__
            for name, attribute in vars(klass).items()
            if isinstance(attribute, functools.cached_property)
        }
    )


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
    previous, _graph = _graph, None
    if previous is not None:
        _retire(previous)


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

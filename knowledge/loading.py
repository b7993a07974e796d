"""Read the graph's tables into the plain records the graph service is built from.

A rebuild reads every row, so the reading is kept lean: relations are read with their ends' ids
(no join) and named by key through the nodes just read; JSON columns are read as text and
decoded here, the empty `{}` and `[]` that most rows hold without calling the decoder; each
relation and node type is one shared string.
"""

import json
import sys
from collections.abc import Iterator

from django.db.models import BigIntegerField, Subquery, TextField, Value
from django.db.models.functions import Cast, Coalesce

from knowledge.graph import KnowledgeGraph, NodeRecord, RelationRecord
from knowledge.models import GraphVersion, Node, Relation

CHUNK = 20_000


def stored_version() -> int:
    """Return the graph's version number as the database holds it (0 before any change)."""
    return GraphVersion.objects.filter(pk=1).values_list("number", flat=True).first() or 0


def stored_version_expression() -> Coalesce:
    """The stored version number as an expression, to read it within another query.

    The database is where writers commit the number first, so it is never behind the one Redis
    announces."""
    number = GraphVersion.objects.filter(pk=1).values("number")[:1]
    return Coalesce(Subquery(number, output_field=BigIntegerField()), Value(0))


def stored_nodes(keys: dict[int, str] | None = None) -> Iterator[NodeRecord]:
    """Yield every node as a record; fill `keys` (node id -> key), if given, on the way."""
    rows = Node.objects.order_by().values_list(
        "pk", "key", "type", "label", _text("aliases"), _text("attributes"), _text("answers")
    )
    loads, intern = json.loads, sys.intern
    for id_, key, type_, label, aliases, attributes, answers in rows.iterator(chunk_size=CHUNK):
        if keys is not None:
            keys[id_] = key
        yield NodeRecord(
            key,
            intern(type_),
            label,
            () if aliases == "[]" else tuple(loads(aliases)),
            {} if attributes == "{}" else loads(attributes),
            () if answers == "[]" else tuple(loads(answers)),
        )


def stored_relations(keys: dict[int, str] | None = None) -> Iterator[RelationRecord]:
    """Yield every relation as a record, its ends named by key.

    `keys` maps every node's id to its key, as `stored_nodes` fills it; without it, the keys
    are read first. A relation whose ends are not all in it (a node created after the nodes
    were read, in a later version of the graph) is left out.
    """
    if keys is None:
        keys = dict(Node.objects.order_by().values_list("pk", "key").iterator(chunk_size=CHUNK))
    rows = Relation.objects.order_by().values_list(
        "pk", "source_id", "type", "target_id", _text("attributes")
    )
    loads, intern, key_of = json.loads, sys.intern, keys.get
    for id_, source_id, type_, target_id, attributes in rows.iterator(chunk_size=CHUNK):
        source, target = key_of(source_id), key_of(target_id)
        if source is None or target is None:
            continue
        yield RelationRecord(
            id_,
            source,
            intern(type_),
            target,
            {} if attributes == "{}" else loads(attributes),
        )


def load_graph() -> KnowledgeGraph:
    """Build the graph from the tables, at the version they held when reading began."""
    version = stored_version()
    keys: dict[int, str] = {}
    nodes = list(stored_nodes(keys))
    return KnowledgeGraph(nodes, stored_relations(keys), version)


def _text(field: str) -> Cast:
    # A JSON column as the text the database holds, to be decoded here.
    return Cast(field, output_field=TextField())

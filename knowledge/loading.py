"""Read the graph's tables into the plain records the graph service is built from."""

from collections.abc import Iterator

from knowledge.graph import KnowledgeGraph, NodeRecord, RelationRecord
from knowledge.models import GraphVersion, Node, Relation

CHUNK = 5000


def stored_version() -> int:
    """Return the graph's version number as the database holds it (0 before any change)."""
    return GraphVersion.objects.filter(pk=1).values_list("number", flat=True).first() or 0


def stored_nodes() -> Iterator[NodeRecord]:
    """Yield every node as a record."""
    rows = Node.objects.order_by().values_list(
        "key", "type", "label", "aliases", "attributes", "answers"
    )
    for key, type_, label, aliases, attributes, answers in rows.iterator(chunk_size=CHUNK):
        yield NodeRecord(key, type_, label, tuple(aliases), attributes, tuple(answers))


def stored_relations() -> Iterator[RelationRecord]:
    """Yield every relation as a record, its ends named by key."""
    rows = Relation.objects.order_by().values_list(
        "id", "source__key", "type", "target__key", "attributes"
    )
    for id_, source, type_, target, attributes in rows.iterator(chunk_size=CHUNK):
        yield RelationRecord(id_, source, type_, target, attributes)


def load_graph() -> KnowledgeGraph:
    """Build the graph from the tables, at the version they held when reading began."""
    version = stored_version()
    return KnowledgeGraph(stored_nodes(), stored_relations(), version)

"""Export the stored graph to any of the exchange formats."""

from pathlib import Path

from knowledge.interchange import write_document
from knowledge.models import Node, Relation


def stored_document() -> tuple[list[dict], list[dict]]:
    """Return every node and relation as exchange-format objects, in a stable order."""
    nodes = [node.snapshot() for node in Node.objects.order_by("key").iterator(chunk_size=5000)]
    relations = Relation.objects.select_related("source", "target").order_by(
        "source__key", "type", "target__key"
    )
    return nodes, [relation.snapshot() for relation in relations.iterator(chunk_size=5000)]


def export_to(path: Path) -> tuple[int, int]:
    """Write the graph to a path in the format its name says; return the counts written."""
    nodes, relations = stored_document()
    write_document(path, nodes, relations)
    return len(nodes), len(relations)

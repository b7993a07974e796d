"""Import a graph document: check all of it against the graph it would make, then write it at once.

Nothing is written when any problem is found. By default nodes are added or updated by key and
relations by (source, type, target); `replace` makes the graph exactly the document's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import transaction

from knowledge import actions
from knowledge.graph import NodeRecord
from knowledge.interchange import GraphDocument
from knowledge.loading import stored_nodes, stored_relations
from knowledge.models import Change, Node, Relation
from knowledge.validation import (
    InvalidKnowledge,
    NameClaims,
    Problem,
    check_node,
    check_placeholders,
    check_relation,
)

BATCH = 2000
Progress = Callable[[Iterable, str, int], Iterable]


@dataclass
class ImportSummary:
    """How many nodes and relations an import created, updated, deleted and left as they were."""

    nodes: dict = field(default_factory=lambda: dict(created=0, updated=0, deleted=0, unchanged=0))
    relations: dict = field(
        default_factory=lambda: dict(created=0, updated=0, deleted=0, unchanged=0)
    )
    is_dry_run: bool = False

    def as_dict(self) -> dict:
        return {"nodes": self.nodes, "relations": self.relations, "dry_run": self.is_dry_run}


def import_document(
    document: GraphDocument,
    user=None,
    replace: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportSummary:
    """Check the document completely, then write it in one transaction (unless a dry run)."""
    progress = progress or (lambda items, description, total: items)
    with transaction.atomic():
        version = actions.lock_graph()
        existing_nodes = {node.key: node for node in stored_nodes()}
        existing_relations = {
            (relation.source, relation.type, relation.target): relation
            for relation in stored_relations()
        }
        nodes, relations = _checked(document, existing_nodes, existing_relations, replace)
        summary = _plan(nodes, relations, existing_nodes, existing_relations, replace)
        summary.is_dry_run = dry_run
        if dry_run:
            transaction.set_rollback(True)
            return summary
        _write(
            nodes, relations, existing_nodes, existing_relations, replace, version, user, progress
        )
        return summary


def _checked(
    document: GraphDocument, existing_nodes: dict, existing_relations: dict, replace: bool
) -> tuple[dict[str, NodeRecord], dict[tuple, dict]]:
    """Return the document's nodes and relations, or raise with every problem in them."""
    problems = list(document.problems)
    nodes: dict[str, NodeRecord] = {}
    locations: dict[str, str] = {}
    for location, data in document.nodes:
        record, found = check_node(data, location)
        problems += found
        if record is not None and record.key in nodes:
            problems.append(
                Problem(f"{location}.key", f"{record.key!r} is also at {locations[record.key]}")
            )
        elif record is not None:
            nodes[record.key] = record
            locations[record.key] = location
    relations: dict[tuple, dict] = {}
    relation_locations: dict[tuple, str] = {}
    final_keys = nodes.keys() | (set() if replace else existing_nodes.keys())
    for location, data in document.links:
        checked, found = check_relation(data, location)
        problems += found
        if checked is None:
            continue
        source, type_, target, attributes = checked
        for end, key in (("source", source), ("target", target)):
            if key not in final_keys:
                problems.append(Problem(f"{location}.{end}", f"no node {key!r}"))
        triple = (source, type_, target)
        if triple in relations:
            problems.append(
                Problem(
                    location,
                    f"{source} -{type_}-> {target} is also at {relation_locations[triple]}",
                )
            )
        relations[triple] = attributes
        relation_locations[triple] = location
    final_nodes = nodes if replace else {**existing_nodes, **nodes}
    claims = NameClaims(final_nodes.values())
    attributes_of = {key: node.attributes for key, node in final_nodes.items()}
    for key, node in final_nodes.items():
        location = locations.get(key, f"the stored node {key!r}")
        if key in nodes:
            problems += claims.collisions(node, location)
        problems += check_placeholders(node, attributes_of, location)
    if problems:
        raise InvalidKnowledge(problems)
    return nodes, relations


def _plan(nodes, relations, existing_nodes, existing_relations, replace) -> ImportSummary:
    summary = ImportSummary()
    for key, node in nodes.items():
        state = (
            "created"
            if key not in existing_nodes
            else ("unchanged" if existing_nodes[key] == node else "updated")
        )
        summary.nodes[state] += 1
    for triple, attributes in relations.items():
        old = existing_relations.get(triple)
        state = (
            "created"
            if old is None
            else ("unchanged" if old.attributes == attributes else "updated")
        )
        summary.relations[state] += 1
    if replace:
        summary.nodes["deleted"] = len(existing_nodes.keys() - nodes.keys())
        summary.relations["deleted"] = len(existing_relations.keys() - relations.keys())
    return summary


def _write(nodes, relations, existing_nodes, existing_relations, replace, version, user, progress):
    changes: list[Change] = []
    log = _change_maker(version, user, changes)
    if replace:
        doomed_relations = existing_relations.keys() - relations.keys()
        for triple in doomed_relations:
            log(Change.Subject.RELATION, _relation_dict(existing_relations[triple]), None)
        _delete_relations([existing_relations[triple].id for triple in doomed_relations])
        doomed = existing_nodes.keys() - nodes.keys()
        for key in doomed:
            log(Change.Subject.NODE, actions.node_fields(existing_nodes[key]), None)
        for start in range(0, len(doomed), BATCH):
            Node.objects.filter(key__in=list(doomed)[start : start + BATCH]).delete()
    new = [node for key, node in nodes.items() if key not in existing_nodes]
    for batch in progress(_batches(new), "Adding nodes", _batch_count(new)):
        Node.objects.bulk_create([Node(**actions.node_fields(node)) for node in batch])
        for node in batch:
            log(Change.Subject.NODE, None, actions.node_fields(node))
    changed = [
        node for key, node in nodes.items() if key in existing_nodes and existing_nodes[key] != node
    ]
    for batch in progress(_batches(changed), "Updating nodes", _batch_count(changed)):
        _update_nodes(batch)
        for node in batch:
            log(
                Change.Subject.NODE,
                actions.node_fields(existing_nodes[node.key]),
                actions.node_fields(node),
            )
    _write_relations(relations, existing_relations, log, progress)
    for batch in progress(_batches(changes), "Logging changes", _batch_count(changes)):
        Change.objects.bulk_create(batch)


def _write_relations(relations, existing_relations, log, progress) -> None:
    ids = dict(Node.objects.values_list("key", "pk"))
    new = [triple for triple in relations if triple not in existing_relations]
    for batch in progress(_batches(new), "Adding relations", _batch_count(new)):
        Relation.objects.bulk_create(
            [
                Relation(
                    source_id=ids[source],
                    type=type_,
                    target_id=ids[target],
                    attributes=relations[(source, type_, target)],
                )
                for source, type_, target in batch
            ]
        )
        for triple in batch:
            log(Change.Subject.RELATION, None, _relation_dict_of(triple, relations[triple]))
    for triple, attributes in relations.items():
        old = existing_relations.get(triple)
        if old is not None and old.attributes != attributes:
            Relation.objects.filter(pk=old.id).update(attributes=attributes)
            log(Change.Subject.RELATION, _relation_dict(old), _relation_dict_of(triple, attributes))


def _update_nodes(batch: list[NodeRecord]) -> None:
    stored = {node.key: node for node in Node.objects.filter(key__in=[n.key for n in batch])}
    for record in batch:
        node = stored[record.key]
        for name, value in actions.node_fields(record).items():
            setattr(node, name, value)
        node.version += 1
    Node.objects.bulk_update(
        stored.values(), ["type", "label", "aliases", "attributes", "answers", "version"]
    )


def _delete_relations(relation_ids: list[int]) -> None:
    for start in range(0, len(relation_ids), BATCH):
        Relation.objects.filter(pk__in=relation_ids[start : start + BATCH]).delete()


def _change_maker(version, user, changes: list[Change]):
    def log(subject: str, before: dict | None, after: dict | None) -> None:
        item = before or after
        if subject == Change.Subject.NODE:
            target, concerns = item["key"], [item["key"]]
        else:
            target = f"{item['source']} -{item['type']}-> {item['target']}"
            concerns = [item["source"], item["target"]]
        changes.append(
            Change(
                user=user if user is not None and user.is_authenticated else None,
                action=actions.action_between(before, after),
                subject=subject,
                target=target,
                concerns=Change.concerning(*concerns),
                before=before,
                after=after,
                graph_version=version.number,
            )
        )

    return log


def _relation_dict(relation) -> dict:
    return _relation_dict_of((relation.source, relation.type, relation.target), relation.attributes)


def _relation_dict_of(triple: tuple, attributes: dict) -> dict:
    source, type_, target = triple
    return {"source": source, "type": type_, "target": target, "attributes": attributes}


def _batches(items: list) -> list[list]:
    return [items[start : start + BATCH] for start in range(0, len(items), BATCH)]


def _batch_count(items: list) -> int:
    return (len(items) + BATCH - 1) // BATCH

"""Every write to the knowledge graph: checked, logged with before and after, and announced.

Each action locks the graph's version row first, so edits are serialised and the checks below
see the graph as it will be; it raises `InvalidKnowledge` with every problem, `Conflict` when the
node was saved by someone else since it was read, and writes nothing in either case.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from knowledge.graph import NodeRecord
from knowledge.models import Change, GraphVersion, Node, Relation
from knowledge.service import announce_version
from knowledge.signals import version_changed
from knowledge.validation import (
    InvalidKnowledge,
    KnowledgeConflict,
    NameClaims,
    Problem,
    check_node,
    check_placeholders,
    check_relation,
    placeholders,
)


class NotFound(LookupError):
    """No such node, relation or change."""


class Conflict(Exception):
    """The object changed since the editor read it; `current` is what is stored now."""

    def __init__(self, message: str, current: dict | None = None) -> None:
        super().__init__(message)
        self.current = current


def create_node(data: dict, user=None, via: str = "") -> Node:
    """Add a node."""
    with transaction.atomic():
        version = lock_graph()
        record = _checked_node(data, is_new=True)
        node = Node.objects.create(**node_fields(record))
        _log(
            version,
            user,
            Change.Action.CREATE,
            Change.Subject.NODE,
            node.key,
            None,
            node.snapshot(),
            via=via,
        )
        return node


def update_node(
    key: str, changes: dict, expected_version: object, user=None, via: str = ""
) -> Node:
    """Change some of a node's fields, if nobody saved the node since `expected_version`."""
    with transaction.atomic():
        version = lock_graph()
        node = _node(key)
        if "key" in changes and changes["key"] != key:
            raise InvalidKnowledge([Problem("key", "a node's key cannot change")])
        if expected_version != node.version:
            raise Conflict(
                f"{key} was saved by someone else (version {node.version}, you edited "
                f"version {expected_version})",
                current=node_as_dict(node),
            )
        before = node.snapshot()
        record = _checked_node({**before, **changes, "key": key}, is_new=False)
        _refuse_breaking_quotes(key, set(before["attributes"]) - set(record.attributes))
        if before == node_fields(record):
            return node
        for name, value in node_fields(record).items():
            setattr(node, name, value)
        node.version += 1
        node.save()
        after = node.snapshot()
        _log(version, user, Change.Action.UPDATE, Change.Subject.NODE, key, before, after, via=via)
        return node


def delete_node(key: str, expected_version: object, user=None, via: str = "") -> None:
    """Remove a node and its relations, if nobody saved it since `expected_version`."""
    with transaction.atomic():
        version = lock_graph()
        node = _node(key)
        if expected_version != node.version:
            raise Conflict(
                f"{key} was saved by someone else since you read it", current=node_as_dict(node)
            )
        _refuse_breaking_quotes(key, None)
        before = {**node.snapshot(), "relations": _relations_of(node)}
        node.delete()
        _log(version, user, Change.Action.DELETE, Change.Subject.NODE, key, before, None, via=via)


def add_relation(data: dict, user=None, via: str = "") -> Relation:
    """Relate two existing nodes."""
    with transaction.atomic():
        version = lock_graph()
        relation = _create_relation(data)
        _log_relation(version, user, Change.Action.CREATE, None, relation.snapshot(), via)
        return relation


def update_relation(relation_id: int, attributes: dict, user=None, via: str = "") -> Relation:
    """Replace a relation's attributes."""
    with transaction.atomic():
        version = lock_graph()
        relation = _relation(relation_id)
        before = relation.snapshot()
        _, problems = check_relation({**before, "attributes": attributes})
        if problems:
            raise InvalidKnowledge(problems)
        relation.attributes = attributes
        relation.save(update_fields=["attributes"])
        _log_relation(version, user, Change.Action.UPDATE, before, relation.snapshot(), via)
        return relation


def remove_relation(relation_id: int, user=None, via: str = "") -> None:
    """Remove a relation."""
    with transaction.atomic():
        version = lock_graph()
        relation = _relation(relation_id)
        before = relation.snapshot()
        relation.delete()
        _log_relation(version, user, Change.Action.DELETE, before, None, via)


def revert_change(change_id: int, user=None) -> Change:
    """Undo a change, if what it made is still as it left it; the undoing is a change too."""
    with transaction.atomic():
        version = lock_graph()
        change = Change.objects.filter(pk=change_id).first()
        if change is None:
            raise NotFound(f"no change #{change_id}")
        if change.subject == Change.Subject.NODE:
            before, after = _revert_node(change)
        else:
            before, after = _revert_relation(change)
        return _log(
            version,
            user,
            action_between(before, after),
            change.subject,
            change.target,
            before,
            after,
            concerns=change.concerns.split(),
            reverts=change,
        )


def node_as_dict(node: Node) -> dict:
    """Return a node as the API shows it."""
    return {**node.snapshot(), "version": node.version, "updated_at": node.updated_at.isoformat()}


def lock_graph() -> GraphVersion:
    """Lock the version row and raise its number; other processes are told after the commit."""
    GraphVersion.objects.get_or_create(pk=1)
    version = GraphVersion.objects.select_for_update().get(pk=1)
    version.number += 1
    version.save(update_fields=["number", "updated_at"])
    number = version.number
    version_changed.send(sender=GraphVersion, number=number)
    transaction.on_commit(lambda: announce_version(number))
    return version


def _node(key: str) -> Node:
    node = Node.objects.filter(key=key).first()
    if node is None:
        raise NotFound(f"no node {key!r}")
    return node


def _relation(relation_id: int) -> Relation:
    relation = Relation.objects.select_related("source", "target").filter(pk=relation_id).first()
    if relation is None:
        raise NotFound(f"no relation #{relation_id}")
    return relation


def _checked_node(data: dict, is_new: bool) -> NodeRecord:
    record, problems = check_node(data)
    if record is None:
        raise InvalidKnowledge(problems)
    if is_new and Node.objects.filter(key=record.key).exists():
        raise KnowledgeConflict([Problem("key", f"a node {record.key!r} already exists")])
    others = (node for node in stored_name_records() if node.key != record.key)
    problems = NameClaims(others).collisions(record)
    quoted = {key for answer in record.answers for key, _ in placeholders(answer)}
    attributes_of = dict(Node.objects.filter(key__in=quoted).values_list("key", "attributes"))
    problems += check_placeholders(record, attributes_of)
    if problems:
        raise KnowledgeConflict(problems)
    return record


def stored_name_records() -> Iterable[NodeRecord]:
    """Yield every stored node with just its names, for collision checks."""
    for key, label, aliases in Node.objects.values_list("key", "label", "aliases").iterator():
        yield NodeRecord(key, "", label, tuple(aliases))


def _refuse_breaking_quotes(key: str, removed_attributes: set[str] | None) -> None:
    """Refuse to remove a node or attribute that another node's answers quote."""
    if removed_attributes == set():
        return
    problems = []
    for other, answers in (
        Node.objects.exclude(key=key).exclude(answers=[]).values_list("key", "answers")
    ):
        for quoted_key, name in {pair for answer in answers for pair in placeholders(answer)}:
            if quoted_key == key and (removed_attributes is None or name in removed_attributes):
                what = "this node" if removed_attributes is None else f"attribute {name!r}"
                problems.append(
                    Problem(
                        "attributes" if removed_attributes is not None else "key",
                        f"{what} is quoted by {other}'s answers as {{{key}.{name}}}",
                    )
                )
    if problems:
        raise KnowledgeConflict(problems)


def _create_relation(data: dict) -> Relation:
    checked, problems = check_relation(data)
    if checked is None:
        raise InvalidKnowledge(problems)
    source_key, type_, target_key, attributes = checked
    nodes = {node.key: node for node in Node.objects.filter(key__in=[source_key, target_key])}
    problems = [
        Problem(place, f"no node {key!r}")
        for place, key in (("source", source_key), ("target", target_key))
        if key not in nodes
    ]
    if (
        not problems
        and Relation.objects.filter(
            source=nodes[source_key], type=type_, target=nodes[target_key]
        ).exists()
    ):
        problems.append(Problem("type", f"{source_key} -{type_}-> {target_key} already exists"))
    if problems:
        raise KnowledgeConflict(problems)
    return Relation.objects.create(
        source=nodes[source_key], type=type_, target=nodes[target_key], attributes=attributes
    )


def _relations_of(node: Node) -> list[dict]:
    relations = Relation.objects.filter(source=node) | Relation.objects.filter(target=node)
    return [relation.snapshot() for relation in relations.select_related("source", "target")]


def _revert_node(change: Change) -> tuple[dict | None, dict | None]:
    key = change.target
    node = Node.objects.filter(key=key).first()
    current = node.snapshot() if node else None
    expected = _without_relations(change.after)
    if current != expected:
        raise Conflict(
            f"{key} has changed since this change; revert the later changes first",
            current=node_as_dict(node) if node else None,
        )
    restored = _without_relations(change.before)
    if restored is None:
        _refuse_breaking_quotes(key, None)
        node.delete()
        return current, None
    record = _checked_node(restored, is_new=node is None)
    if node is None:
        node = Node.objects.create(**node_fields(record))
        for relation in change.before.get("relations", []):
            _restore_relation(relation)
    else:
        _refuse_breaking_quotes(key, set(current["attributes"]) - set(record.attributes))
        for name, value in node_fields(record).items():
            setattr(node, name, value)
        node.version += 1
        node.save()
    return current, node.snapshot()


def _restore_relation(snapshot: dict) -> None:
    ends = dict(
        Node.objects.filter(key__in=[snapshot["source"], snapshot["target"]]).values_list(
            "key", "pk"
        )
    )
    if len(ends) == 2:
        Relation.objects.get_or_create(
            source_id=ends[snapshot["source"]],
            type=snapshot["type"],
            target_id=ends[snapshot["target"]],
            defaults={"attributes": snapshot["attributes"]},
        )


def _revert_relation(change: Change) -> tuple[dict | None, dict | None]:
    ends = change.before or change.after
    relation = (
        Relation.objects.select_related("source", "target")
        .filter(source__key=ends["source"], type=ends["type"], target__key=ends["target"])
        .first()
    )
    current = relation.snapshot() if relation else None
    if current != change.after:
        raise Conflict(
            f"{change.target} has changed since this change; revert the later ones first"
        )
    if change.before is None:
        relation.delete()
        return current, None
    if relation is None:
        return None, _create_relation(change.before).snapshot()
    relation.attributes = change.before["attributes"]
    relation.save(update_fields=["attributes"])
    return current, relation.snapshot()


def _without_relations(snapshot: dict | None) -> dict | None:
    if snapshot is None:
        return None
    return {name: value for name, value in snapshot.items() if name != "relations"}


def action_between(before: dict | None, after: dict | None) -> str:
    """Return what turned `before` into `after`: a create, an update or a delete."""
    if before is None:
        return Change.Action.CREATE
    return Change.Action.DELETE if after is None else Change.Action.UPDATE


def node_fields(record: NodeRecord) -> dict:
    """Return a record as the Node model's fields."""
    return {
        "key": record.key,
        "type": record.type,
        "label": record.label,
        "aliases": list(record.aliases),
        "attributes": record.attributes,
        "answers": list(record.answers),
    }


def _log_relation(
    version, user, action, before: dict | None, after: dict | None, via: str = ""
) -> Change:
    ends = before or after
    target = f"{ends['source']} -{ends['type']}-> {ends['target']}"
    return _log(
        version,
        user,
        action,
        Change.Subject.RELATION,
        target,
        before,
        after,
        concerns=[ends["source"], ends["target"]],
        via=via,
    )


def _log(
    version: GraphVersion,
    user,
    action: str,
    subject: str,
    target: str,
    before: dict | None,
    after: dict | None,
    concerns: list[str] | None = None,
    reverts: Change | None = None,
    via: str = "",
) -> Change:
    return Change.objects.create(
        user=user if user is not None and user.is_authenticated else None,
        action=action,
        subject=subject,
        target=target,
        concerns=Change.concerning(*(concerns or [target])),
        before=before,
        after=after,
        graph_version=version.number,
        reverts=reverts,
        via=via,
    )

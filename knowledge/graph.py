"""The knowledge graph as a `networkx.MultiDiGraph`, and every query the bot and the editor ask of it.

Plain Python: no Django. A builder (`knowledge.loading`) turns the tables into records; this module
turns records into a graph and answers queries. Every result carries its provenance: the keys of
the nodes and the ids of the relations it used, so an answer can cite its sources.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

import networkx

from knowledge.names import normalised_name, words_with_spans


@dataclass(frozen=True)
class NodeRecord:
    """One node as stored: a stable key, a type, the names it goes by, its facts and answers."""

    key: str
    type: str
    label: str
    aliases: tuple[str, ...] = ()
    attributes: dict = field(default_factory=dict)
    answers: tuple[str, ...] = ()


@dataclass(frozen=True)
class RelationRecord:
    """One typed relation from a source node to a target node."""

    id: int
    source: str
    type: str
    target: str
    attributes: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Provenance:
    """The nodes and relations a result was derived from."""

    nodes: tuple[str, ...] = ()
    relations: tuple[int, ...] = ()

    def as_dict(self) -> dict:
        return {"nodes": list(self.nodes), "relations": list(self.relations)}


@dataclass(frozen=True)
class Mention:
    """A stretch of an utterance naming one node, or several when the name is ambiguous."""

    text: str
    start: int
    end: int
    candidates: tuple[str, ...]

    @property
    def is_ambiguous(self) -> bool:
        return len(self.candidates) > 1

    @property
    def provenance(self) -> Provenance:
        return Provenance(nodes=self.candidates)


@dataclass(frozen=True)
class Fact:
    """One statement: a node's attribute value, or a relation to another node."""

    subject: str
    predicate: str
    value: object
    relation_id: int | None = None

    def as_dict(self) -> dict:
        return {
            "subject": self.subject,
            "predicate": self.predicate,
            "value": self.value,
            "relation": self.relation_id,
        }


@dataclass(frozen=True)
class Facts:
    """What the graph says about one node."""

    node: NodeRecord
    statements: tuple[Fact, ...]
    provenance: Provenance


@dataclass(frozen=True)
class Neighbour:
    """A node reached over one relation."""

    relation: RelationRecord
    node: NodeRecord


@dataclass(frozen=True)
class Neighbours:
    items: tuple[Neighbour, ...]
    provenance: Provenance


@dataclass(frozen=True)
class Path:
    """A chain of nodes, each joined to the next by a relation in either direction."""

    nodes: tuple[str, ...]
    relations: tuple[RelationRecord, ...]

    @property
    def provenance(self) -> Provenance:
        return Provenance(self.nodes, tuple(relation.id for relation in self.relations))


@dataclass(frozen=True)
class Subgraph:
    """The nodes within some hops of a centre, and the relations among them."""

    nodes: tuple[NodeRecord, ...]
    relations: tuple[RelationRecord, ...]
    is_truncated: bool

    @property
    def provenance(self) -> Provenance:
        return Provenance(
            tuple(node.key for node in self.nodes),
            tuple(relation.id for relation in self.relations),
        )


class UnknownNode(KeyError):
    """No node has this key."""


class NameIndex:
    """Maps normalised names (labels and aliases) to the keys of the nodes that bear them."""

    def __init__(self) -> None:
        self.keys_by_name: dict[tuple[str, ...], set[str]] = {}
        self.longest = 0

    def add(self, name: str, key: str) -> None:
        words = normalised_name(name)
        if words:
            self.keys_by_name.setdefault(words, set()).add(key)
            self.longest = max(self.longest, len(words))

    def mentions(self, text: str) -> list[Mention]:
        """Return the names in the text, leftmost first, the longest where names overlap."""
        words = list(words_with_spans(text))
        stems = [stem for stem, _, _ in words]
        mentions = []
        position = 0
        while position < len(words):
            for length in range(min(self.longest, len(words) - position), 0, -1):
                keys = self.keys_by_name.get(tuple(stems[position : position + length]))
                if keys:
                    start, end = words[position][1], words[position + length - 1][2]
                    mentions.append(Mention(text[start:end], start, end, tuple(sorted(keys))))
                    position += length
                    break
            else:
                position += 1
        return mentions


class KnowledgeGraph:
    """A version of the knowledge graph, built once and queried many times."""

    def __init__(
        self,
        nodes: Iterable[NodeRecord],
        relations: Iterable[RelationRecord],
        version: int = 0,
    ) -> None:
        self.version = version
        self.graph = networkx.MultiDiGraph()
        self.names = NameIndex()
        self.topics_by_intent: dict[str, str] = {}
        self.graph.add_nodes_from((node.key, {"record": node}) for node in self._indexed(nodes))
        self.graph.add_edges_from(
            (relation.source, relation.target, relation.id, {"record": relation})
            for relation in relations
        )

    def _indexed(self, nodes: Iterable[NodeRecord]) -> Iterable[NodeRecord]:
        for node in nodes:
            self.names.add(node.label, node.key)
            for alias in node.aliases:
                self.names.add(alias, node.key)
            if node.type == "topic" and isinstance(node.attributes.get("intent"), str):
                self.topics_by_intent[node.attributes["intent"]] = node.key
            yield node

    def __len__(self) -> int:
        return self.graph.number_of_nodes()

    def __contains__(self, key: str) -> bool:
        return key in self.graph

    def node(self, key: str) -> NodeRecord:
        """Return a node's record."""
        try:
            return self.graph.nodes[key]["record"]
        except KeyError:
            raise UnknownNode(key) from None

    def relations(self) -> Iterable[RelationRecord]:
        """Yield every relation."""
        return (data["record"] for _, _, data in self.graph.edges(data=True))

    def topic_for_intent(self, intent: str) -> str | None:
        """Return the key of the topic node that answers an intent, if there is one."""
        return self.topics_by_intent.get(intent)

    def link(self, text: str) -> list[Mention]:
        """Return the nodes an utterance names, by label or alias; ambiguous names list them all."""
        return self.names.mentions(text)

    def facts(self, key: str) -> Facts:
        """Return a node's attributes and its relations in both directions, as statements."""
        node = self.node(key)
        statements = [Fact(key, name, value) for name, value in node.attributes.items()]
        relations = [*self._out_relations(key), *self._in_relations(key)]
        statements += [
            Fact(relation.source, relation.type, relation.target, relation.id)
            for relation in relations
        ]
        related_nodes = {relation.source for relation in relations} | {
            relation.target for relation in relations
        }
        provenance = Provenance(
            (key, *sorted(related_nodes - {key})), tuple(relation.id for relation in relations)
        )
        return Facts(node, tuple(statements), provenance)

    def neighbours(
        self, key: str, relation_type: str | None = None, direction: str = "out"
    ) -> Neighbours:
        """Return the nodes joined to this one, over relations of a type if one is given.

        Args:
            key: the node's key.
            relation_type: only relations of this type; all when None.
            direction: "out" (this node is the source), "in" (it is the target) or "both".
        """
        self.node(key)
        relations = []
        if direction in ("out", "both"):
            relations += self._out_relations(key)
        if direction in ("in", "both"):
            relations += self._in_relations(key)
        if direction not in ("out", "in", "both"):
            raise ValueError(f"direction must be out, in or both, not {direction!r}")
        items = tuple(
            Neighbour(relation, self.node(relation.target if relation.source == key else relation.source))
            for relation in relations
            if relation_type is None or relation.type == relation_type
        )
        provenance = Provenance(
            (key, *dict.fromkeys(item.node.key for item in items)),
            tuple(item.relation.id for item in items),
        )
        return Neighbours(items, provenance)

    def paths(self, source: str, target: str, max_hops: int = 4, limit: int = 5) -> list[Path]:
        """Return the shortest ways two nodes are related, relations followed either way."""
        self.node(source)
        self.node(target)
        parents = self._shortest_path_parents(source, target, max_hops)
        if target not in parents:
            return []
        chains = self._chains_back(parents, source, target, limit)
        return [Path(tuple(chain), self._relations_along(chain)) for chain in chains]

    def subgraph(self, key: str, hops: int = 1, limit: int | None = None) -> Subgraph:
        """Return the nodes within `hops` relations of a node (either way) and their relations.

        With a limit, the nearest `limit` nodes are kept and `is_truncated` says so.
        """
        self.node(key)
        distances = {key: 0}
        queue = deque([key])
        is_truncated = False
        while queue:
            current = queue.popleft()
            if distances[current] == hops:
                continue
            for neighbour in self._adjacent(current):
                if neighbour in distances:
                    continue
                if limit is not None and len(distances) >= limit:
                    is_truncated = True
                    break
                distances[neighbour] = distances[current] + 1
                queue.append(neighbour)
        kept = set(distances)
        relations = tuple(
            data["record"]
            for source in distances
            for _, target, data in self.graph.out_edges(source, data=True)
            if target in kept
        )
        return Subgraph(tuple(self.node(k) for k in distances), relations, is_truncated)

    def _out_relations(self, key: str) -> list[RelationRecord]:
        return [data["record"] for _, _, data in self.graph.out_edges(key, data=True)]

    def _in_relations(self, key: str) -> list[RelationRecord]:
        return [data["record"] for _, _, data in self.graph.in_edges(key, data=True)]

    def _adjacent(self, key: str) -> Iterable[str]:
        yield from self.graph.successors(key)
        yield from self.graph.predecessors(key)

    def _shortest_path_parents(self, source: str, target: str, max_hops: int) -> dict:
        # Breadth first, level by level, remembering every parent on a shortest route.
        parents: dict[str, list[str]] = {source: []}
        level = [source]
        for _ in range(max_hops):
            if target in parents or not level:
                break
            found: dict[str, list[str]] = {}
            for current in level:
                for neighbour in self._adjacent(current):
                    if neighbour not in parents:
                        found.setdefault(neighbour, [])
                        if current not in found[neighbour]:
                            found[neighbour].append(current)
            parents.update(found)
            level = list(found)
        return parents

    def _chains_back(self, parents: dict, source: str, target: str, limit: int) -> list[list[str]]:
        chains: list[list[str]] = []
        stack = [[target]]
        while stack and len(chains) < limit:
            chain = stack.pop()
            if chain[-1] == source:
                chains.append(chain[::-1])
                continue
            stack.extend(chain + [parent] for parent in reversed(sorted(parents[chain[-1]])))
        return chains

    def _relations_along(self, chain: list[str]) -> tuple[RelationRecord, ...]:
        relations = []
        for first, second in zip(chain, chain[1:]):
            between = [
                data["record"] for data in (self.graph.get_edge_data(first, second) or {}).values()
            ] + [data["record"] for data in (self.graph.get_edge_data(second, first) or {}).values()]
            relations.append(min(between, key=lambda relation: relation.id))
        return tuple(relations)

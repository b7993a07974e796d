"""The knowledge graph as a `networkx.MultiDiGraph`, and every query the bot and editor ask of it.

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


@dataclass(frozen=True, slots=True)
class NodeRecord:
    """One node as stored: a stable key, a type, the names it goes by, its facts and answers."""

    key: str
    type: str
    label: str
    aliases: tuple[str, ...] = ()
    attributes: dict = field(default_factory=dict)
    answers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
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
        # The normalised form of each whitespace-separated piece of a name added so far.
        self._pieces: dict[str, tuple[str, ...]] = {}

    def add(self, name: str, key: str) -> None:
        words = self._normalised(name)
        if words:
            keys = self.keys_by_name.get(words)
            if keys is None:
                self.keys_by_name[words] = {key}
            else:
                keys.add(key)
            if len(words) > self.longest:
                self.longest = len(words)

    def _normalised(self, name: str) -> tuple[str, ...]:
        # normalised_name(name), piece by piece: names are normalised word by word and no word
        # spans whitespace, so a name's form is its pieces' forms end to end; the pieces (the
        # same words again and again) are normalised once each.
        pieces = self._pieces
        words: tuple[str, ...] = ()
        for piece in name.split():
            form = pieces.get(piece)
            if form is None:
                form = pieces[piece] = normalised_name(piece)
            words += form
        return words

    def _forget_pieces(self) -> None:
        self._pieces = {}

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
    """A version of the knowledge graph, built once and queried many times.

    `graph` is a `networkx.MultiDiGraph`: a node per key, an edge per relation, keyed by the
    relation's id (relation ids must be unique). The records are held beside it, by key and by
    id, and its per-node and per-edge attribute dictionaries are left empty: smaller, and an
    empty dictionary is not tracked by the garbage collector (half a million fewer objects for
    it to walk at 500,000 relations).

    The graph is filled through networkx's own dictionaries (`_node`, `_succ`, `_pred`), the way
    `add_edge` fills them, and queried through them: `add_edges_from` adds one edge at a time
    through `add_edge`, which clears the graph's caches on every call and costs more than all
    the rest of the build. The result is an ordinary `MultiDiGraph`; treat it as read-only.
    """

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
        self._nodes: dict[str, NodeRecord] = {}
        self._relations: dict[int, RelationRecord] = {}
        # The graph's own dictionaries: node -> attributes, and node -> neighbour -> {id: data}
        # in both directions (one {id: data} dictionary per pair, shared by both sides).
        self._succ: dict[str, dict[str, dict]] = self.graph._succ
        self._pred: dict[str, dict[str, dict]] = self.graph._pred
        self._add_nodes(nodes)
        self._add_relations(relations)

    def _add_nodes(self, nodes: Iterable[NodeRecord]) -> None:
        records, data, succ, pred = self._nodes, self.graph._node, self._succ, self._pred
        add_name, topics = self.names.add, self.topics_by_intent
        for node in nodes:
            key = node.key
            if key not in succ:
                if key is None:
                    raise ValueError("None cannot be a node")
                data[key] = {}
                succ[key] = {}
                pred[key] = {}
            records[key] = node
            add_name(node.label, key)
            for alias in node.aliases:
                add_name(alias, key)
            if node.type == "topic":
                intent = node.attributes.get("intent")
                if isinstance(intent, str):
                    topics[intent] = key
        self.names._forget_pieces()

    def _add_relations(self, relations: Iterable[RelationRecord]) -> None:
        records, succ, pred = self._relations, self._succ, self._pred
        for relation in relations:
            source, target, id_ = relation.source, relation.target, relation.id
            outgoing = succ.get(source)
            if outgoing is None:
                outgoing = self._add_bare_node(source)
            by_id = outgoing.get(target)
            if by_id is None:
                if target not in succ:
                    self._add_bare_node(target)
                by_id = outgoing[target] = pred[target][source] = {}
            if id_ in records and id_ not in by_id:
                raise ValueError(f"relation id {id_!r} is given to two pairs of nodes")
            by_id[id_] = {}
            records[id_] = relation

    def _add_bare_node(self, key: str) -> dict:
        # A relation's end that no node record names: networkx adds it, without a record.
        if key is None:
            raise ValueError("None cannot be a node")
        self.graph._node[key] = {}
        self._pred[key] = {}
        outgoing = self._succ[key] = {}
        return outgoing

    def __len__(self) -> int:
        return len(self._succ)

    def __contains__(self, key: str) -> bool:
        return key in self._succ

    def node(self, key: str) -> NodeRecord:
        """Return a node's record."""
        try:
            return self._nodes[key]
        except KeyError:
            raise UnknownNode(key) from None

    def relations(self) -> Iterable[RelationRecord]:
        """Yield every relation."""
        records = self._relations
        return (
            records[id_]
            for outgoing in self._succ.values()
            for by_id in outgoing.values()
            for id_ in by_id
        )

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
            Neighbour(
                relation, self.node(relation.target if relation.source == key else relation.source)
            )
            for relation in relations
            if relation_type is None or relation.type == relation_type
        )
        provenance = Provenance(
            (key, *dict.fromkeys(item.node.key for item in items)),
            tuple(item.relation.id for item in items),
        )
        return Neighbours(items, provenance)

    def paths(self, source: str, target: str, max_hops: int = 4, limit: int = 5) -> list[Path]:
        """Return the shortest ways two nodes are related, relations followed either way.

        Every shortest path (up to `limit` of them) is given, ordered by their nodes read from
        the target back to the source.
        """
        self.node(source)
        self.node(target)
        if source == target:
            return [Path((source,), ())] if limit > 0 else []
        meeting = self._meet(source, target, max_hops)
        if meeting is None:
            return []
        chains = self._chains_between(source, target, *meeting, limit)
        return [Path(tuple(chain), self._relations_along(chain)) for chain in chains]

    def subgraph(self, key: str, hops: int = 1, limit: int | None = None) -> Subgraph:
        """Return the nodes within `hops` relations of a node (either way) and their relations.

        With a limit, the nearest `limit` nodes are kept and `is_truncated` says so.
        """
        self.node(key)
        succ, pred = self._succ, self._pred
        distances = {key: 0}
        queue = deque([key])
        is_truncated = False
        # Breadth first, successors before predecessors; once full, the first node found
        # beyond the limit ends the search.
        while queue and not is_truncated:
            current = queue.popleft()
            distance = distances[current]
            if distance == hops:
                continue
            for adjacent in (succ[current], pred[current]):
                for neighbour in adjacent:
                    if neighbour in distances:
                        continue
                    if limit is not None and len(distances) >= limit:
                        is_truncated = True
                        break
                    distances[neighbour] = distance + 1
                    queue.append(neighbour)
                if is_truncated:
                    break
        records = self._relations
        relations = []
        for source in distances:
            outgoing = succ[source]
            if len(outgoing) <= len(distances):
                for target, by_id in outgoing.items():
                    if target in distances:
                        relations += [records[id_] for id_ in by_id]
            else:
                # A hub in a small subgraph: look the kept nodes up among its neighbours
                # rather than walk all its relations.
                for target in distances:
                    by_id = outgoing.get(target)
                    if by_id is not None:
                        relations += [records[id_] for id_ in by_id]
        return Subgraph(tuple(map(self.node, distances)), tuple(relations), is_truncated)

    def _out_relations(self, key: str) -> list[RelationRecord]:
        records = self._relations
        return [records[id_] for by_id in self._succ[key].values() for id_ in by_id]

    def _in_relations(self, key: str) -> list[RelationRecord]:
        records = self._relations
        return [records[id_] for by_id in self._pred[key].values() for id_ in by_id]

    def _meet(self, source: str, target: str, max_hops: int):
        """Search breadth first from both ends, a level at a time, until the searches meet.

        Each step expands whichever side's next level is cheaper (fewer relations to follow).
        Returns (forward, backward, meeting, backward_depth): every node reached from the
        source with its parents one hop nearer the source, the same from the target, the
        nodes both reached (all at the same distance from each end) and how many levels the
        target's side took; None when the ends are more than `max_hops` apart.
        """
        forward: dict[str, list[str]] = {source: []}
        backward: dict[str, list[str]] = {target: []}
        ahead, behind = [source], [target]
        backward_depth = 0
        for _ in range(max_hops):
            if not ahead or not behind:
                return None
            if self._cost(ahead) <= self._cost(behind):
                ahead = self._expand(ahead, forward)
                meeting = [node for node in ahead if node in backward]
            else:
                behind = self._expand(behind, backward)
                backward_depth += 1
                meeting = [node for node in behind if node in forward]
            if meeting:
                return forward, backward, meeting, backward_depth
        return None

    def _cost(self, level: list[str]) -> int:
        succ, pred = self._succ, self._pred
        return sum(len(succ[node]) + len(pred[node]) for node in level)

    def _expand(self, level: list[str], parents: dict[str, list[str]]) -> list[str]:
        """Reach the next level, remembering for each new node all its parents in this one."""
        found: dict[str, list[str]] = {}
        succ, pred = self._succ, self._pred
        for current in level:
            for adjacent in (succ[current], pred[current]):
                for neighbour in adjacent:
                    if neighbour in parents:
                        continue
                    seen_from = found.get(neighbour)
                    if seen_from is None:
                        found[neighbour] = [current]
                    elif seen_from[-1] is not current:
                        seen_from.append(current)
        parents.update(found)
        return list(found)

    def _chains_between(
        self,
        source: str,
        target: str,
        forward: dict[str, list[str]],
        backward: dict[str, list[str]],
        meeting: list[str],
        backward_depth: int,
        limit: int,
    ) -> list[list[str]]:
        """Return up to `limit` shortest chains from source to target, in order.

        Walked from the target: through the target's side down to the meeting nodes, then
        through the source's side back to the source, the smallest key first at each step, so
        the chains come in the order of their nodes read from the target.
        """
        # On the target's side, only the nodes leading to a meeting node are on a shortest
        # path; for each, the nodes one hop further from the target that it leads to.
        towards_source: dict[str, list[str]] = {}
        level = meeting
        for _ in range(backward_depth):
            above: dict[str, None] = {}
            for node in level:
                for parent in backward[node]:
                    towards_source.setdefault(parent, []).append(node)
                    above[parent] = None
            level = list(above)
        chains: list[list[str]] = []
        stack = [[target]]
        while stack and len(chains) < limit:
            chain = stack.pop()
            last = chain[-1]
            if last == source:
                chains.append(chain[::-1])
                continue
            following = towards_source[last] if len(chain) <= backward_depth else forward[last]
            stack.extend(chain + [node] for node in sorted(following, reverse=True))
        return chains

    def _relations_along(self, chain: list[str]) -> tuple[RelationRecord, ...]:
        # Between two neighbours on a path, the relation with the lowest id, either way.
        succ, records = self._succ, self._relations
        return tuple(
            records[min([*succ[first].get(second, ()), *succ[second].get(first, ())])]
            for first, second in zip(chain, chain[1:], strict=False)
        )

"""Knowledge graph benchmark: build, rebuild from the database, linking, facts, subgraphs, paths.

Generates a seeded synthetic graph (by default 100,000 nodes and 500,000 relations with a skewed
degree distribution) and measures:

- building `KnowledgeGraph` from records in memory (time, memory);
- the rebuild a process does when the graph's version moves on: `knowledge.service.current_graph()`
  after the version number moved, from a freshly filled database (SQLite in a temporary
  directory, or PostgreSQL), and `knowledge.loading.load_graph()` alone;
- latency of entity linking on 20-word utterances, `facts`, linking plus facts (the target),
  2-hop `subgraph` (unlimited and with a limit) and `paths`, with the graph frozen out of the
  garbage collector's sight as the service holds it, and again without; the collections that
  ran meanwhile and the longest of them;
- optionally `import_document` on a smaller graph, for the write path's order of magnitude.

Prints one JSON object to stdout (figures, targets and whether they are met), progress to stderr.

    .venv/bin/python bench/kg_benchmark.py                          # 100,000 / 500,000, SQLite
    .venv/bin/python bench/kg_benchmark.py --quick                  # 5,000 / 25,000
    .venv/bin/python bench/kg_benchmark.py --database-url postgres://postgres@127.0.0.1:5432/postgres

With --database-url a temporary database is created on that server and dropped at the end; the
database the URL names is only used to issue CREATE and DROP DATABASE.
"""

import argparse
import dataclasses
import gc
import itertools
import json
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from knowledge.graph import KnowledgeGraph, NodeRecord, RelationRecord  # noqa: E402
from knowledge.names import normalised_name  # noqa: E402

TARGETS = {"link_and_facts_p50_ms": 1.0, "rebuild_seconds": 5.0}
FULL = {"nodes": 100_000, "relations": 500_000, "import_nodes": 10_000}
QUICK = {"nodes": 5_000, "relations": 25_000, "import_nodes": 1_000}
MIB = 1024 * 1024
UTTERANCE_WORDS = 20
BATCH = 5_000

# Weights: how common each type is among nodes and relations.
NODE_TYPES = {"product": 14, "process": 14, "fee": 10, "limit": 10, "document": 14}
NODE_TYPES |= {"topic": 8, "channel": 6, "country": 10, "currency": 6, "merchant": 8}
RELATION_TYPES = {"concerns": 20, "has_fee": 10, "has_limit": 10, "requires": 10, "part_of": 8}
RELATION_TYPES |= {"available_in": 12, "supports_currency": 8, "related_topic": 10}
RELATION_TYPES |= {"offered_via": 6, "documented_in": 6}
# Words a visitor wraps names in; the generated vocabulary never stems to one of them.
FILLER_TEXT = (
    "how do i get my the for when will can you tell me about is there a what to with from please "
    "need help why does it take so long and or in on at of want know if this that still not today "
    "again new where which should we be ok been already since last week"
)
FILLER = FILLER_TEXT.split()
ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr", "st"]
VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "ou"]
CODAS = ["", "", "n", "r", "l", "x", "m", "nd"]


@dataclasses.dataclass
class SyntheticGraph:
    nodes: list[NodeRecord]
    relations: list[RelationRecord]


@dataclasses.dataclass
class Utterance:
    text: str
    keys: tuple[str, ...]  # the nodes whose names were put in it


# --- Generating the graph ------------------------------------------------------------------


def synthetic_graph(node_count: int, relation_count: int, seed: int, skew: float) -> SyntheticGraph:
    """Return a deterministic graph: named, typed nodes and relations between skewed endpoints."""
    rng = random.Random(seed)
    vocabulary = make_vocabulary(rng, max(2_000, node_count // 5))
    pick_word = zipf_picker(rng, len(vocabulary), 1.0)
    taken: set[tuple[str, ...]] = set()
    labels = make_names(rng, vocabulary, pick_word, node_count, taken)
    share_some_labels(rng, labels)
    alias_counts = rng.choices(range(4), weights=(40, 30, 20, 10), k=node_count)
    aliases = iter(make_names(rng, vocabulary, pick_word, sum(alias_counts), taken))
    types = rng.choices(list(NODE_TYPES), weights=list(NODE_TYPES.values()), k=node_count)
    nodes = []
    for index, (type_, label, alias_count) in enumerate(
        zip(types, labels, alias_counts, strict=True)
    ):
        node = NodeRecord(
            key=f"{type_}:{'_'.join(label.lower().split())[:80]}_{index}",
            type=type_,
            label=label,
            aliases=tuple(itertools.islice(aliases, alias_count)),
            attributes=make_attributes(rng, type_, index, vocabulary),
        )
        nodes.append(dataclasses.replace(node, answers=make_answers(rng, node)))
    keys = [node.key for node in nodes]
    return SyntheticGraph(nodes, make_relations(rng, keys, relation_count, skew))


def make_vocabulary(rng: random.Random, size: int) -> list[str]:
    """Return pseudo-words that stay distinct once stemmed and never stem to a filler word."""
    forbidden = {normalised_name(word) for word in FILLER}
    stems: set[tuple[str, ...]] = set()
    words = []
    while len(words) < size:
        word = "".join(
            rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS)
            for _ in range(rng.choice((1, 2, 2, 3)))
        )
        stem = normalised_name(word)
        if len(word) >= 3 and stem not in stems and stem not in forbidden:
            stems.add(stem)
            words.append(word)
    return words


def zipf_picker(rng: random.Random, size: int, skew: float) -> Callable[[int], list[int]]:
    """Return a function drawing k indices in range(size), index i with weight ~ 1/rank(i)^skew.

    The ranks are shuffled, so the popular indices are spread over the range.
    """
    ranks = list(range(1, size + 1))
    rng.shuffle(ranks)
    cumulative = list(itertools.accumulate(rank**-skew for rank in ranks))
    population = range(size)
    return lambda k: rng.choices(population, cum_weights=cumulative, k=k)


def make_names(rng, vocabulary, pick_word, count: int, taken: set) -> list[str]:
    """Return `count` names of 1-4 words, each unlike (as the graph compares names) any taken."""
    names = []
    while len(names) < count:
        length = rng.choices((1, 2, 3, 4), weights=(10, 40, 35, 15))[0]
        words = [vocabulary[index] for index in pick_word(length)]
        name = " ".join(word.capitalize() if rng.random() < 0.5 else word for word in words)
        normalised = normalised_name(name)
        if normalised not in taken:
            taken.add(normalised)
            names.append(name)
    return names


def share_some_labels(rng: random.Random, labels: list[str]) -> None:
    """Give 1% of the nodes another node's label, so some mentions are ambiguous, as allowed."""
    for _ in range(len(labels) // 100):
        labels[rng.randrange(len(labels))] = labels[rng.randrange(len(labels))]


def make_attributes(rng: random.Random, type_: str, index: int, vocabulary: list[str]) -> dict:
    """Return a few attributes of the kinds the rules allow: text, numbers, booleans, lists."""
    possible = {
        "days": lambda: rng.randint(1, 30),
        "amount": lambda: round(rng.uniform(0.5, 5_000), 2),
        "currency": lambda: rng.choice(("EUR", "GBP", "USD", "CHF")),
        "online": lambda: rng.random() < 0.5,
        "channels": lambda: rng.sample(("app", "web", "phone", "branch"), rng.randint(1, 3)),
        "note": lambda: " ".join(rng.choices(vocabulary, k=rng.randint(3, 8))),
    }
    names = rng.sample(list(possible), rng.randint(0, 4))
    attributes = {name: possible[name]() for name in names}
    if type_ == "topic":
        attributes["intent"] = f"intent_{index}"
    return attributes


def make_answers(rng: random.Random, node: NodeRecord) -> tuple[str, ...]:
    """Return 0-2 answers for most nodes, always one for topics; some quote one of its facts."""
    count = 1 if node.type == "topic" else rng.choices((0, 1, 2), weights=(60, 30, 10))[0]
    quotable = [name for name in node.attributes if name != "intent"]
    return tuple(
        f"{node.label}: {{{node.key}.{rng.choice(quotable)}}}."
        if quotable and rng.random() < 0.2
        else f"What to know about {node.label} ({index + 1})."
        for index in range(count)
    )


def make_relations(rng, keys: list[str], count: int, skew: float) -> list[RelationRecord]:
    """Return `count` distinct relations, no self-loops, ends drawn with power-law popularity."""
    if count > len(keys) * (len(keys) - 1) * len(RELATION_TYPES) // 4:
        raise SystemExit(f"{count} relations do not fit between {len(keys)} nodes")
    # Separate rankings: the nodes many relations point at are not the ones that point most.
    pick_source = zipf_picker(rng, len(keys), skew)
    pick_target = zipf_picker(rng, len(keys), skew)
    seen: set[tuple[int, str, int]] = set()
    relations: list[RelationRecord] = []
    while len(relations) < count:
        wanted = count - len(relations)
        kinds = rng.choices(list(RELATION_TYPES), weights=list(RELATION_TYPES.values()), k=wanted)
        for source, kind, target in zip(
            pick_source(wanted), kinds, pick_target(wanted), strict=True
        ):
            if source == target or (source, kind, target) in seen:
                continue
            seen.add((source, kind, target))
            attributes = {"weight": round(rng.random(), 2)} if rng.random() < 0.2 else {}
            relations.append(
                RelationRecord(len(relations) + 1, keys[source], kind, keys[target], attributes)
            )
    return relations


def make_utterances(rng: random.Random, nodes: list[NodeRecord], count: int) -> list[Utterance]:
    """Return utterances of 20 words: 2-3 node names (label or alias) among filler words."""
    utterances = []
    for _ in range(count):
        chosen = rng.sample(nodes, rng.choice((2, 3)))
        names = [spoken(rng, rng.choice((node.label, *node.aliases))) for node in chosen]
        name_words = sum(len(name.split()) for name in names)
        words = rng.choices(FILLER, k=UTTERANCE_WORDS - name_words)
        # Distinct gaps, so a filler word always separates two names.
        gaps = rng.sample(range(len(words) + 1), len(names))
        for gap, name in sorted(zip(gaps, names, strict=True), reverse=True):
            words.insert(gap, name)
        utterances.append(Utterance(" ".join(words), tuple(node.key for node in chosen)))
    return utterances


def spoken(rng: random.Random, name: str) -> str:
    """Write a name the way a visitor might: any case, sometimes possessive."""
    name = rng.choice((name, name.lower(), name.upper(), name.title()))
    return name + "'s" if rng.random() < 0.1 else name


# --- Measuring -----------------------------------------------------------------------------


def timed(function: Callable, arguments: Sequence, warmup: int = 50) -> tuple[list[float], list]:
    """Call the function on each argument; return each call's milliseconds and the results."""
    for argument in arguments[:warmup]:
        function(argument)
    timings, results = [], []
    for argument in arguments:
        started = time.perf_counter_ns()
        result = function(argument)
        timings.append((time.perf_counter_ns() - started) / 1e6)
        results.append(result)
    return timings, results


def summary(values: Sequence[float], digits: int = 4) -> dict:
    """Return p50, p95, p99, mean and max of some figures (nearest-rank percentiles)."""
    ordered = sorted(values)

    def rank(share: float) -> float:
        return round(ordered[max(0, int(round(share * len(ordered))) - 1)], digits)

    return {
        "p50": rank(0.50),
        "p95": rank(0.95),
        "p99": rank(0.99),
        "mean": round(statistics.fmean(ordered), digits),
        "max": round(ordered[-1], digits),
        "samples": len(ordered),
    }


def traced(build: Callable):
    """Run build() under tracemalloc; return its result, MiB it left allocated and its peak MiB."""
    gc.collect()
    tracemalloc.start()
    result = build()
    gc.collect()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, round(current / MIB, 1), round(peak / MIB, 1)


def seconds_of(build: Callable, runs: int, collector: bool = True) -> list[float]:
    """Time build() `runs` times, with the cyclic garbage collector on or off."""
    seconds = []
    for _ in range(runs):
        gc.collect()
        if not collector:
            gc.disable()
        started = time.perf_counter()
        try:
            result = build()
        finally:
            gc.enable()
        seconds.append(round(time.perf_counter() - started, 3))
        del result
    return seconds


@contextmanager
def collector_watch() -> Iterator[dict]:
    """Count the garbage collections that run inside the block and time the longest one.

    Yields a dict filled in when the block ends: collections by generation, the longest pause
    and the total, in milliseconds.
    """
    counts = [0, 0, 0]
    pauses: list[float] = []
    started: list[int] = []

    def callback(phase: str, info: dict) -> None:
        if phase == "start":
            started.append(time.perf_counter_ns())
        elif started:
            pauses.append((time.perf_counter_ns() - started.pop()) / 1e6)
            counts[info["generation"]] += 1

    figures: dict = {}
    gc.callbacks.append(callback)
    try:
        yield figures
    finally:
        gc.callbacks.remove(callback)
        figures.update(
            {
                "collections": {f"generation_{n}": count for n, count in enumerate(counts)},
                "longest_ms": round(max(pauses, default=0.0), 3),
                "total_ms": round(sum(pauses), 3),
            }
        )


def degrees(synthetic: SyntheticGraph) -> Counter:
    """Return how many relations each node takes part in, either way."""
    degree = Counter(relation.source for relation in synthetic.relations)
    degree.update(relation.target for relation in synthetic.relations)
    return degree


def describe(synthetic: SyntheticGraph) -> dict:
    """Return the generated graph's shape: counts, names and the degree distribution."""
    degree = degrees(synthetic)
    node_degrees = [degree[node.key] for node in synthetic.nodes]
    labels = Counter(normalised_name(node.label) for node in synthetic.nodes)
    return {
        "nodes": len(synthetic.nodes),
        "relations": len(synthetic.relations),
        "node_types": dict(Counter(node.type for node in synthetic.nodes)),
        "relation_types": dict(Counter(relation.type for relation in synthetic.relations)),
        "aliases": sum(len(node.aliases) for node in synthetic.nodes),
        "nodes_sharing_a_label": sum(n for n in labels.values() if n > 1),
        "degree": summary(node_degrees, 1) | {"isolated": node_degrees.count(0)},
    }


def measure_build(synthetic: SyntheticGraph, runs: int) -> dict:
    """Build the graph from in-memory records: seconds (collector on and off) and memory."""

    def build():
        return KnowledgeGraph(synthetic.nodes, synthetic.relations)

    with_collector = seconds_of(build, runs)
    without_collector = seconds_of(build, runs, collector=False)
    graph, retained, peak = traced(build)
    return {
        "seconds": statistics.median(with_collector),
        "runs": with_collector,
        "seconds_without_gc": statistics.median(without_collector),
        # The records exist before the build: this is what the graph and its indexes add.
        "memory_mib": {"retained_beyond_records": retained, "peak": peak},
        "full_gc_pause_seconds": full_collection_pause(),
    }, graph


def full_collection_pause() -> dict:
    """Time one full garbage collection while the graph is held, and again after gc.freeze().

    A process holding the graph stops for the first figure whenever the collector decides on a
    full collection; frozen objects are no longer scanned.
    """
    pauses = {"tracked_objects": len(gc.get_objects())}
    for name in ("held", "after_freeze"):
        if name == "after_freeze":
            gc.freeze()
        started = time.perf_counter()
        gc.collect()
        pauses[name] = round(time.perf_counter() - started, 3)
    gc.unfreeze()
    return pauses


def measure_queries(graph: KnowledgeGraph, synthetic: SyntheticGraph, arguments) -> dict:
    """Time each query the bot and the editor make, on random nodes and utterances.

    Also counts the garbage collections that ran while timing (`collector`): a full collection
    walks every object the collector tracks, the graph's included unless it is frozen.
    """
    rng = random.Random(arguments.seed + 1)
    keys = [node.key for node in synthetic.nodes]
    utterances = make_utterances(rng, synthetic.nodes, arguments.samples)
    subgraph_centres = rng.choices(keys, k=arguments.subgraph_samples)
    limited_centres = rng.choices(keys, k=arguments.samples)
    with collector_watch() as collector:
        figures = timed_queries(graph, synthetic, arguments, rng, keys, utterances)
        figures["subgraph_2_hops_ms"] = measure_subgraphs(graph, subgraph_centres, None)
        figures[f"subgraph_2_hops_limit_{arguments.limit}_ms"] = measure_subgraphs(
            graph, limited_centres, arguments.limit
        )
        figures["paths_4_hops_ms"] = measure_paths(
            graph, [tuple(rng.sample(keys, 2)) for _ in range(arguments.path_samples)]
        )
    return figures | {"collector": collector}


def timed_queries(graph, synthetic, arguments, rng, keys, utterances) -> dict:
    """Time linking, facts and linking plus facts."""
    return {
        **measure_linking(graph, utterances),
        "facts_ms": measure_facts(graph, rng.choices(keys, k=arguments.samples)),
        "facts_busiest_nodes_ms": measure_busiest_facts(graph, synthetic),
        "link_and_facts_ms": measure_link_and_facts(graph, utterances),
    }


def measure_queries_both_ways(graph: KnowledgeGraph, synthetic: SyntheticGraph, arguments):
    """Time the queries with the graph frozen, as the service holds it, then not frozen.

    Returns the frozen figures in full and, for the other, each query's p50, p99 and max and
    what the collector did.
    """
    gc.collect()
    gc.freeze()
    try:
        frozen = measure_queries(graph, synthetic, arguments)
    finally:
        gc.unfreeze()
    gc.collect()
    not_frozen = measure_queries(graph, synthetic, arguments)
    return frozen, {
        name: {key: value[key] for key in ("p50", "p99", "max")} if "p50" in value else value
        for name, value in not_frozen.items()
    }


def texts(utterances: list[Utterance]) -> list[str]:
    return [utterance.text for utterance in utterances]


def measure_linking(graph: KnowledgeGraph, utterances: list[Utterance]) -> dict:
    """Time link(); check it finds the nodes whose names were put in each utterance."""
    timings, results = timed(graph.link, texts(utterances))
    inserted = found = ambiguous = 0
    for utterance, mentions in zip(utterances, results, strict=True):
        candidates = {key for mention in mentions for key in mention.candidates}
        inserted += len(utterance.keys)
        found += sum(key in candidates for key in utterance.keys)
        ambiguous += sum(mention.is_ambiguous for mention in mentions)
    return {
        "link_ms": summary(timings)
        | {
            "words": UTTERANCE_WORDS,
            "mentions_mean": round(statistics.fmean(len(m) for m in results), 2),
            "ambiguous_mentions": ambiguous,
            "recall": round(found / inserted, 4),
        }
    }


def measure_facts(graph: KnowledgeGraph, keys: list[str]) -> dict:
    """Time facts() on random nodes."""
    timings, results = timed(graph.facts, keys)
    statements = [len(result.statements) for result in results]
    return summary(timings) | {"statements_mean": round(statistics.fmean(statements), 1)}


def measure_link_and_facts(graph: KnowledgeGraph, utterances: list[Utterance]) -> dict:
    """Time what a turn does: link the utterance, then the facts of the first node it names."""
    timings, _ = timed(
        lambda text: graph.facts(graph.link(text)[0].candidates[0]), texts(utterances)
    )
    return summary(timings)


def measure_busiest_facts(graph: KnowledgeGraph, synthetic: SyntheticGraph) -> dict:
    """Time facts() on the 50 nodes with the most relations: the worst case the bot can meet."""
    degree = degrees(synthetic)
    busiest = [key for key, _ in degree.most_common(50)]
    timings, _ = timed(graph.facts, busiest, warmup=5)
    return summary(timings) | {"degree_max": degree[busiest[0]], "degree_min": degree[busiest[-1]]}


def measure_paths(graph: KnowledgeGraph, pairs: list[tuple[str, str]]) -> dict:
    """Time paths(max_hops=4) between random pairs; report how often and how far they connect."""
    timings, results = timed(lambda pair: graph.paths(*pair, max_hops=4), pairs, warmup=5)
    hops = [len(paths[0].relations) for paths in results if paths]
    return summary(timings) | {
        "found_share": round(len(hops) / len(results), 3),
        "hops_mean": round(statistics.fmean(hops), 2) if hops else None,
    }


def measure_subgraphs(graph: KnowledgeGraph, centres: list[str], limit: int | None) -> dict:
    """Time subgraph(hops=2) and report how big the subgraphs are."""
    timings, results = timed(lambda key: graph.subgraph(key, hops=2, limit=limit), centres, 5)
    return summary(timings) | {
        "nodes": summary([len(result.nodes) for result in results], 1),
        "relations_mean": round(statistics.fmean(len(result.relations) for result in results)),
        "truncated_share": round(statistics.fmean(r.is_truncated for r in results), 3),
    }


# --- The database ----------------------------------------------------------------------------


@contextmanager
def database(url: str | None, work: Path) -> Iterator[str]:
    """Yield the URL of an empty database: a SQLite file, or a temporary PostgreSQL database."""
    if not url:
        yield f"sqlite:///{work / 'kg_bench.sqlite3'}"
        return
    import psycopg

    name = f"kg_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlparse(url)._replace(path=f"/{name}").geturl()
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


def set_up_django(database_url: str, work: Path) -> None:
    """Configure Django for this database, without Redis, and create the tables."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "chatbot.settings",
            "VAR_DIR": str(work),
            "DATABASE_URL": database_url,
            "REDIS_URL": "",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def fill(synthetic: SyntheticGraph) -> float:
    """Write the graph's rows with bulk_create in one transaction; return the seconds it took.

    The import command would also check every node and log a change per row: that is the write
    path, measured separately on a smaller graph.
    """
    from django.db import transaction

    from knowledge.actions import node_fields
    from knowledge.models import GraphVersion, Node, Relation

    started = time.perf_counter()
    with transaction.atomic():
        GraphVersion.objects.update_or_create(pk=1, defaults={"number": 1})
        for batch in batched(synthetic.nodes):
            Node.objects.bulk_create([Node(**node_fields(node)) for node in batch])
        ids = dict(Node.objects.values_list("key", "pk"))
        for batch in batched(synthetic.relations):
            Relation.objects.bulk_create(
                [
                    Relation(
                        source_id=ids[relation.source],
                        type=relation.type,
                        target_id=ids[relation.target],
                        attributes=relation.attributes,
                    )
                    for relation in batch
                ]
            )
    return round(time.perf_counter() - started, 2)


def batched(items: list) -> Iterator[list]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


def measure_rebuild(synthetic: SyntheticGraph, runs: int) -> dict:
    """Time a process's rebuild when the version moves on, and load_graph() alone.

    `seconds`: `knowledge.service.current_graph()` after the version number moved, as a serving
    process rebuilds: the collector paused while building, the new graph frozen, the replaced
    one freed (`free_seconds` alone). Then load_graph() with no special handling of the
    collector (`load_graph_seconds`) and with the collector disabled (`seconds_without_gc`),
    and the rows alone, no graph (`read_rows_seconds`).
    """
    from django.db.models import F

    from knowledge import service
    from knowledge.loading import load_graph, stored_nodes, stored_relations
    from knowledge.models import GraphVersion

    started = time.perf_counter()
    rows = (list(stored_nodes()), list(stored_relations()))
    read_seconds = round(time.perf_counter() - started, 3)
    del rows
    plain = seconds_of(load_graph, runs)
    without_collector = seconds_of(load_graph, runs, collector=False)

    service.forget_graph()
    service.current_graph()  # the graph a process holds before the version moves
    seconds = []
    for _ in range(runs):
        GraphVersion.objects.filter(pk=1).update(number=F("number") + 1)
        gc.collect()
        started = time.perf_counter()
        service.current_graph()
        seconds.append(round(time.perf_counter() - started, 3))
    gc.collect()
    started = time.perf_counter()
    service.forget_graph()
    free_seconds = round(time.perf_counter() - started, 3)
    gc.unfreeze()
    graph, retained, peak = traced(load_graph)
    if len(graph) != len(synthetic.nodes) or graph.graph.number_of_edges() != len(
        synthetic.relations
    ):
        raise SystemExit("load_graph() did not return the graph that was written")
    return {
        "seconds": statistics.median(seconds),
        "runs": seconds,
        "free_seconds": free_seconds,
        "load_graph_seconds": statistics.median(plain),
        "load_graph_runs": plain,
        "seconds_without_gc": statistics.median(without_collector),
        "read_rows_seconds": read_seconds,
        # Everything the process holds for the graph: records, networkx structures, name index.
        "memory_mib": {"retained": retained, "peak": peak},
    }


def measure_import(node_count: int, seed: int, skew: float) -> dict:
    """Time import_document() of a smaller graph into the empty tables, then empty them again."""
    from knowledge.actions import node_fields
    from knowledge.importing import import_document
    from knowledge.interchange import GraphDocument
    from knowledge.models import Change, GraphVersion, Node, Relation

    small = synthetic_graph(node_count, node_count * 5, seed + 2, skew)
    document = GraphDocument(
        nodes=[(f"nodes[{i}]", node_fields(node)) for i, node in enumerate(small.nodes)],
        links=[(f"links[{i}]", link_fields(r)) for i, r in enumerate(small.relations)],
    )
    started = time.perf_counter()
    result = import_document(document)
    seconds = round(time.perf_counter() - started, 2)
    changes = Change.objects.count()
    for model in (Change, Relation, Node, GraphVersion):
        model.objects.all().delete()
    return {
        "nodes": result.nodes["created"],
        "relations": result.relations["created"],
        "changes_logged": changes,
        "seconds": seconds,
    }


def link_fields(relation: RelationRecord) -> dict:
    """Return a relation as the exchange formats write it: its ends named by key."""
    return {
        "source": relation.source,
        "type": relation.type,
        "target": relation.target,
        "attributes": relation.attributes,
    }


# --- Putting it together ---------------------------------------------------------------------


def main() -> None:
    arguments = parse_arguments()
    began = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - began:7.1f}s] {message}", file=sys.stderr, flush=True)

    progress(f"generating {arguments.nodes} nodes and {arguments.relations} relations")
    started = time.perf_counter()
    synthetic = synthetic_graph(
        arguments.nodes, arguments.relations, arguments.seed, arguments.skew
    )
    figures = {"config": vars(arguments)}
    figures["graph"] = describe(synthetic) | {
        "generation_seconds": round(time.perf_counter() - started, 1)
    }
    progress(f"building in memory, {arguments.runs} runs with the collector and without")
    figures["build"], graph = measure_build(synthetic, arguments.runs)
    progress("timing queries, with the graph frozen and not")
    figures["queries"], figures["queries_not_frozen"] = measure_queries_both_ways(
        graph, synthetic, arguments
    )
    del graph
    figures["database"] = measure_database(synthetic, arguments, progress)
    figures["targets"] = targets_met(figures)
    figures["process_max_rss_mib"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    figures["wall_seconds"] = round(time.monotonic() - began, 1)
    output = json.dumps(figures, indent=2)
    print(output)
    if arguments.out:
        Path(arguments.out).write_text(output)


def measure_database(synthetic: SyntheticGraph, arguments, progress: Callable) -> dict:
    """Fill a fresh database with the graph and time the rebuild from it (and an import)."""
    work = Path(tempfile.mkdtemp(prefix="kg-bench-"))
    try:
        with database(arguments.database_url, work) as url:
            set_up_django(url, work)
            from django.db import connection

            figures = {"vendor": connection.vendor}
            if arguments.import_nodes:
                progress(f"import_document of {arguments.import_nodes} nodes")
                figures["import_document"] = measure_import(
                    arguments.import_nodes, arguments.seed, arguments.skew
                )
            progress("filling the database with bulk_create")
            figures["fill_seconds"] = fill(synthetic)
            progress(
                f"rebuilding: load_graph() {arguments.runs} runs with the collector and without, "
                f"the service's rebuild {arguments.runs} runs, load_graph() once traced"
            )
            figures["rebuild"] = measure_rebuild(synthetic, arguments.runs)
            return figures
    finally:
        shutil.rmtree(work, ignore_errors=True)


def targets_met(figures: dict) -> dict:
    """Compare the target figures with the measured ones."""
    measured = {
        "link_and_facts_p50_ms": figures["queries"]["link_and_facts_ms"]["p50"],
        "rebuild_seconds": figures["database"]["rebuild"]["seconds"],
    }
    return {
        name: {"target": TARGETS[name], "measured": value, "met": value <= TARGETS[name]}
        for name, value in measured.items()
    }


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, help="default 100,000 (5,000 with --quick)")
    parser.add_argument("--relations", type=int, help="default 500,000 (25,000 with --quick)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--skew", type=float, default=0.7, help="power-law exponent of relation ends' popularity"
    )
    parser.add_argument("--quick", action="store_true", help="a small graph, to try the script")
    parser.add_argument("--runs", type=int, default=3, help="builds and rebuilds timed")
    parser.add_argument(
        "--samples", type=int, default=2000, help="utterances, facts, limited subgraphs"
    )
    parser.add_argument(
        "--subgraph-samples", type=int, default=200, help="unlimited 2-hop subgraphs"
    )
    parser.add_argument("--path-samples", type=int, default=200)
    parser.add_argument(
        "--limit", type=int, default=200, help="node limit of the limited subgraphs"
    )
    parser.add_argument(
        "--import-nodes",
        type=int,
        help="time import_document on this many nodes (0: skip); default 10,000, 1,000 --quick",
    )
    parser.add_argument("--database-url", help="postgres://... (default: SQLite in a temp dir)")
    parser.add_argument("--out", help="also write the JSON here")
    arguments = parser.parse_args()
    for name, value in (QUICK if arguments.quick else FULL).items():
        if getattr(arguments, name) is None:
            setattr(arguments, name, value)
    return arguments


if __name__ == "__main__":
    main()

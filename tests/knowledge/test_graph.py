"""Queries of the graph service, on records, without a database."""

import pytest

from knowledge.graph import KnowledgeGraph, NodeRecord, RelationRecord, UnknownNode
from knowledge.names import normalised_name
from tests.knowledge.conftest import SMALL_BANK


@pytest.fixture
def graph() -> KnowledgeGraph:
    nodes = [
        NodeRecord(
            n["key"],
            n["type"],
            n["label"],
            tuple(n["aliases"]),
            n["attributes"],
            tuple(n["answers"]),
        )
        for n in SMALL_BANK["nodes"]
    ]
    relations = [
        RelationRecord(index + 1, link["source"], link["type"], link["target"], link["attributes"])
        for index, link in enumerate(SMALL_BANK["links"])
    ]
    return KnowledgeGraph(nodes, relations, version=7)


def test_names_ignore_case_punctuation_and_inflection():
    assert normalised_name("Debit Cards!") == normalised_name("debit card's") == ("debit", "card")
    assert normalised_name("topping-up") == normalised_name("top up") == ("top", "up")
    assert normalised_name("currencies") == ("currency",)
    assert normalised_name("verified") == normalised_name("verify")


def test_it_links_labels_and_aliases_in_any_inflection(graph):
    mentions = graph.link("Do my DEBIT CARDS work in Britain?")

    assert [(m.text, m.candidates) for m in mentions] == [
        ("DEBIT CARDS", ("product:standard_card",)),
        ("Britain", ("country:gb",)),
    ]
    assert (mentions[0].start, mentions[0].end) == (6, 17)


def test_the_longest_name_wins_where_names_overlap(graph):
    nodes = [
        NodeRecord("product:card", "product", "Card"),
        NodeRecord("product:virtual_card_plus", "product", "Virtual card plus"),
    ]
    bigger = KnowledgeGraph([graph.node(key) for key in graph.graph] + nodes, [])

    mentions = bigger.link("is the virtual card plus free, or just the card?")

    assert [(m.text, m.candidates) for m in mentions] == [
        ("virtual card plus", ("product:virtual_card_plus",)),
        ("card", ("product:card",)),
    ]


def test_an_ambiguous_name_lists_every_candidate_instead_of_guessing(graph):
    (mention,) = graph.link("what about card arrival?")

    assert mention.is_ambiguous
    assert mention.candidates == ("topic:card_arrival", "topic:card_delivery_estimate")


def test_an_utterance_naming_nothing_links_nothing(graph):
    assert graph.link("hello there, how are you") == []


def test_facts_hold_attributes_and_relations_both_ways_with_provenance(graph):
    facts = graph.facts("fee:express_delivery")

    assert [fact.as_dict() for fact in facts.statements] == [
        {"subject": "fee:express_delivery", "predicate": "amount", "value": 4.99, "relation": None},
        {
            "subject": "fee:express_delivery",
            "predicate": "currency",
            "value": "GBP",
            "relation": None,
        },
        {
            "subject": "process:card_delivery",
            "predicate": "has_fee",
            "value": "fee:express_delivery",
            "relation": 4,
        },
    ]
    assert facts.provenance.as_dict() == {
        "nodes": ["fee:express_delivery", "process:card_delivery"],
        "relations": [4],
    }


def test_neighbours_follow_a_relation_type_in_a_direction(graph):
    countries = graph.neighbours("product:standard_card", "available_in")
    delivered_by = graph.neighbours("product:standard_card", "delivers", direction="in")
    everything = graph.neighbours("product:standard_card", direction="both")

    assert sorted(item.node.key for item in countries.items) == ["country:fr", "country:gb"]
    assert [item.node.key for item in delivered_by.items] == ["process:card_delivery"]
    assert len(everything.items) == 4
    assert sorted(countries.provenance.relations) == [5, 6]


def test_a_path_shows_how_two_nodes_are_related(graph):
    (path,) = graph.paths("topic:card_arrival", "fee:express_delivery")

    assert path.nodes == ("topic:card_arrival", "process:card_delivery", "fee:express_delivery")
    assert [relation.type for relation in path.relations] == ["concerns", "has_fee"]
    assert path.provenance.relations == (1, 4)


def test_paths_go_against_relation_direction_and_give_up_beyond_the_hop_limit(graph):
    paths = graph.paths("country:fr", "product:virtual_card")

    assert [path.nodes for path in paths] == [
        ("country:fr", "product:standard_card", "country:gb", "product:virtual_card")
    ]
    assert graph.paths("country:fr", "product:virtual_card", max_hops=2) == []


def test_several_shortest_paths_are_all_given(graph):
    paths = graph.paths("topic:card_arrival", "product:standard_card", max_hops=2)

    assert [path.nodes for path in paths] == [("topic:card_arrival", "product:standard_card")]
    longer = graph.paths("country:gb", "country:fr")
    assert [path.nodes for path in longer] == [
        ("country:gb", "product:standard_card", "country:fr")
    ]


def test_a_topic_subgraph_within_k_hops(graph):
    one = graph.subgraph("topic:card_arrival", hops=1)
    two = graph.subgraph("topic:card_arrival", hops=2)

    assert {node.key for node in one.nodes} == {
        "topic:card_arrival",
        "process:card_delivery",
        "product:standard_card",
        "topic:card_delivery_estimate",
    }
    assert {relation.id for relation in one.relations} == {1, 2, 3, 8}
    assert {node.key for node in two.nodes} == {node.key for node in one.nodes} | {
        "fee:express_delivery",
        "country:gb",
        "country:fr",
    }
    assert not two.is_truncated


def test_a_subgraph_limit_keeps_the_nearest_and_says_it_cut(graph):
    cut = graph.subgraph("topic:card_arrival", hops=3, limit=3)

    assert len(cut.nodes) == 3 and cut.is_truncated
    assert cut.nodes[0].key == "topic:card_arrival"


def test_topics_are_found_by_intent(graph):
    assert graph.topic_for_intent("card_arrival") == "topic:card_arrival"
    assert graph.topic_for_intent("no_such_intent") is None


def test_asking_about_a_missing_node_raises_unknown_node(graph):
    for query in (graph.facts, graph.neighbours, graph.subgraph):
        with pytest.raises(UnknownNode):
            query("product:nothing")
    with pytest.raises(UnknownNode):
        graph.paths("product:nothing", "country:fr")


def test_the_graph_links_names_as_entities_for_the_intent_pipeline(graph):
    from chatbot.nlu.entities import extract_entities
    from chatbot.nlu.graph_linking import GraphLinker

    entities = extract_entities(
        "Can my online card pay in card arrival on 3 March?", linkers=[GraphLinker(graph)]
    )

    assert [(e.type, e.text, e.value, e.source) for e in entities][:2] == [
        ("product", "online card", {"node": "product:virtual_card"}, "graph"),
        (
            "ambiguous",
            "card arrival",
            {"candidates": ["topic:card_arrival", "topic:card_delivery_estimate"]},
            "graph",
        ),
    ]

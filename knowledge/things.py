"""What the graph says about a thing (a country, a currency, a card, a way to top up) in the
context of a topic: "And in France?" after a question about cash withdrawals.

Plain Python. Every sentence is built from the graph's own answers, relations and attributes,
and lists the nodes it used.
"""

from __future__ import annotations

import weakref

from knowledge.answers import GroundedAnswer, answer_of_node, spoken
from knowledge.graph import KnowledgeGraph, Provenance
from knowledge.names import normalised_name

# How a relation reads in a sentence; others read as their type's words.
RELATION_VERBS = {
    "available_in": "is available in",
    "supports_currency": "supports",
    "uses_currency": "uses",
    "has_fee": "has a fee:",
    "has_limit": "has a limit:",
    "requires": "requires",
    "part_of": "is part of",
    "does_not_support": "does not support",
    "accepted_for": "is accepted for",
    "not_accepted_for": "is not accepted for",
}
CURRENCY_SIGNS = {"GBP": "£", "EUR": "€", "USD": "$"}
# Relations between topics and what they are about, which say nothing about the thing itself.
TOPIC_RELATIONS = ("concerns", "related_topic")
# Relations that tie a thing to places and money: a topic whose subjects have them (or charge a
# fee that currency exchange charges too) is one where the visitor's country or currency
# changes the answer.
PLACE_AND_MONEY_RELATIONS = ("available_in", "supports_currency", "uses_currency")
# What a country's and a currency's attributes say, as sentences ({label} is the node's name).
COUNTRY_SENTENCES = {
    ("card_accepted", True): "your card works there",
    ("card_accepted", False): "your card can't be used there",
}
# ...and those that matter where the topic is whether the bank serves a place.
AVAILABILITY_SENTENCES = {
    ("kestrel_available", True): "you can open an account if you live there",
    ("kestrel_available", False): "we can't open accounts for people living there",
    ("card_delivery", True): "we deliver cards there",
    ("card_delivery", False): "we can't deliver cards there",
}
CURRENCY_ABILITIES = (
    ("hold", "hold"),
    ("exchange", "exchange"),
    ("send", "send"),
)


def about_thing(graph: KnowledgeGraph, topic: str | None, key: str) -> GroundedAnswer | None:
    """Return what the graph says about a thing, as it bears on a topic; None if nothing."""
    if key not in graph:
        return None
    relation = relation_sentence(graph, topic, key) if topic in graph else None
    if relation:
        return relation
    node = graph.node(key)
    if node.type == "country":
        return _country_profile(graph, key, _is_about_availability(graph, topic))
    if node.type == "currency":
        return _currency_profile(graph, key)
    return answer_of_node(graph, key) if node.answers else attribute_sentence(graph, key)


def attribute_sentence(graph: KnowledgeGraph, key: str) -> GroundedAnswer | None:
    """Return a thing's attributes as one plain sentence, for a thing with no answer written:
    "Top-up with Apple Pay or Google Pay: instant, same fees as card top-ups."."""
    node = graph.node(key)
    parts = []
    for name, value in node.attributes.items():
        words = name.replace("_", " ")
        if value is True:
            parts.append(words)
        elif value is False:
            parts.append(f"not {words}")
        elif value not in (None, "", []):
            parts.append(f"{words} {spoken(value)}")
    if not parts:
        return None
    return GroundedAnswer(f"{node.label}: {', '.join(parts)}.", Provenance((key,)))


def fee_sentence(graph: KnowledgeGraph, key: str) -> GroundedAnswer | None:
    """Return a fee's own answer, or what its attributes say it costs."""
    node = graph.node(key)
    if node.answers:
        return answer_of_node(graph, key)
    facts = node.attributes
    sign = CURRENCY_SIGNS.get(facts.get("currency", ""), "")
    if facts.get("price_text") == "free" or facts.get("amount") == 0:
        cost = "free"
    elif facts.get("amount"):
        cost = f"{sign}{spoken(facts['amount'])}"
        cost += f" per {facts['per']}" if "per" in facts else ""
    elif facts.get("percent"):
        cost = f"{spoken(facts['percent'])}%"
        if facts.get("minimum"):
            cost += f" (minimum {sign}{spoken(facts['minimum'])})"
    else:
        return None
    return GroundedAnswer(f"{node.label}: {cost}.", Provenance((key,)))


def relation_sentence(graph: KnowledgeGraph, topic: str, key: str) -> GroundedAnswer | None:
    """Say how a thing relates to one of the topic's subjects, when a relation joins them."""
    for subject in graph.neighbours(topic, "concerns").items:
        for neighbour in graph.neighbours(subject.node.key, direction="both").items:
            if neighbour.node.key != key or neighbour.relation.type in TOPIC_RELATIONS:
                continue
            relation = neighbour.relation
            source, target = graph.node(relation.source), graph.node(relation.target)
            verb = RELATION_VERBS.get(relation.type, relation.type.replace("_", " "))
            return GroundedAnswer(
                f"The {source.label} {verb} {target.label}.",
                Provenance((source.key, target.key), (relation.id,)),
            )
    return None


def bears_on_place_and_money(graph: KnowledgeGraph, topic: str | None) -> bool:
    """Return whether the visitor's country or currency changes this topic's answer."""
    if topic is None or topic not in graph:
        return False
    subjects = [item.node.key for item in graph.neighbours(topic, "concerns").items]
    fees = [fee.node.key for key in subjects for fee in graph.neighbours(key, "has_fee").items]
    charging = [
        item.node.key for fee in fees for item in graph.neighbours(fee, "has_fee", "in").items
    ]
    return any(_has_place_or_money(graph, key) for key in subjects + charging)


def the_topics_own(graph: KnowledgeGraph, topic: str | None, key: str, name: str) -> str:
    """Return the thing a name means next to a topic: a sibling of the topic's subjects whose
    name holds all its words, if exactly one does, else the thing it was linked to.

    "bank transfer" after a question on topping up by card means "Top-up by bank transfer", a
    sibling of "Top-up by card" (both part of "Top-up"), not any bank transfer.
    """
    if topic is None or topic not in graph:
        return key
    subjects = {item.node.key for item in graph.neighbours(topic, "concerns").items}
    siblings = {
        sibling.node.key
        for subject in subjects
        for parent in graph.neighbours(subject, "part_of").items
        for sibling in graph.neighbours(parent.node.key, "part_of", "in").items
    } - subjects
    words = set(normalised_name(name))
    fitting = [
        sibling
        for sibling in sorted(siblings)
        if any(words <= set(normalised_name(known)) for known in _names(graph, sibling))
    ]
    return fitting[0] if len(fitting) == 1 and words else key


def _names(graph: KnowledgeGraph, key: str) -> tuple[str, ...]:
    node = graph.node(key)
    return (node.label, *node.aliases)


def _has_place_or_money(graph: KnowledgeGraph, key: str) -> bool:
    return any(
        item.relation.type in PLACE_AND_MONEY_RELATIONS
        for item in graph.neighbours(key, direction="out").items
    )


def _is_about_availability(graph: KnowledgeGraph, topic: str | None) -> bool:
    """Return whether the topic's subjects are offered in some places and not others."""
    if topic is None or topic not in graph:
        return False
    return any(
        graph.neighbours(subject.node.key, "available_in").items
        for subject in graph.neighbours(topic, "concerns").items
    )


def _country_profile(
    graph: KnowledgeGraph, key: str, is_about_availability: bool
) -> GroundedAnswer:
    node = graph.node(key)
    sentences = {**COUNTRY_SENTENCES, **(AVAILABILITY_SENTENCES if is_about_availability else {})}
    parts = [
        text for (name, value), text in sentences.items() if node.attributes.get(name) is value
    ]
    used = [key]
    currency = next(iter(graph.neighbours(key, "uses_currency").items), None)
    if currency is not None:
        parts.append(f"the local currency is the {currency.node.label}")
        used.append(currency.node.key)
    if not parts:
        return GroundedAnswer(f"About {node.label}:", Provenance(tuple(used)))
    text = f"In {node.label}, " + ", ".join(parts[:-1]) + (" and " if parts[1:] else "")
    text += parts[-1] + "."
    if currency is not None and currency.node.attributes.get("code") != _home_currency(graph):
        text += f" Paying or withdrawing in {currency.node.label}s counts as a currency exchange."
    return GroundedAnswer(text, Provenance(tuple(used)))


def _currency_profile(graph: KnowledgeGraph, key: str) -> GroundedAnswer:
    node = graph.node(key)
    abilities = [verb for name, verb in CURRENCY_ABILITIES if node.attributes.get(name)]
    if abilities:
        listed = ", ".join(abilities[:-1]) + (" and " if len(abilities) > 1 else "") + abilities[-1]
        text = f"You can {listed} the {node.label} ({node.attributes.get('code', '')}) in the app."
    else:
        text = f"We don't support the {node.label}."
    if node.attributes.get("local_account_details"):
        text += f" You also get local account details to receive {node.label}s."
    return GroundedAnswer(text.replace(" ()", ""), Provenance((key,)))


_home_currencies: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _home_currency(graph: KnowledgeGraph) -> str | None:
    """Return the organisation's own currency, looked up once per graph version."""
    graph = getattr(graph, "_graph", graph)  # a benchmark's timing wrapper
    if graph not in _home_currencies:
        _home_currencies[graph] = next(
            (
                graph.node(key).attributes["home_currency"]
                for key in graph.graph
                if graph.node(key).type == "organisation"
                and graph.node(key).attributes.get("home_currency")
            ),
            None,
        )
    return _home_currencies[graph]

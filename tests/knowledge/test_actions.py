"""Edits of the stored graph: checks, conflicts, the change log and reverting."""

import pytest

from knowledge import actions
from knowledge.models import Change, GraphVersion, Node, Relation
from knowledge.validation import InvalidKnowledge

pytestmark = pytest.mark.databases


def problems_of(call, *args, **kwargs) -> list[str]:
    with pytest.raises(InvalidKnowledge) as raised:
        call(*args, **kwargs)
    return [str(problem) for problem in raised.value.problems]


def stored_state() -> tuple:
    return (
        sorted(tuple(sorted(n.snapshot().items(), key=str)) for n in Node.objects.all()),
        sorted(str(r) for r in Relation.objects.all()),
        Change.objects.count(),
    )


NEW_NODE = {"key": "product:spare_card", "type": "product", "label": "Spare card"}


def test_creating_a_node_logs_who_made_it_and_raises_the_version(stored_bank, editor):
    version = GraphVersion.objects.get().number

    node = actions.create_node({**NEW_NODE, "aliases": ["extra card"]}, editor)

    change = Change.objects.first()
    assert (node.key, node.version) == ("product:spare_card", 1)
    assert (change.action, change.user, change.before) == ("create", editor, None)
    assert change.after == {**NEW_NODE, "aliases": ["extra card"], "attributes": {}, "answers": []}
    assert GraphVersion.objects.get().number == version + 1


@pytest.mark.parametrize(
    "data, expected",
    [
        (
            {**NEW_NODE, "key": "product:standard_card"},
            ["key: a node 'product:standard_card' already exists"],
        ),
        (
            {**NEW_NODE, "key": "Bad Key!"},
            [
                "key: 'Bad Key!' is not a key: use lower-case letters, digits and _, optionally kind:name, at most 100 characters"  # noqa: E501
            ],
        ),
        (
            {**NEW_NODE, "attributes": {"limits": {"daily": 5}}},
            [
                "attributes.limits: must be text, a number, true/false, or a list of those (no objects)"  # noqa: E501
            ],
        ),
        (
            {**NEW_NODE, "attributes": "fee=5"},
            ["attributes: must be an object of names and values"],
        ),
        (
            {**NEW_NODE, "aliases": ["debit cards"]},
            ["aliases[0]: 'debit cards' is already a name of product:standard_card"],
        ),
        (
            {**NEW_NODE, "aliases": ["France"]},
            ["aliases[0]: 'France' is already a name of country:fr"],
        ),
        ({**NEW_NODE, "label": "UK"}, ["label: 'UK' is already an alias of 'country:gb'"]),
        (
            {**NEW_NODE, "answers": ["Costs {fee:nothing.amount}."]},
            ["answers[0]: {fee:nothing.amount}: no node 'fee:nothing'"],
        ),
        (
            {**NEW_NODE, "answers": ["Costs {fee:express_delivery.percent}."]},
            [
                "answers[0]: {fee:express_delivery.percent}: node 'fee:express_delivery' has no attribute 'percent'"  # noqa: E501
            ],
        ),
        ({**NEW_NODE, "colour": "red"}, ["colour: is not a node field"]),
        (
            {"key": "product:x", "type": "product", "label": "  "},
            ["label: is required and must be text"],
        ),
    ],
)
def test_a_bad_node_is_refused_with_the_reason_and_nothing_changes(stored_bank, data, expected):
    before = stored_state()

    assert problems_of(actions.create_node, data) == expected
    assert stored_state() == before


def test_every_problem_of_a_node_is_reported_at_once(stored_bank):
    problems = problems_of(
        actions.create_node, {"key": "X", "type": "Product", "label": "", "aliases": "one"}
    )

    assert [problem.split(":")[0] for problem in problems] == ["key", "type", "label", "aliases"]


def test_an_update_with_the_current_version_saves_and_logs_before_and_after(stored_bank, editor):
    node = Node.objects.get(key="product:virtual_card")

    updated = actions.update_node(node.key, {"label": "Virtual debit card"}, node.version, editor)

    change = Change.objects.first()
    assert (updated.label, updated.version) == ("Virtual debit card", node.version + 1)
    assert (change.before["label"], change.after["label"]) == ("Virtual card", "Virtual debit card")


def test_the_second_of_two_editors_saving_the_same_version_gets_a_conflict(
    stored_bank, editor, other_editor
):
    read_by_both = Node.objects.get(key="product:virtual_card").version
    actions.update_node("product:virtual_card", {"label": "Eddie's name"}, read_by_both, editor)
    before = stored_state()

    with pytest.raises(actions.Conflict) as raised:
        actions.update_node(
            "product:virtual_card", {"label": "Erin's name"}, read_by_both, other_editor
        )

    assert raised.value.current["label"] == "Eddie's name"
    assert raised.value.current["version"] == read_by_both + 1
    assert stored_state() == before


def test_an_attribute_an_answer_quotes_cannot_be_removed(stored_bank):
    node = Node.objects.get(key="fee:express_delivery")
    before = stored_state()

    problems = problems_of(
        actions.update_node, node.key, {"attributes": {"currency": "GBP"}}, node.version
    )

    assert problems == [
        "attributes: attribute 'amount' is quoted by topic:card_arrival's answers as {fee:express_delivery.amount}"  # noqa: E501
    ]
    assert stored_state() == before


def test_a_node_that_answers_quote_cannot_be_deleted(stored_bank):
    node = Node.objects.get(key="process:card_delivery")

    problems = problems_of(actions.delete_node, node.key, node.version)

    assert len(problems) == 3 and "quoted by topic:card_arrival's answers" in problems[0]
    assert Node.objects.filter(key=node.key).exists()


def test_a_key_cannot_change(stored_bank):
    node = Node.objects.get(key="country:fr")

    assert problems_of(actions.update_node, node.key, {"key": "country:france"}, node.version) == [
        "key: a node's key cannot change"
    ]


def test_a_relation_to_a_missing_node_or_a_duplicate_is_refused(stored_bank):
    before = stored_state()

    missing = problems_of(
        actions.add_relation, {"source": "country:fr", "type": "uses", "target": "currency:eur"}
    )
    duplicate = problems_of(
        actions.add_relation,
        {"source": "topic:card_arrival", "type": "concerns", "target": "process:card_delivery"},
    )
    itself = problems_of(
        actions.add_relation, {"source": "country:fr", "type": "near", "target": "country:fr"}
    )

    assert missing == ["target: no node 'currency:eur'"]
    assert duplicate == [
        "type: topic:card_arrival -concerns-> process:card_delivery already exists"
    ]
    assert itself == ["target: a node cannot be related to itself"]
    assert stored_state() == before


def test_deleting_a_node_takes_its_relations_and_a_revert_brings_both_back(stored_bank, editor):
    node = Node.objects.get(key="product:virtual_card")
    actions.delete_node(node.key, node.version, editor)
    assert not Relation.objects.filter(source__key="product:virtual_card").exists()

    actions.revert_change(Change.objects.first().pk, editor)

    restored = Node.objects.get(key="product:virtual_card")
    assert restored.snapshot() == node.snapshot()
    assert [str(r) for r in restored.outgoing.all()] == [
        "product:virtual_card -available_in-> country:gb"
    ]
    assert Change.objects.first().reverts_id == Change.objects.all()[1].pk


def test_reverting_an_update_restores_the_before_state(stored_bank, editor):
    node = Node.objects.get(key="topic:card_arrival")
    actions.update_node(node.key, {"answers": ["New answer."]}, node.version, editor)
    update = Change.objects.first()

    actions.revert_change(update.pk, editor)

    assert Node.objects.get(key=node.key).answers == node.answers
    assert Change.objects.first().after["answers"] == node.answers


def test_a_change_overtaken_by_a_later_one_cannot_be_reverted(stored_bank, editor):
    node = Node.objects.get(key="country:fr")
    actions.update_node(node.key, {"label": "French Republic"}, node.version, editor)
    first = Change.objects.first()
    actions.update_node(node.key, {"label": "Republic of France"}, node.version + 1, editor)
    before = stored_state()

    with pytest.raises(actions.Conflict):
        actions.revert_change(first.pk, editor)

    assert stored_state() == before


def test_relation_changes_are_logged_and_revertible(stored_bank, editor):
    relation = actions.add_relation(
        {"source": "product:virtual_card", "type": "available_in", "target": "country:fr"}, editor
    )
    actions.remove_relation(relation.pk, editor)
    removal = Change.objects.first()
    assert (removal.action, removal.subject) == ("delete", "relation")

    actions.revert_change(removal.pk, editor)

    assert Relation.objects.filter(
        source__key="product:virtual_card", target__key="country:fr"
    ).exists()
    assert " country:fr " in removal.concerns and " product:virtual_card " in removal.concerns

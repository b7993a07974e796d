"""Changing the knowledge graph with an API key: checked, versioned and logged like an edit."""

import pytest

from knowledge.models import Change, Node, Relation
from knowledge.service import current_graph

pytestmark = pytest.mark.django_db

CARD = {
    "key": "product:debit_card",
    "type": "product",
    "label": "Debit card",
    "aliases": ["bank card"],
    "attributes": {"fee": "£5", "contactless": True},
    "answers": ["A replacement debit card costs {product:debit_card.fee}."],
}


def add(api, node: dict) -> dict:
    response = api.post("/api/v1/knowledge/nodes", node, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_a_node_added_with_a_key_is_served_and_logged_as_the_keys(api):
    created = add(api, CARD)

    assert created["version"] == 1 and created["aliases"] == ["bank card"]
    assert current_graph().node("product:debit_card").label == "Debit card"
    history = api.get("/api/v1/knowledge/changes", {"node": "product:debit_card"}).json()
    assert [(c["action"], c["user"], c["via"]) for c in history["results"]] == [
        ("create", None, "API key: crm")
    ]
    assert history["results"][0]["after"]["attributes"] == {"fee": "£5", "contactless": True}


@pytest.mark.parametrize(
    ("node", "where"),
    [
        ({**CARD, "key": "Debit Card"}, "key"),
        ({**CARD, "attributes": {"Fee": 5}}, "attributes.Fee"),
        ({**CARD, "aliases": ["Bank card", "bank  card"]}, "aliases[1]"),
        ({**CARD, "attributes": {"fee": {"amount": 5}}}, "attributes.fee"),
    ],
)
def test_a_malformed_node_is_a_400_naming_the_field_and_nothing_is_stored(api, node, where):
    response = api.post("/api/v1/knowledge/nodes", node, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    locations = [p["location"] for p in error["details"].get("problems", [])]
    assert where in locations or where in error["details"], error
    assert not Node.objects.exists() and not Change.objects.exists()


def test_what_the_stored_graph_refuses_is_a_409_with_every_problem(api):
    add(api, CARD)

    again = api.post("/api/v1/knowledge/nodes", CARD, format="json")
    same_name = api.post(
        "/api/v1/knowledge/nodes",
        {"key": "product:other", "type": "product", "label": "Bank card"},
        format="json",
    )
    quotes_nothing = api.post(
        "/api/v1/knowledge/nodes",
        {"key": "topic:fees", "type": "topic", "label": "Fees", "answers": ["{product:x.fee}"]},
        format="json",
    )

    for response in (again, same_name, quotes_nothing):
        assert response.status_code == 409, response.content
        error = response.json()["error"]
        assert error["code"] == "conflict" and error["details"]["problems"]
    assert "already exists" in again.json()["error"]["details"]["problems"][0]["message"]
    assert Node.objects.count() == 1


def test_a_change_needs_the_version_read_and_a_stale_one_changes_nothing(api):
    add(api, CARD)
    path = "/api/v1/knowledge/nodes/product:debit_card"

    changed = api.patch(path, {"version": 1, "label": "Visa debit card"}, format="json")
    stale = api.patch(path, {"version": 1, "label": "Card"}, format="json")
    without = api.patch(path, {"label": "Card"}, format="json")
    rekeyed = api.patch(path, {"version": 2, "key": "product:card"}, format="json")

    assert changed.status_code == 200 and changed.json()["version"] == 2
    assert stale.status_code == 409
    assert stale.json()["error"]["details"]["current"]["label"] == "Visa debit card"
    assert without.status_code == 400 and "version" in without.json()["error"]["details"]
    # The key is not a field a change may name: ignored, so the node keeps its key.
    assert rekeyed.status_code == 200 and rekeyed.json()["key"] == "product:debit_card"
    assert Node.objects.get().label == "Visa debit card"
    assert current_graph().node("product:debit_card").label == "Visa debit card"
    assert (
        api.patch("/api/v1/knowledge/nodes/product:none", {"version": 1}, format="json").status_code
        == 404
    )


def test_a_node_is_removed_at_its_version_unless_another_nodes_answer_quotes_it(api):
    add(api, CARD)
    add(
        api,
        {
            "key": "topic:card_fees",
            "type": "topic",
            "label": "Card fees",
            "answers": ["It costs {product:debit_card.fee}."],
        },
    )
    path = "/api/v1/knowledge/nodes/product:debit_card"

    assert api.delete(path).status_code == 400  # which version was read?
    quoted = api.delete(f"{path}?version=1")
    assert quoted.status_code == 409
    assert (
        "quoted by topic:card_fees" in quoted.json()["error"]["details"]["problems"][0]["message"]
    )

    assert api.delete("/api/v1/knowledge/nodes/topic:card_fees?version=1").status_code == 204
    assert api.delete(f"{path}?version=7").status_code == 409
    assert api.delete(f"{path}?version=1").status_code == 204
    assert api.get(path).status_code == 404
    assert not Node.objects.exists()
    deleted = api.get("/api/v1/knowledge/changes").json()["results"][0]
    assert (deleted["action"], deleted["target"], deleted["via"]) == (
        "delete",
        "product:debit_card",
        "API key: crm",
    )


def test_relations_are_added_changed_and_removed(api):
    add(api, CARD)
    add(api, {"key": "topic:card_arrival", "type": "topic", "label": "Card arrival"})
    link = {"source": "topic:card_arrival", "type": "about", "target": "product:debit_card"}

    created = api.post(
        "/api/v1/knowledge/relations", {**link, "attributes": {"weight": 1}}, format="json"
    )
    twice = api.post("/api/v1/knowledge/relations", link, format="json")
    to_nothing = api.post(
        "/api/v1/knowledge/relations", {**link, "target": "product:none"}, format="json"
    )
    to_itself = api.post(
        "/api/v1/knowledge/relations", {**link, "target": "topic:card_arrival"}, format="json"
    )

    assert created.status_code == 201, created.content
    relation = created.json()
    assert {k: relation[k] for k in ("source", "type", "target")} == link
    assert twice.status_code == 409 and to_nothing.status_code == 409
    assert to_itself.status_code == 400
    path = f"/api/v1/knowledge/relations/{relation['id']}"
    changed = api.patch(path, {"attributes": {"weight": 2}}, format="json")
    assert changed.status_code == 200 and changed.json()["attributes"] == {"weight": 2}
    assert api.patch(path, {"attributes": {"Weight": 2}}, format="json").status_code == 400
    assert current_graph().subgraph("topic:card_arrival", hops=1, limit=10).relations
    assert api.delete(path).status_code == 204
    assert api.delete(path).status_code == 404
    assert not Relation.objects.exists()
    actions = [c["action"] for c in api.get("/api/v1/knowledge/changes").json()["results"]]
    assert actions[:3] == ["delete", "update", "create"]


def test_a_key_that_may_only_read_the_graph_changes_nothing(api_client_with):
    reader = api_client_with("knowledge:read")

    response = reader.post("/api/v1/knowledge/nodes", CARD, format="json")

    assert response.status_code == 403 and not Node.objects.exists()

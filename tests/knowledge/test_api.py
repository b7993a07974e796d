"""The editor's JSON API: who may use it, what each call does, and how bad input is answered."""

import json

import pytest
from django.test import Client

from knowledge.models import Change, Node

pytestmark = pytest.mark.databases


def logged_in(user, enforce_csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=enforce_csrf)
    client.force_login(user)
    return client


def send(client: Client, method: str, path: str, body: object = None, **extra):
    if method == "get":
        return client.get(path, **extra)
    return getattr(client, method)(
        path,
        json.dumps(body) if body is not None else None,
        content_type="application/json",
        **extra,
    )


API_CALLS = [
    ("get", "/knowledge/api/nodes"),
    ("post", "/knowledge/api/nodes"),
    ("get", "/knowledge/api/nodes/country:fr"),
    ("patch", "/knowledge/api/nodes/country:fr"),
    ("delete", "/knowledge/api/nodes/country:fr"),
    ("get", "/knowledge/api/nodes/country:fr/neighbourhood"),
    ("post", "/knowledge/api/relations"),
    ("delete", "/knowledge/api/relations/1"),
    ("get", "/knowledge/api/relation-types"),
    ("get", "/knowledge/api/changes"),
    ("post", "/knowledge/api/changes/1/revert"),
    ("post", "/knowledge/api/try"),
]


@pytest.mark.parametrize("method, path", API_CALLS)
def test_anyone_but_an_editor_is_refused_every_call(stored_bank, plain_user, method, path):
    changes = Change.objects.count()

    anonymous = send(Client(), method, path, {"label": "x"})
    not_an_editor = send(logged_in(plain_user), method, path, {"label": "x"})

    assert (anonymous.status_code, anonymous.json()["error"]) == (403, "forbidden")
    assert (not_an_editor.status_code, not_an_editor.json()["error"]) == (403, "forbidden")
    assert Node.objects.get(key="country:fr").label == "France"
    assert Change.objects.count() == changes


def test_the_editor_page_sends_strangers_to_log_in_and_refuses_non_editors(db, plain_user, editor):
    assert Client().get("/knowledge/")["Location"] == "/accounts/login/?next=/knowledge/"
    assert logged_in(plain_user).get("/knowledge/").status_code == 403
    assert logged_in(editor).get("/knowledge/").status_code == 200


def test_the_editor_page_links_the_drawing_library_only_where_it_is_vendored(
    db, editor, monkeypatch
):
    library = "knowledge/vendor/cytoscape.min.js"
    vendored = logged_in(editor).get("/knowledge/").content.decode()
    monkeypatch.setattr("knowledge.views.finders.find", lambda path: None)
    bare_machine = logged_in(editor).get("/knowledge/").content.decode()

    assert library in vendored
    assert library not in bare_machine and 'id="drawing-note"' in bare_machine


def test_a_write_without_the_csrf_token_is_refused(stored_bank, editor):
    client = logged_in(editor, enforce_csrf=True)

    response = send(
        client, "patch", "/knowledge/api/nodes/country:fr", {"version": 1, "label": "F"}
    )

    assert response.status_code == 403
    assert Node.objects.get(key="country:fr").label == "France"


def test_a_write_with_the_csrf_token_from_the_page_is_accepted(stored_bank, editor):
    client = logged_in(editor, enforce_csrf=True)
    client.get("/knowledge/")
    token = client.cookies["csrftoken"].value

    response = send(
        client,
        "patch",
        "/knowledge/api/nodes/country:fr",
        {"version": 1, "label": "La France"},
        HTTP_X_CSRFTOKEN=token,
    )

    assert response.status_code == 200 and response.json()["node"]["label"] == "La France"


def test_search_finds_labels_aliases_and_keys_names_starting_with_the_text_first(
    stored_bank, editor
):
    client = logged_in(editor)

    by_label = client.get("/knowledge/api/nodes", {"q": "card"}).json()["nodes"]
    by_alias = client.get("/knowledge/api/nodes", {"q": "shipping"}).json()["nodes"]
    by_type = client.get("/knowledge/api/nodes", {"type": "country"}).json()["nodes"]

    assert [node["key"] for node in by_label][:3] == [
        "topic:card_arrival",
        "topic:card_delivery_estimate",
        "process:card_delivery",
    ]
    assert {node["key"] for node in by_label} >= {"product:standard_card", "product:virtual_card"}
    assert [node["key"] for node in by_alias] == ["process:card_delivery"]
    assert [node["key"] for node in by_type] == ["country:fr", "country:gb"]


def test_a_node_comes_with_its_relations_both_ways(stored_bank, editor):
    body = logged_in(editor).get("/knowledge/api/nodes/product:standard_card").json()

    assert body["node"]["version"] == 1
    assert [(r["type"], r["target"]["key"]) for r in body["outgoing"]] == [
        ("available_in", "country:fr"),
        ("available_in", "country:gb"),
    ]
    assert [(r["type"], r["source"]["key"]) for r in body["incoming"]] == [
        ("concerns", "topic:card_arrival"),
        ("delivers", "process:card_delivery"),
    ]


def test_an_unknown_node_is_a_404(stored_bank, editor):
    response = logged_in(editor).get("/knowledge/api/nodes/country:atlantis")

    assert (response.status_code, response.json()["error"]) == (404, "not_found")


def test_invalid_fields_are_answered_with_every_problem_and_their_places(stored_bank, editor):
    response = send(
        logged_in(editor),
        "post",
        "/knowledge/api/nodes",
        {
            "key": "product:x",
            "type": "product",
            "label": "X",
            "aliases": ["UK"],
            "attributes": {"a": {"b": 1}},
        },
    )

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid",
        "problems": [
            {
                "location": "attributes.a",
                "message": "must be text, a number, true/false, or a list of those (no objects)",
            },
        ],
    }
    assert not Node.objects.filter(key="product:x").exists()


def test_a_body_that_is_not_json_is_refused(stored_bank, editor):
    response = logged_in(editor).post(
        "/knowledge/api/nodes", "{not json", content_type="application/json"
    )

    assert (
        response.status_code == 400
        and response.json()["problems"][0]["message"] == "the body must be a JSON object"
    )


def test_a_body_nested_thousands_deep_is_refused_as_invalid_not_a_server_error(stored_bank, editor):
    response = logged_in(editor).post(
        "/knowledge/api/nodes", "[" * 5000 + "]" * 5000, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["problems"][0]["message"] == (
        "the body nests arrays or objects too deeply"
    )


def test_saving_an_old_version_is_a_conflict_showing_the_current_node(
    stored_bank, editor, other_editor
):
    send(
        logged_in(editor),
        "patch",
        "/knowledge/api/nodes/country:fr",
        {"version": 1, "label": "France (EU)"},
    )

    response = send(
        logged_in(other_editor),
        "patch",
        "/knowledge/api/nodes/country:fr",
        {"version": 1, "label": "Gaul"},
    )

    assert response.status_code == 409
    assert response.json()["current"]["label"] == "France (EU)"
    assert response.json()["current"]["version"] == 2
    assert Node.objects.get(key="country:fr").label == "France (EU)"


def test_a_patch_without_the_version_is_refused(stored_bank, editor):
    response = send(
        logged_in(editor), "patch", "/knowledge/api/nodes/country:fr", {"label": "Gaul"}
    )

    assert response.status_code == 400 and response.json()["problems"][0]["location"] == "version"


def test_relations_are_added_and_removed(stored_bank, editor):
    client = logged_in(editor)

    added = send(
        client,
        "post",
        "/knowledge/api/relations",
        {"source": "product:virtual_card", "type": "available_in", "target": "country:fr"},
    )
    relation_id = added.json()["relation"]["id"]
    removed = client.delete(f"/knowledge/api/relations/{relation_id}")

    assert added.status_code == 201 and removed.status_code == 204
    assert client.delete(f"/knowledge/api/relations/{relation_id}").status_code == 404


def test_the_neighbourhood_lists_nodes_and_relations_for_the_drawing(stored_bank, editor):
    body = logged_in(editor).get("/knowledge/api/nodes/fee:express_delivery/neighbourhood").json()

    assert {node["key"] for node in body["nodes"]} == {
        "fee:express_delivery",
        "process:card_delivery",
    }
    assert [(r["source"], r["type"], r["target"]) for r in body["relations"]] == [
        ("process:card_delivery", "has_fee", "fee:express_delivery")
    ]
    assert body["truncated"] is False


def test_history_lists_a_nodes_changes_newest_first_and_a_revert_undoes_one(stored_bank, editor):
    client = logged_in(editor)
    send(
        client,
        "patch",
        "/knowledge/api/nodes/country:fr",
        {"version": 1, "aliases": ["French", "Frankreich"]},
    )

    history = client.get("/knowledge/api/changes", {"node": "country:fr"}).json()["changes"]
    reverted = client.post(f"/knowledge/api/changes/{history[0]['id']}/revert")

    assert history[0]["summary"] == "changed aliases of country:fr"
    assert history[0]["user"] == "eddie"
    assert {change["target"] for change in history} >= {
        "country:fr",
        "product:standard_card -available_in-> country:fr",
    }
    assert reverted.status_code == 201
    assert Node.objects.get(key="country:fr").aliases == ["French"]
    assert client.post(f"/knowledge/api/changes/{history[0]['id']}/revert").status_code == 409


def test_try_it_shows_the_linked_nodes_and_their_facts(stored_bank, editor):
    body = send(
        logged_in(editor),
        "post",
        "/knowledge/api/try",
        {"text": "Can I use my debit card in France?"},
    ).json()

    assert [(m["text"], [c["key"] for c in m["candidates"]]) for m in body["mentions"]] == [
        ("debit card", ["product:standard_card"]),
        ("France", ["country:fr"]),
    ]
    # The live bot's turn: before any model is trained, it acknowledges and asks what it can do.
    assert body["understanding"]["status"] == "no_model"
    assert body["answer"]["decision"] == "acknowledged"
    assert body["answer"]["sources"] == []
    assert [facts["node"]["key"] for facts in body["facts"]] == [
        "product:standard_card",
        "country:fr",
    ]
    assert {
        "subject": "product:standard_card",
        "predicate": "scheme",
        "value": "Visa",
        "relation": None,
        "subject_label": "Standard card",
        "value_label": "Visa",
    } in body["facts"][0]["statements"]


def test_try_it_refuses_an_empty_message(stored_bank, editor):
    response = send(logged_in(editor), "post", "/knowledge/api/try", {"text": "  "})

    assert response.status_code == 400

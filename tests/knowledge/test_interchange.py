"""Import and export: round trips through every format, and broken files that change nothing."""

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from knowledge.exporting import stored_document
from knowledge.importing import import_document
from knowledge.interchange import document_from_json, read_document, write_document
from knowledge.models import Change, Node, Relation
from knowledge.validation import InvalidKnowledge

pytestmark = pytest.mark.databases


def stored_graph() -> tuple[list[dict], list[dict]]:
    return stored_document()


def problems_importing(path: Path, **options) -> list[str]:
    with pytest.raises(InvalidKnowledge) as raised:
        import_document(read_document(path), **options)
    return [str(problem) for problem in raised.value.problems]


@pytest.mark.parametrize("name", ["graph.json", "graph.graphml", "graph_csv"])
def test_an_export_imported_into_an_empty_database_is_the_same_graph(stored_bank, tmp_path, name):
    exported = tmp_path / name
    call_command("export_knowledge", str(exported), stdout=io.StringIO())
    original = stored_graph()
    Relation.objects.all().delete()
    Node.objects.all().delete()

    call_command("import_knowledge", str(exported), stdout=io.StringIO())

    assert stored_graph() == original
    assert len(original[0]) == 8 and len(original[1]) == 8


def test_importing_the_same_file_twice_changes_nothing_the_second_time(stored_bank, tmp_path):
    path = tmp_path / "graph.json"
    path.write_text(json.dumps(stored_bank))
    changes = Change.objects.count()

    summary = import_document(read_document(path))

    assert summary.nodes == {"created": 0, "updated": 0, "deleted": 0, "unchanged": 8}
    assert Change.objects.count() == changes


def test_a_dry_run_counts_and_writes_nothing(db, small_bank):
    summary = import_document(document_from_json(small_bank), dry_run=True)

    assert summary.nodes["created"] == 8 and summary.relations["created"] == 8
    assert (Node.objects.count(), Relation.objects.count(), Change.objects.count()) == (0, 0, 0)


def test_replace_makes_the_graph_exactly_the_files(stored_bank, small_bank):
    small_bank["nodes"] = [n for n in small_bank["nodes"] if n["key"] != "product:virtual_card"]
    small_bank["links"] = [
        link for link in small_bank["links"] if "product:virtual_card" not in link.values()
    ]

    summary = import_document(document_from_json(small_bank), replace=True)

    assert summary.nodes["deleted"] == 1 and summary.relations["deleted"] == 1
    assert not Node.objects.filter(key="product:virtual_card").exists()
    assert Change.objects.filter(action="delete", target="product:virtual_card").exists()


def test_a_merge_import_updates_by_key_and_logs_before_and_after(stored_bank, small_bank):
    small_bank["nodes"][4]["label"] = "République française"

    summary = import_document(document_from_json(small_bank))

    change = Change.objects.first()
    assert summary.nodes["updated"] == 1
    assert (change.before["label"], change.after["label"]) == ("France", "République française")
    assert Node.objects.get(key="country:fr").version == 2


def test_every_problem_in_a_json_file_is_reported_with_its_place_and_nothing_is_written(
    db, small_bank, tmp_path
):
    small_bank["nodes"][1]["key"] = "process:card_delivery"
    small_bank["nodes"][2]["aliases"] = ["card shipping"]
    small_bank["nodes"][3]["attributes"] = {"amount": {"value": 4.99}}
    small_bank["links"][4]["target"] = "country:de"
    small_bank["links"].append(dict(small_bank["links"][0]))
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(small_bank))

    problems = problems_importing(path)

    # The second node took the first's key, so product:standard_card is missing everywhere.
    assert problems == [
        "nodes[1].key: 'process:card_delivery' is also at nodes[0]",
        "nodes[3].attributes.amount: must be text, a number, true/false, or a list of those (no objects)",  # noqa: E501
        "links[1].target: no node 'product:standard_card'",
        "links[2].target: no node 'product:standard_card'",
        "links[3].target: no node 'fee:express_delivery'",
        "links[4].source: no node 'product:standard_card'",
        "links[4].target: no node 'country:de'",
        "links[5].source: no node 'product:standard_card'",
        "links[8]: topic:card_arrival -concerns-> process:card_delivery is also at links[0]",
        "nodes[2].aliases[0]: 'card shipping' is already a name of process:card_delivery",
        "nodes[6].answers[0]: {fee:express_delivery.amount}: no node 'fee:express_delivery'",
        "nodes[6].answers[0]: {fee:express_delivery.currency}: no node 'fee:express_delivery'",
    ]
    assert (Node.objects.count(), Relation.objects.count(), Change.objects.count()) == (0, 0, 0)


def test_a_file_that_is_not_json_is_refused_with_the_line(db, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"nodes": [\n{"key": "a",}\n]}')

    assert problems_importing(path) == [
        "broken.json line 2: not valid JSON: Expecting property name enclosed in double quotes"
    ]


def test_a_file_nested_thousands_deep_is_refused_not_crashed_on(db, tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"nodes": ' + "[" * 5000 + "]" * 5000 + ', "links": []}')

    assert problems_importing(path) == ["deep.json: nests arrays or objects too deeply"]


def test_broken_csv_rows_are_reported_by_line(db, small_bank, tmp_path):
    write_document(tmp_path / "csv", small_bank["nodes"], small_bank["links"])
    nodes = (tmp_path / "csv" / "nodes.csv").read_text().splitlines()
    nodes[2] = nodes[2].replace('{""scheme""', "{scheme")
    nodes.append("too,few")
    (tmp_path / "csv" / "nodes.csv").write_text("\n".join(nodes) + "\n")

    problems = problems_importing(tmp_path / "csv")

    assert problems[0].startswith("nodes.csv line 3: attributes: not valid JSON")
    assert problems[1] == "nodes.csv line 10: has 2 columns, not 6"
    assert Node.objects.count() == 0


def test_a_csv_with_the_wrong_header_or_no_edges_file_is_refused(db, tmp_path):
    (tmp_path / "nodes.csv").write_text("id,name\n")

    assert problems_importing(tmp_path) == [f"{tmp_path / 'edges.csv'}: is missing"]
    (tmp_path / "edges.csv").write_text("source,type,target,attributes\n")
    assert problems_importing(tmp_path) == [
        "nodes.csv line 1: the header must be key,type,label,aliases,attributes,answers, not ['id', 'name']"  # noqa: E501
    ]


def test_malformed_graphml_is_refused(db, tmp_path):
    path = tmp_path / "graph.graphml"
    path.write_text("<graphml><graph><node id='a'></graph>")

    (problem,) = problems_importing(path)

    assert problem.startswith("graph.graphml: not readable GraphML")


def test_the_import_command_reports_every_problem_and_fails(db, small_bank, tmp_path):
    small_bank["links"][0]["target"] = "process:nowhere"
    path = tmp_path / "graph.json"
    path.write_text(json.dumps(small_bank))
    errors = io.StringIO()

    with pytest.raises(CommandError, match="Nothing imported: 1 problem"):
        call_command("import_knowledge", str(path), stderr=errors)

    assert "links[0].target: no node 'process:nowhere'" in errors.getvalue()
    assert Node.objects.count() == 0


def test_a_large_import_shows_a_progress_bar(db, tmp_path):
    nodes = [
        {"key": f"product:p{index}", "type": "product", "label": f"Product {index}"}
        for index in range(6001)
    ]
    path = tmp_path / "large.json"
    path.write_text(json.dumps({"nodes": nodes, "links": []}))
    errors = io.StringIO()

    call_command("import_knowledge", str(path), stdout=io.StringIO(), stderr=errors)

    assert "Adding nodes: 100%" in errors.getvalue()
    assert Node.objects.count() == 6001

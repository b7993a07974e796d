"""Reading and writing the exchange formats: JSON node-link, GraphML, and a pair of CSV files.

Plain Python. Readers turn a file into a `GraphDocument`: node and relation objects, each with the
place it came from, so a problem found later can say where it is. A file that cannot be read at
all raises `InvalidKnowledge` with what is wrong and where.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import networkx

from knowledge.validation import InvalidKnowledge, Problem

FORMAT_NAME = "knowledge-graph"
FORMAT_VERSION = 1
NODE_COLUMNS = ["key", "type", "label", "aliases", "attributes", "answers"]
EDGE_COLUMNS = ["source", "type", "target", "attributes"]
ALIAS_SEPARATOR = "|"


@dataclass
class GraphDocument:
    """Nodes and relations as read from a file, each as (where it was, its fields)."""

    nodes: list[tuple[str, object]] = field(default_factory=list)
    links: list[tuple[str, object]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def add_node(self, location: str, fields: dict, problems: list[Problem]) -> None:
        """Keep a node, or the problems that kept it from being read."""
        self.problems += problems
        if not problems:
            self.nodes.append((location, fields))

    def add_link(self, location: str, fields: dict, problems: list[Problem]) -> None:
        """Keep a relation, or the problems that kept it from being read."""
        self.problems += problems
        if not problems:
            self.links.append((location, fields))


def format_of(path: Path) -> str:
    """Return the exchange format a path names: json, graphml or csv (a directory)."""
    if path.is_dir() or path.suffix == "":
        return "csv"
    if path.suffix.lower() in (".json", ".graphml"):
        return path.suffix.lower().lstrip(".")
    raise InvalidKnowledge(
        [
            Problem(
                str(path), "use a .json or .graphml file, or a directory of nodes.csv and edges.csv"
            )
        ]
    )


def read_document(path: Path) -> GraphDocument:
    """Read any of the exchange formats from a path."""
    readers = {"json": read_json, "graphml": read_graphml, "csv": read_csv_directory}
    return readers[format_of(path)](path)


def write_document(path: Path, nodes: list[dict], links: list[dict]) -> None:
    """Write nodes and relations to a path in the format its name says."""
    kind = format_of(path)
    if kind == "json":
        path.write_text(json.dumps(as_json(nodes, links), indent=1, ensure_ascii=False) + "\n")
    elif kind == "graphml":
        write_graphml(path, nodes, links)
    else:
        write_csv_directory(path, nodes, links)


def as_json(nodes: list[dict], links: list[dict]) -> dict:
    """Return the JSON node-link document."""
    return {"format": FORMAT_NAME, "version": FORMAT_VERSION, "nodes": nodes, "links": links}


def read_json(path: Path) -> GraphDocument:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise InvalidKnowledge(
            [Problem(path.name, f"is not UTF-8 text ({error.reason})")]
        ) from None
    except json.JSONDecodeError as error:
        raise InvalidKnowledge(
            [Problem(f"{path.name} line {error.lineno}", f"not valid JSON: {error.msg}")]
        ) from None
    except RecursionError:
        # The parser recurses once per level; a file nested thousands deep is no graph.
        raise InvalidKnowledge([Problem(path.name, "nests arrays or objects too deeply")]) from None
    return document_from_json(data)


def document_from_json(data: object) -> GraphDocument:
    """Return the document a parsed JSON node-link object holds."""
    if not isinstance(data, dict):
        raise InvalidKnowledge([Problem("", "the document must be a JSON object")])
    problems = []
    if data.get("format") not in (None, FORMAT_NAME):
        problems.append(Problem("format", f"must be {FORMAT_NAME!r}"))
    if data.get("version") not in (None, FORMAT_VERSION):
        problems.append(Problem("version", f"only version {FORMAT_VERSION} is understood"))
    for name in ("nodes", "links"):
        if not isinstance(data.get(name, []), list):
            problems.append(Problem(name, "must be a list"))
    if problems:
        raise InvalidKnowledge(problems)
    return GraphDocument(
        nodes=[(f"nodes[{index}]", node) for index, node in enumerate(data.get("nodes", []))],
        links=[(f"links[{index}]", link) for index, link in enumerate(data.get("links", []))],
    )


def read_graphml(path: Path) -> GraphDocument:
    try:
        graph = networkx.read_graphml(path, force_multigraph=True)
    except (
        xml.etree.ElementTree.ParseError,
        networkx.NetworkXError,
        ValueError,
        KeyError,
    ) as error:
        raise InvalidKnowledge([Problem(path.name, f"not readable GraphML: {error}")]) from None
    document = GraphDocument()
    for key, data in graph.nodes(data=True):
        location = f"node {key!r}"
        fields, problems = _decoded(data, ["aliases", "attributes", "answers"], location)
        document.add_node(location, {"key": key, **fields}, problems)
    for index, (source, target, data) in enumerate(graph.edges(data=True)):
        location = f"edge {index + 1} ({source} -> {target})"
        fields, problems = _decoded(data, ["attributes"], location)
        fields.pop("id", None)
        link = {"source": source, "target": target, **fields}
        document.add_link(location, link, problems)
    return document


def write_graphml(path: Path, nodes: list[dict], links: list[dict]) -> None:
    graph = networkx.MultiDiGraph()
    for node in nodes:
        graph.add_node(
            node["key"],
            type=node["type"],
            label=node["label"],
            aliases=json.dumps(node["aliases"], ensure_ascii=False),
            attributes=json.dumps(node["attributes"], ensure_ascii=False),
            answers=json.dumps(node["answers"], ensure_ascii=False),
        )
    for link in links:
        graph.add_edge(
            link["source"],
            link["target"],
            type=link["type"],
            attributes=json.dumps(link["attributes"], ensure_ascii=False),
        )
    networkx.write_graphml(graph, path, encoding="utf-8")


def read_csv_directory(path: Path) -> GraphDocument:
    nodes_file, edges_file = path / "nodes.csv", path / "edges.csv"
    missing = [
        Problem(str(file), "is missing") for file in (nodes_file, edges_file) if not file.is_file()
    ]
    if missing:
        raise InvalidKnowledge(missing)
    document = GraphDocument()
    for location, row in _csv_rows(nodes_file, NODE_COLUMNS):
        fields, problems = _node_from_row(row, location)
        document.add_node(location, fields, problems)
    for location, row in _csv_rows(edges_file, EDGE_COLUMNS):
        fields, problems = _decoded(row, ["attributes"], location, empty={"attributes": {}})
        document.add_link(location, fields, problems)
    return document


def write_csv_directory(path: Path, nodes: list[dict], links: list[dict]) -> None:
    path.mkdir(parents=True, exist_ok=True)
    with open(path / "nodes.csv", "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(NODE_COLUMNS)
        for node in nodes:
            writer.writerow(
                [
                    node["key"],
                    node["type"],
                    node["label"],
                    ALIAS_SEPARATOR.join(node["aliases"]),
                    json.dumps(node["attributes"], ensure_ascii=False),
                    json.dumps(node["answers"], ensure_ascii=False),
                ]
            )
    with open(path / "edges.csv", "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(EDGE_COLUMNS)
        for link in links:
            writer.writerow(
                [link["source"], link["type"], link["target"], json.dumps(link["attributes"])]
            )


def _csv_rows(file: Path, columns: list[str]) -> Iterable[tuple[str, dict]]:
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidKnowledge(
            [Problem(file.name, f"is not UTF-8 text ({error.reason})")]
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header != columns:
        raise InvalidKnowledge(
            [
                Problem(
                    f"{file.name} line 1", f"the header must be {','.join(columns)}, not {header}"
                )
            ]
        )
    rows = []
    try:
        for row in reader:
            location = f"{file.name} line {reader.line_num}"
            if len(row) != len(columns):
                rows.append(
                    (location, {"__problem__": f"has {len(row)} columns, not {len(columns)}"})
                )
            else:
                rows.append((location, dict(zip(columns, row, strict=True))))
    except csv.Error as error:
        raise InvalidKnowledge(
            [Problem(f"{file.name} line {reader.line_num}", str(error))]
        ) from None
    return rows


def _node_from_row(row: dict, location: str) -> tuple[dict, list[Problem]]:
    if "__problem__" in row:
        return {}, [Problem(location, row["__problem__"])]
    fields, problems = _decoded(
        row, ["attributes", "answers"], location, empty={"attributes": {}, "answers": []}
    )
    fields["aliases"] = [
        alias.strip() for alias in row["aliases"].split(ALIAS_SEPARATOR) if alias.strip()
    ]
    return fields, problems


def _decoded(
    data: dict, json_fields: list[str], location: str, empty: dict | None = None
) -> tuple[dict, list[Problem]]:
    """Return the fields with the JSON-encoded ones decoded, and what could not be decoded."""
    if "__problem__" in data:
        return {}, [Problem(location, data["__problem__"])]
    fields = dict(data)
    problems = []
    for name in json_fields:
        if name not in fields:
            continue
        text = fields[name]
        if text == "" and empty and name in empty:
            fields[name] = empty[name]
            continue
        try:
            fields[name] = json.loads(text)
        except (TypeError, json.JSONDecodeError) as error:
            problems.append(Problem(f"{location}: {name}", f"not valid JSON ({error})"))
        except RecursionError:
            problems.append(Problem(f"{location}: {name}", "nests too deeply"))
    return fields, problems

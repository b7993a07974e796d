"""The rules a node, a relation and a whole graph must follow, checked before anything is written.

Plain Python. Each check returns every problem it finds, each with its place, so an editor or an
import file's author can fix them all at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from knowledge.graph import NodeRecord
from knowledge.names import normalised_name

KEY = re.compile(r"[a-z0-9_]+(:[a-z0-9_]+)?")
IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
PLACEHOLDER = re.compile(r"\{([a-z0-9_]+(?::[a-z0-9_]+)?)\.([a-z][a-z0-9_]*)\}")
MAX_KEY = 100
MAX_TYPE = 50
MAX_LABEL = 200
MAX_ALIASES = 50
MAX_ALIAS = 100
MAX_ANSWERS = 20
MAX_ANSWER = 2000
MAX_ATTRIBUTES = 100
MAX_TEXT_VALUE = 2000
NODE_FIELDS = {"key", "type", "label", "aliases", "attributes", "answers"}
RELATION_FIELDS = {"source", "type", "target", "attributes"}


@dataclass(frozen=True)
class Problem:
    """What is wrong, and where."""

    location: str
    message: str

    def as_dict(self) -> dict:
        return {"location": self.location, "message": self.message}

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class InvalidKnowledge(Exception):
    """A change or an import that breaks the rules; it carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(problem) for problem in problems[:5]))
        self.problems = problems


class KnowledgeConflict(InvalidKnowledge):
    """A well-formed change that the graph as stored refuses: a key or name already taken, a
    node that does not exist, a quote it would break. Another state of the graph could take it."""


def at(location: str, name: str) -> str:
    return f"{location}.{name}" if location else name


def check_node(data: object, location: str = "") -> tuple[NodeRecord | None, list[Problem]]:
    """Return the node a JSON object describes, or None, and every problem in its fields."""
    if not isinstance(data, Mapping):
        return None, [Problem(location, "must be an object")]
    problems = [
        Problem(at(location, name), "is not a node field")
        for name in sorted(data.keys() - NODE_FIELDS)
    ]
    problems += check_key(data.get("key"), at(location, "key"))
    problems += check_identifier(data.get("type"), at(location, "type"), MAX_TYPE)
    problems += check_text(data.get("label"), at(location, "label"), MAX_LABEL)
    problems += check_text_list(
        data.get("aliases", []), at(location, "aliases"), MAX_ALIASES, MAX_ALIAS
    )
    problems += check_attributes(data.get("attributes", {}), at(location, "attributes"))
    problems += check_text_list(
        data.get("answers", []), at(location, "answers"), MAX_ANSWERS, MAX_ANSWER
    )
    if problems:
        return None, problems
    aliases = tuple(alias.strip() for alias in data.get("aliases", []))
    problems += [
        Problem(at(location, f"aliases[{index}]"), f"{alias!r} is given twice")
        for index, alias in enumerate(aliases)
        if any(normalised_name(alias) == normalised_name(earlier) for earlier in aliases[:index])
    ]
    node = NodeRecord(
        key=data["key"],
        type=data["type"],
        label=data["label"].strip(),
        aliases=aliases,
        attributes=dict(data.get("attributes", {})),
        answers=tuple(answer.strip() for answer in data.get("answers", [])),
    )
    return (None if problems else node), problems


def check_relation(data: object, location: str = "") -> tuple[tuple | None, list[Problem]]:
    """Return (source, type, target, attributes) for a relation's JSON object, and its problems."""
    if not isinstance(data, Mapping):
        return None, [Problem(location, "must be an object")]
    problems = [
        Problem(at(location, name), "is not a relation field")
        for name in sorted(data.keys() - RELATION_FIELDS)
    ]
    problems += check_key(data.get("source"), at(location, "source"))
    problems += check_identifier(data.get("type"), at(location, "type"), MAX_TYPE)
    problems += check_key(data.get("target"), at(location, "target"))
    problems += check_attributes(data.get("attributes", {}), at(location, "attributes"))
    if not problems and data["source"] == data["target"]:
        problems.append(Problem(at(location, "target"), "a node cannot be related to itself"))
    if problems:
        return None, problems
    return (data["source"], data["type"], data["target"], dict(data.get("attributes", {}))), []


def check_key(value: object, location: str) -> list[Problem]:
    if not isinstance(value, str) or not value:
        return [Problem(location, "is required and must be text")]
    if len(value) > MAX_KEY or not KEY.fullmatch(value):
        return [
            Problem(
                location,
                f"{value[:MAX_KEY]!r} is not a key: use lower-case letters, digits and _, "
                f"optionally kind:name, at most {MAX_KEY} characters",
            )
        ]
    return []


def check_identifier(value: object, location: str, longest: int) -> list[Problem]:
    if not isinstance(value, str) or not value:
        return [Problem(location, "is required and must be text")]
    if len(value) > longest or not IDENTIFIER.fullmatch(value):
        return [
            Problem(
                location,
                f"{value[:longest]!r} must be lower-case letters, digits and _, starting with a "
                f"letter, at most {longest} characters",
            )
        ]
    return []


def check_text(value: object, location: str, longest: int) -> list[Problem]:
    if not isinstance(value, str) or not value.strip():
        return [Problem(location, "is required and must be text")]
    if len(value) > longest:
        return [Problem(location, f"is longer than {longest} characters")]
    return []


def check_text_list(value: object, location: str, most: int, longest: int) -> list[Problem]:
    if not isinstance(value, list):
        return [Problem(location, "must be a list of texts")]
    if len(value) > most:
        return [Problem(location, f"has more than {most} items")]
    return [
        problem
        for index, item in enumerate(value)
        for problem in check_text(item, f"{location}[{index}]", longest)
    ]


def check_attributes(value: object, location: str) -> list[Problem]:
    if not isinstance(value, Mapping):
        return [Problem(location, "must be an object of names and values")]
    if len(value) > MAX_ATTRIBUTES:
        return [Problem(location, f"has more than {MAX_ATTRIBUTES} attributes")]
    problems = []
    for name, item in value.items():
        if not isinstance(name, str) or not IDENTIFIER.fullmatch(name):
            problems.append(
                Problem(at(location, str(name)), "attribute names are lower-case identifiers")
            )
        elif not is_attribute_value(item):
            problems.append(
                Problem(
                    at(location, name),
                    "must be text, a number, true/false, or a list of those (no objects)",
                )
            )
    return problems


def is_attribute_value(value: object) -> bool:
    if isinstance(value, list):
        return all(is_scalar(item) for item in value)
    return is_scalar(value)


def is_scalar(value: object) -> bool:
    if isinstance(value, str):
        return len(value) <= MAX_TEXT_VALUE
    if isinstance(value, float):
        return value == value and value not in (float("inf"), float("-inf"))
    return isinstance(value, (bool, int))


def placeholders(answer: str) -> list[tuple[str, str]]:
    """Return the (node key, attribute) pairs an answer quotes."""
    return PLACEHOLDER.findall(answer)


def check_placeholders(
    node: NodeRecord, attributes_of: Mapping[str, Mapping], location: str = ""
) -> list[Problem]:
    """Return a problem for every placeholder quoting a missing node or attribute.

    Args:
        node: the node whose answers are checked.
        attributes_of: the attributes of every node that exists once the change is made.
    """
    problems = []
    for index, answer in enumerate(node.answers):
        for key, name in placeholders(answer):
            attributes = node.attributes if key == node.key else attributes_of.get(key)
            if attributes is None:
                problems.append(
                    Problem(at(location, f"answers[{index}]"), f"{{{key}.{name}}}: no node {key!r}")
                )
            elif name not in attributes:
                problems.append(
                    Problem(
                        at(location, f"answers[{index}]"),
                        f"{{{key}.{name}}}: node {key!r} has no attribute {name!r}",
                    )
                )
    return problems


class NameClaims:
    """Who holds each name, to find an alias that collides with another node's label or alias."""

    def __init__(self, nodes: Iterable[NodeRecord] = ()) -> None:
        self.alias_holders: dict[tuple[str, ...], str] = {}
        self.label_holders: dict[tuple[str, ...], set[str]] = {}
        for node in nodes:
            self.claim(node)

    def claim(self, node: NodeRecord) -> None:
        self.label_holders.setdefault(normalised_name(node.label), set()).add(node.key)
        for alias in node.aliases:
            self.alias_holders.setdefault(normalised_name(alias), node.key)

    def collisions(self, node: NodeRecord, location: str = "") -> list[Problem]:
        """Return a problem for each name of this node that another node already holds."""
        problems = []
        label = normalised_name(node.label)
        holder = self.alias_holders.get(label)
        if holder not in (None, node.key):
            problems.append(
                Problem(at(location, "label"), f"{node.label!r} is already an alias of {holder!r}")
            )
        for index, alias in enumerate(node.aliases):
            name = normalised_name(alias)
            if not name:
                problems.append(
                    Problem(at(location, f"aliases[{index}]"), "must contain a letter or digit")
                )
                continue
            holders = ({self.alias_holders.get(name)} | self.label_holders.get(name, set())) - {
                None,
                node.key,
            }
            if holders:
                problems.append(
                    Problem(
                        at(location, f"aliases[{index}]"),
                        f"{alias!r} is already a name of {', '.join(sorted(holders))}",
                    )
                )
        return problems

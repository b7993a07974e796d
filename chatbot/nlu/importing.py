"""Read intent examples from CSV or JSON, validate all of it, then write all or nothing."""

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from chatbot import bounded_json
from chatbot.nlu.models import INTENT_NAME_PATTERN, MAX_EXAMPLE_CHARS, Intent, TrainingExample

MAX_FILE_BYTES = 50 * 1024 * 1024
# A list of {"text", "intent"} objects, or an object of lists: two or three levels.
MAX_JSON_DEPTH = 16
_INTENT_NAME = re.compile(INTENT_NAME_PATTERN)


@dataclass(frozen=True)
class LabelledExample:
    """One example text and the intent it expresses."""

    text: str
    intent: str


class ImportFileError(Exception):
    """The file is not importable; `errors` lists every problem with its location."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(f"{len(errors)} error(s): " + "; ".join(errors[:5]))
        self.errors = errors


@dataclass
class ImportSummary:
    """What an import wrote (or would write, on a dry run)."""

    intents_created: list[str] = field(default_factory=list)
    examples_created: int = 0
    examples_already_present: int = 0
    duplicates_in_file: int = 0


def read_examples(path: Path) -> list[LabelledExample]:
    """Return the examples of a CSV (text,intent or text,category) or JSON file."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ImportFileError([f"{path}: cannot be read ({error.strerror})"]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ImportFileError([f"{path}: larger than {MAX_FILE_BYTES // 1024 // 1024} MB"])
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFileError([f"{path}: not UTF-8 text (byte {error.start})"]) from None
    if path.suffix.lower() == ".json":
        return _read_json(content)
    return _read_csv(content)


def _read_csv(content: str) -> list[LabelledExample]:
    reader = csv.DictReader(io.StringIO(content, newline=""))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    label_column = "intent" if "intent" in header else "category" if "category" in header else None
    if "text" not in header or label_column is None:
        raise ImportFileError(
            ["line 1: the header must have a 'text' and an 'intent' (or 'category') column"]
        )
    reader.fieldnames = header
    examples, errors = [], []
    try:
        for row in reader:
            location = f"line {reader.line_num}"
            if None in row:
                errors.append(f"{location}: more fields than the header")
                continue
            _collect(row.get("text"), row.get(label_column), location, examples, errors)
    except csv.Error as error:
        errors.append(f"line {reader.line_num}: {error}")
    return _checked(examples, errors)


def _read_json(content: str) -> list[LabelledExample]:
    try:
        document = bounded_json.loads(content, MAX_JSON_DEPTH)
    except bounded_json.TooDeeplyNested as error:
        raise ImportFileError([str(error)]) from None
    except json.JSONDecodeError as error:
        raise ImportFileError([f"line {error.lineno}: not valid JSON ({error.msg})"]) from None
    examples: list[LabelledExample] = []
    errors: list[str] = []
    if isinstance(document, list):
        for index, item in enumerate(document):
            location = f"item [{index}]"
            if not isinstance(item, dict):
                errors.append(f"{location}: must be an object with 'text' and 'intent'")
                continue
            _collect(item.get("text"), item.get("intent"), location, examples, errors)
    elif isinstance(document, dict) and isinstance(document.get("intents"), list):
        for index, intent in enumerate(document["intents"]):
            location = f"intents[{index}]"
            if not isinstance(intent, dict) or not isinstance(intent.get("examples"), list):
                errors.append(f"{location}: must be an object with 'name' and an 'examples' list")
                continue
            for number, text in enumerate(intent["examples"]):
                _collect(
                    text, intent.get("name"), f"{location}.examples[{number}]", examples, errors
                )
    else:
        errors.append('top level: must be a list of {text, intent} or {"intents": [...]}')
    return _checked(examples, errors)


def _collect(
    text: object, intent: object, location: str, examples: list, errors: list[str]
) -> None:
    if not isinstance(text, str) or not text.strip():
        errors.append(f"{location}: the text is empty")
    elif len(text.strip()) > MAX_EXAMPLE_CHARS:
        errors.append(f"{location}: the text is longer than {MAX_EXAMPLE_CHARS} characters")
    elif not isinstance(intent, str) or not _INTENT_NAME.match(intent.strip()):
        errors.append(
            f"{location}: the intent {intent!r} is not a valid name "
            "(letters, digits and _ . ? -, starting with a letter)"
        )
    else:
        examples.append(LabelledExample(" ".join(text.split()), intent.strip()))


def _checked(examples: list[LabelledExample], errors: list[str]) -> list[LabelledExample]:
    if errors:
        raise ImportFileError(errors)
    if not examples:
        raise ImportFileError(["the file holds no examples"])
    return examples


def import_examples(
    examples: list[LabelledExample], replace: bool = False, dry_run: bool = False
) -> ImportSummary:
    """Write the examples and any new intents in one transaction; `replace` drops the rest."""
    summary = ImportSummary()
    unique = list(dict.fromkeys(examples))
    summary.duplicates_in_file = len(examples) - len(unique)
    with transaction.atomic():
        if replace:
            TrainingExample.objects.all().delete()
        intents = {intent.name: intent for intent in Intent.objects.all()}
        for name in sorted({example.intent for example in unique} - intents.keys()):
            intents[name] = Intent.objects.create(name=name)
            summary.intents_created.append(name)
        existing = set(TrainingExample.objects.values_list("intent__name", "text"))
        new_rows = [
            TrainingExample(intent=intents[example.intent], text=example.text)
            for example in unique
            if (example.intent, example.text) not in existing
        ]
        TrainingExample.objects.bulk_create(new_rows, batch_size=1000)
        summary.examples_created = len(new_rows)
        summary.examples_already_present = len(unique) - len(new_rows)
        if dry_run:
            transaction.set_rollback(True)
    return summary


def stored_examples() -> list[LabelledExample]:
    """Return every stored example, in a stable order."""
    rows = TrainingExample.objects.order_by("intent__name", "id").values_list(
        "text", "intent__name"
    )
    return [LabelledExample(text, intent) for text, intent in rows]

"""Importing intent examples: everything is validated before anything is written."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from chatbot.nlu.importing import ImportFileError, import_examples, read_examples
from chatbot.nlu.models import Intent, TrainingExample

pytestmark = pytest.mark.django_db


def write(tmp_path, name: str, content: str | bytes):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def stored() -> list[tuple[str, str]]:
    return sorted(TrainingExample.objects.values_list("intent__name", "text"))


def test_a_csv_with_text_and_intent_is_imported(tmp_path):
    path = write(
        tmp_path, "a.csv", "text,intent\nWhere is my card?,card_arrival\nI lost it,lost_card\n"
    )

    call_command("import_intents", str(path))

    assert stored() == [("card_arrival", "Where is my card?"), ("lost_card", "I lost it")]
    assert list(Intent.objects.values_list("name", flat=True)) == ["card_arrival", "lost_card"]


def test_banking77_style_category_column_and_question_mark_labels_are_accepted(tmp_path):
    path = write(
        tmp_path, "b.csv", 'text,category\n"Can I undo a payment, please?",reverted_card_payment?\n'
    )

    call_command("import_intents", str(path))

    assert stored() == [("reverted_card_payment?", "Can I undo a payment, please?")]


def test_json_in_both_shapes_is_imported(tmp_path):
    flat = write(tmp_path, "flat.json", json.dumps([{"text": "rate?", "intent": "exchange_rate"}]))
    nested = write(
        tmp_path,
        "nested.json",
        json.dumps({"intents": [{"name": "top_up_failed", "examples": ["top up failed"]}]}),
    )

    call_command("import_intents", str(flat))
    call_command("import_intents", str(nested))

    assert stored() == [("exchange_rate", "rate?"), ("top_up_failed", "top up failed")]


def test_a_broken_csv_reports_every_bad_row_and_writes_nothing(tmp_path):
    call_command("import_intents", str(write(tmp_path, "ok.csv", "text,intent\nhello,greet\n")))
    before = stored()
    path = write(
        tmp_path,
        "broken.csv",
        "text,intent\n"
        "fine text,card_arrival\n"
        ",card_arrival\n"
        "no intent,\n"
        "bad label,has space\n"
        f"{'x' * 2001},card_arrival\n"
        "extra,card_arrival,oops\n",
    )

    with pytest.raises(ImportFileError) as error:
        read_examples(path)
    with pytest.raises(CommandError, match="Nothing imported: 5 error"):
        call_command("import_intents", str(path))

    naming_rule = "(letters, digits and _ . ? -, starting with a letter)"
    assert error.value.errors == [
        "line 3: the text is empty",
        f"line 4: the intent '' is not a valid name {naming_rule}",
        f"line 5: the intent 'has space' is not a valid name {naming_rule}",
        "line 6: the text is longer than 2000 characters",
        "line 7: more fields than the header",
    ]
    assert stored() == before
    assert not Intent.objects.filter(name="card_arrival").exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "h.csv",
            "words,label\nhi,greet\n",
            "line 1: the header must have a 'text' and an 'intent'",
        ),
        ("bin.csv", b"\xff\xfe\x00garbage", "not UTF-8 text"),
        ("bad.json", '{"intents": [', "line 1: not valid JSON"),
        ("shape.json", '{"examples": []}', "top level: must be a list"),
        ("item.json", '[{"text": "hi", "intent": "greet"}, "oops"]', "item [1]: must be an object"),
        ("empty.csv", "text,intent\n", "the file holds no examples"),
        ("deep.json", "[" * 5000 + "]" * 5000, "at most 16 levels deep"),
    ],
    ids=["header", "binary", "invalid_json", "shape", "item", "empty", "deep"],
)
def test_an_unreadable_file_is_refused_with_its_location(tmp_path, name, content, message):
    with pytest.raises(ImportFileError) as error:
        read_examples(write(tmp_path, name, content))

    assert message in error.value.errors[0]
    assert stored() == []


def test_a_dry_run_counts_but_writes_nothing(tmp_path):
    examples = read_examples(
        write(tmp_path, "a.csv", "text,intent\nhi,greet\nhi,greet\nyo,greet\n")
    )

    summary = import_examples(examples, dry_run=True)

    assert (summary.examples_created, summary.duplicates_in_file) == (2, 1)
    assert summary.intents_created == ["greet"]
    assert stored() == [] and Intent.objects.count() == 0


def test_reimporting_adds_only_new_examples_and_replace_drops_the_rest(tmp_path):
    first = read_examples(write(tmp_path, "a.csv", "text,intent\nhi,greet\nbye,farewell\n"))
    second = read_examples(write(tmp_path, "b.csv", "text,intent\nhi,greet\nhello,greet\n"))
    import_examples(first)

    merged = import_examples(second)
    assert (merged.examples_created, merged.examples_already_present) == (1, 1)
    import_examples(second, replace=True)

    assert stored() == [("greet", "hello"), ("greet", "hi")]

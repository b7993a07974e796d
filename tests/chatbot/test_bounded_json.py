"""Untrusted JSON is measured for depth before it is parsed."""

import pytest

from chatbot import bounded_json


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("3", 0),
        ('"[[[{"', 0),
        ('{"type": "ping"}', 1),
        ('{"a": [1, {"b": [2]}], "c": {}}', 4),
        ('{"text": "a \\" [[[ quoted"}', 1),
        ("[" * 5000 + "]" * 5000, 5000),
    ],
    ids=["scalar", "string", "flat", "mixed", "escaped_quote", "five_thousand"],
)
def test_the_depth_counts_arrays_and_objects_but_not_brackets_inside_strings(text, depth):
    assert bounded_json.nesting_depth(text) == depth


def test_a_document_within_the_limit_parses_like_json_loads():
    assert bounded_json.loads('{"a": [1, {"b": "]]"}]}', max_depth=3) == {"a": [1, {"b": "]]"}]}
    assert bounded_json.loads(b'{"a": 1}', max_depth=1) == {"a": 1}


def test_a_document_nested_past_the_limit_is_refused_before_parsing():
    with pytest.raises(bounded_json.TooDeeplyNested) as error:
        bounded_json.loads("[" * 5000 + "]" * 5000, max_depth=8)

    assert "at most 8 levels" in str(error.value)


def test_invalid_json_and_invalid_utf8_are_value_errors():
    with pytest.raises(ValueError):
        bounded_json.loads("[1, 2", max_depth=8)
    with pytest.raises(ValueError):
        bounded_json.loads(b"\xff\xfe", max_depth=8)

"""Parse JSON from outside with a limit on nesting; plain Python, no Django.

`json.loads` recurses once per level of nesting, so a small text of a few thousand brackets
raises RecursionError (and deeper still could exhaust the C stack). Every parser of untrusted
JSON (the widget's and the console's frames, the knowledge API's bodies, import files) goes
through `loads`, which measures the depth first, without recursing, and refuses a document
nested deeper than the caller allows.
"""

import json
import re

# A JSON string, escapes included: brackets inside strings do not nest anything.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


class TooDeeplyNested(ValueError):
    """The document nests arrays and objects deeper than allowed."""

    def __init__(self, max_depth: int) -> None:
        super().__init__(f"JSON may nest arrays and objects at most {max_depth} levels deep.")
        self.max_depth = max_depth


def nesting_depth(text: str) -> int:
    """Return how deep arrays and objects nest in `text` (0 for a bare value), iteratively.

    Only the depth is measured; malformed JSON is left for the parser to reject.
    """
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRING.sub("", text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def loads(text: str | bytes, max_depth: int) -> object:
    """Parse `text` like `json.loads`; raise TooDeeplyNested past `max_depth`.

    Invalid JSON (or bytes that are not UTF-8) raises ValueError, as `json.loads` does.
    """
    if isinstance(text, bytes | bytearray):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(f"JSON must be UTF-8 text: {error}") from None
    if nesting_depth(text) > max_depth:
        raise TooDeeplyNested(max_depth)
    try:
        return json.loads(text)
    except RecursionError:
        # Unreachable with a sane max_depth; kept so no caller ever sees a RecursionError.
        raise TooDeeplyNested(max_depth) from None

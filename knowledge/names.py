"""Names compared the way visitors write them: case, punctuation and inflection do not matter.

Plain Python. "Cards", "card's" and "card" are one name; so are "topping up" and "top up".
"""

import re
from collections.abc import Iterator

WORD = re.compile(r"[^\W_]+", re.UNICODE)
POSSESSIVE = re.compile(r"['’]s\b", re.IGNORECASE)


def normalised_name(text: str) -> tuple[str, ...]:
    """Return a name as a tuple of word stems, the form names are indexed and compared in."""
    return tuple(word_stem(word) for word in WORD.findall(POSSESSIVE.sub("", text.lower())))


def words_with_spans(text: str) -> Iterator[tuple[str, int, int]]:
    """Yield each word's stem with its start and end offsets in the original text."""
    lowered = text.lower()
    for match in WORD.finditer(lowered):
        word = match.group()
        end = match.end()
        # The possessive "'s" belongs to the word before it; it is dropped, not a word of its own.
        if word == "s" and match.start() > 0 and lowered[match.start() - 1] in "'’":
            continue
        yield word_stem(word), match.start(), end


def word_stem(word: str) -> str:
    """Strip an English plural or verb ending: `currencies` -> `currency`, `topping` -> `top`."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes", "zzes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    if word.endswith("ied") and len(word) > 4:
        return word[:-3] + "y"
    for ending in ("ing", "ed"):
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return _undoubled(word[: -len(ending)])
    return word


def _undoubled(stem: str) -> str:
    # "topping" -> "topp" -> "top", "transferred" -> "transferr" -> "transfer".
    if len(stem) >= 3 and stem[-1] == stem[-2] and stem[-1] not in "aeiouls":
        return stem[:-1]
    return stem

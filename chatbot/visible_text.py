"""Whether a text shows anything: plain Python, no Django.

`str.strip()` keeps zero-width spaces, joiners, direction marks and the like, so a message of
only "\\u200b\\u200b" looked like text. Such a message is treated like an empty one.
"""

import unicodedata

# Letters by category that nonetheless draw nothing (Hangul fillers, the blank braille cell).
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Format and control characters, separators (spaces, line and paragraph separators).
_INVISIBLE_CATEGORIES = frozenset(("Cf", "Cc", "Zs", "Zl", "Zp"))


def is_invisible(character: str) -> bool:
    """Return whether a single character draws nothing on its own."""
    return (
        character.isspace()
        or character in _BLANK_LETTERS
        or unicodedata.category(character) in _INVISIBLE_CATEGORIES
    )


def has_visible_text(text: str) -> bool:
    """Return whether `text` has at least one character that shows."""
    return not all(is_invisible(character) for character in text)

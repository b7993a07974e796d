"""The default backend: the grounded template answer, streamed a few words at a time."""

from __future__ import annotations

import re
from collections.abc import Iterator

from chatbot.llm.base import AnswerRequest

_WORD_WITH_SPACE = re.compile(r"\S+\s*|\s+")


class TemplateBackend:
    """Answer with the template answer itself; needs no model and never fails."""

    name = "template"

    def __init__(self, words_per_piece: int = 3) -> None:
        self.words_per_piece = words_per_piece

    def stream(self, request: AnswerRequest) -> Iterator[str]:
        """Yield the template answer a few words at a time, spaces kept."""
        yield from pieces_of(request.template_answer, self.words_per_piece)


def pieces_of(text: str, words_per_piece: int = 3) -> list[str]:
    """Return the text cut into pieces of a few words, the way a language model streams it."""
    words = _WORD_WITH_SPACE.findall(text)
    return [
        "".join(words[start : start + words_per_piece])
        for start in range(0, len(words), words_per_piece)
    ]

"""The compromised model served over HTTP: an OpenAI-compatible server that obeys every prompt.

It is the fake server's plumbing (`tests.llm.fake_openai_server`) with `adversarial_model.obey`
as its model: each request is answered with what the prompt tells it to say, streamed a few
characters at a time (so that a number, an address or a tag arrives in pieces, as a real
model's tokens do), and each answer is recorded beside its request.
"""

from __future__ import annotations

import threading

from tests.llm.adversarial_model import obey
from tests.llm.fake_openai_server import FakeOpenAIServer, RecordedRequest, Stream

CHARACTERS_PER_TOKEN = 3


class AdversarialServer(FakeOpenAIServer):
    """A real HTTP server whose model obeys whatever its prompt says."""

    def __init__(self) -> None:
        super().__init__()
        self.outputs: list[str] = []
        self._outputs_lock = threading.Lock()

    def _next_response(self, request: RecordedRequest) -> Stream:
        output = obey(request.body.get("messages") or [{"role": "system", "content": ""}])
        with self._outputs_lock:
            self.requests.append(request)
            self.outputs.append(output)
        return Stream(tokens=tokens_of(output))

    def forget(self) -> None:
        """Drop what was received so far: each attack is judged on its own requests."""
        with self._outputs_lock:
            self.requests.clear()
            self.outputs.clear()


def tokens_of(text: str) -> list[str]:
    """Return the text cut into the small pieces a model streams."""
    return [
        text[start : start + CHARACTERS_PER_TOKEN]
        for start in range(0, len(text), CHARACTERS_PER_TOKEN)
    ]

"""Fixtures of the language-model tests."""

from tests.knowledge.conftest import small_bank, stored_bank  # noqa: F401, E402  (fixtures)
from tests.llm.fake_openai_server import fake_server  # noqa: F401  (fixture)

"""No log line carries a card number a visitor typed, whoever writes it: the filter installed on
every handler (settings.LOGGING) masks messages, their arguments and tracebacks."""

import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chatbot.log_filters import MaskPersonalData
from tests.chatbot.socket_client import WidgetClient

REPO_ROOT = Path(__file__).resolve().parents[2]
CARD = "4111 1111 1111 1111"
TYPED = f"my card {CARD} was charged twice"


@pytest.fixture
def server_log():
    """The configured console handler (with its filters) writing to a buffer, at DEBUG."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    root = logging.getLogger()
    queries = logging.getLogger("django.db.backends")
    buffer, levels = io.StringIO(), (root.level, queries.level)
    previous = handler.setStream(buffer)
    root.setLevel(logging.DEBUG)
    queries.setLevel(logging.DEBUG)
    yield buffer
    root.setLevel(levels[0])
    queries.setLevel(levels[1])
    handler.setStream(previous)


def card_digits_in(text: str) -> bool:
    return CARD in text or CARD.replace(" ", "") in text or "4111 1111" in text


@pytest.mark.websocket
@pytest.mark.django_db(transaction=True)
async def test_a_card_number_typed_by_a_visitor_appears_in_no_log_line(settings, server_log):
    # Kept in clear and every SQL statement logged with its parameters (DEBUG): the INSERT
    # that stores the original is written to the log, and must come out masked.
    settings.PERSONAL_DATA_STORAGE = "keep"
    settings.DEBUG = True
    logging.getLogger("chatbot.tests").warning("the visitor wrote %s", TYPED)
    visitor = WidgetClient()
    assert await visitor.connect()
    await visitor.hello()

    await visitor.say(TYPED)
    await visitor.receive_answer()
    await visitor.close()

    written = server_log.getvalue()
    assert "INSERT INTO" in written, "statements were logged with their parameters"
    assert "the visitor wrote my card [card number ending 1111] was charged twice" in written
    assert not card_digits_in(written)


def test_the_filter_masks_a_record_s_arguments_and_its_traceback():
    try:
        raise ValueError(f"could not parse {TYPED!r}")
    except ValueError:
        record = logging.LogRecord(
            "x",
            logging.ERROR,
            __file__,
            1,
            "failed on %s for %s",
            (TYPED, "ada@example.com"),
            sys.exc_info(),
        )

    MaskPersonalData().filter(record)
    line = logging.Formatter().format(record)

    assert "failed on my card [card number ending 1111] was charged twice for [email]" in line
    assert "ValueError: could not parse 'my card [card number ending 1111]" in line
    assert not card_digits_in(line) and "ada@example.com" not in line


def test_every_handler_of_a_served_process_masks_django_s_own_included(tmp_path):
    # As uvicorn loads the application: the project's handler (LOGGING) and Django's own.
    check = (
        "import logging, chatbot.asgi\n"
        "from chatbot.log_filters import MaskPersonalData\n"
        "handlers = logging.getLogger().handlers + logging.getLogger('django').handlers\n"
        "print(len(handlers), all(any(isinstance(f, MaskPersonalData) for f in h.filters)"
        " for h in handlers))\n"
    )
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "chatbot.settings",
        "VAR_DIR": str(tmp_path),
    }

    result = subprocess.run(
        [sys.executable, "-c", check],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.stdout.split() == ["3", "True"], result.stderr


def test_a_record_without_personal_data_is_left_as_it_was():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "turn took %s s", (0.25,), None)

    MaskPersonalData().filter(record)

    assert (record.msg, record.args, record.getMessage()) == (
        "turn took %s s",
        (0.25,),
        "turn took 0.25 s",
    )

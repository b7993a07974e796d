"""Quick-reply buttons and thumbs up / down in the widget, in Chromium, against a real server.

The server answers with the demo bank's intent model (fast mode, BANKING77 and the
conversational intents) and its knowledge graph. Which message the bot answers with a
clarification depends on the model and the policy, so the test asks the live turn, with the
server's own model and database, and never hard-codes the bot's words.
"""

import json
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.e2e.test_widget import ScriptedChatServer, frame_of_type, stored_event, welcome
from tests.live_server import (
    REPO_ROOT,
    free_port,
    manage,
    migrate,
    running_server,
    server_environment,
)

pytestmark = pytest.mark.e2e

BOT_REPLY_TIMEOUT_MS = 90_000
UI_TIMEOUT_MS = 15_000
DEMO_KNOWLEDGE = REPO_ROOT / "knowledge" / "demo" / "kestrel_bank.json"
# Short and ambiguous: what a visitor who is not sure how to ask types first.
# Short, vague messages: which of them the model is unsure enough about to ask depends on the
# training draw, so there are many to try.
CANDIDATE_MESSAGES = [
    "card",
    "my card",
    "top up",
    "pending",
    "rate",
    "charge",
    "fee",
    "exchange",
    "money",
    "payment",
    "transfer",
    "account",
    "cash",
    "problem",
    "limit",
    "my money",
    "a question",
    "help with my account",
]
# Run in the server's environment: the first turn of a new conversation, as the server plays it.
ASK_THE_ENGINE = """
import json
from chatbot import engine
from chatbot.live_player import understand
from chatbot.turn_configuration import configured_turn
from knowledge.service import current_graph

outcomes = []
for text in json.loads({candidates!r}):
    result = engine.run_turn({{}}, text, understand(text, None), current_graph(), configured_turn())
    outcomes.append({{
        "text": text,
        "decision": result.trace["decision"],
        "quick_replies": result.replies[-1].quick_replies,
        "offered": result.trace["offered"],
    }})
print("OUTCOMES " + json.dumps(outcomes))
"""
FEEDBACK_ROWS = """
SELECT answer.seq, feedback.rating, question.seq
FROM chatbot_answerfeedback AS feedback
JOIN chatbot_event AS answer ON answer.id = feedback.answer_id
LEFT JOIN chatbot_turn AS turn ON turn.id = feedback.turn_id
LEFT JOIN chatbot_event AS question ON question.id = turn.visitor_event_id
ORDER BY answer.seq
"""


@dataclass(frozen=True)
class DemoBankServer:
    url: str
    environment: dict
    database: Path


@pytest.fixture(scope="module")
def demo_bank_server(banking_model_var_dir: Path) -> Iterator[DemoBankServer]:
    """Serve a fresh database holding the demo knowledge graph, with the demo intent model."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="chatbot-demo-bank-e2e-") as temporary:
        directory = Path(temporary)
        database = directory / "e2e.sqlite3"
        environment = server_environment(f"sqlite:///{database}", base_url, directory)
        shutil.copytree(banking_model_var_dir / "models", directory / "models")
        migrate(environment)
        manage(environment, "import_knowledge", str(DEMO_KNOWLEDGE), "-v", "0")
        with running_server(environment, port) as url:
            yield DemoBankServer(url, environment, database)


@pytest.fixture
def context(chromium_browser: Browser) -> Iterator[BrowserContext]:
    """Give each test a fresh browser profile: no token, no history."""
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(UI_TIMEOUT_MS)
    yield context
    context.close()


def message_answered_with_a_clarification(server: DemoBankServer) -> dict:
    """Return a candidate the bot answers by asking which topic was meant, with buttons.

    The engine runs in a child process with the server's settings, model and database: this
    process cannot use Django's database while Playwright's event loop runs in it.
    """
    script = ASK_THE_ENGINE.format(candidates=json.dumps(CANDIDATE_MESSAGES))
    output = manage(server.environment, "shell", "-c", script)
    outcomes = json.loads(output.split("OUTCOMES ", 1)[1])
    clarifications = [o for o in outcomes if o["decision"] == "clarify" and o["quick_replies"]]
    if not clarifications:
        summary = ", ".join(f"{o['text']!r}: {o['decision']}" for o in outcomes)
        pytest.fail(f"no candidate message is answered with a clarification ({summary})")
    return clarifications[0]


def last_turn_trace(server: DemoBankServer) -> dict:
    """Return how the bot decided its latest turn, as the server stored it."""
    with sqlite3.connect(f"file:{server.database}?mode=ro", uri=True) as connection:
        (trace,) = connection.execute("SELECT trace FROM chatbot_turn ORDER BY id DESC").fetchone()
    return json.loads(trace)


def stored_feedback(server: DemoBankServer) -> list[tuple[int, str, int | None]]:
    """Return the server's stored ratings: (answer seq, rating, seq of its turn's message)."""
    with sqlite3.connect(f"file:{server.database}?mode=ro", uri=True) as connection:
        return [tuple(row) for row in connection.execute(FEEDBACK_ROWS)]


def open_chat(context: BrowserContext, base_url: str) -> Page:
    """Open the demo page with the chat panel open and connected."""
    page = context.new_page()
    page.goto(base_url + "/")
    open_panel(page)
    return page


def open_panel(page: Page) -> None:
    open_panel_without_waiting(page)
    expect(page.locator("[data-chat-widget-root]")).to_have_attribute("data-connection", "ready")


def open_panel_without_waiting(page: Page) -> None:
    """Open the chat panel unless it is open already (the open state survives a reload)."""
    launcher = page.get_by_test_id("chat-launcher")
    if launcher.get_attribute("aria-expanded") != "true":
        launcher.click()
    expect(page.get_by_test_id("chat-panel")).to_be_visible()


def last_visitor_message(page: Page) -> Locator:
    return page.locator('[data-testid="chat-message"][data-author="visitor"]').last


def committed_seq(bubble: Locator) -> int:
    """Wait until the message is committed; return its seq."""
    expect(bubble).to_have_attribute("data-seq", re.compile(r"^\d+$"))
    return int(bubble.get_attribute("data-seq"))


def send(page: Page, text: str) -> int:
    """Type a message, press Enter, and return its seq once the server stored it."""
    page.get_by_test_id("chat-input").fill(text)
    page.get_by_test_id("chat-input").press("Enter")
    expect(last_visitor_message(page)).to_have_text(text)
    return committed_seq(last_visitor_message(page))


def bot_reply_after(page: Page, seq: int) -> Locator:
    """Wait until the bot's reply to the message at seq is committed; return its last message."""
    page.wait_for_function(
        """(seq) => {
          const bubbles = document.querySelectorAll('[data-testid="chat-message"]');
          const replied = Array.from(bubbles).some((bubble) =>
            bubble.dataset.author === "bot" && Number(bubble.dataset.seq) > seq);
          return replied && !document.querySelector('[data-streaming="true"]');
        }""",
        arg=seq,
        timeout=BOT_REPLY_TIMEOUT_MS,
    )
    newest = page.locator('[data-testid="chat-message"][data-author="bot"]:not([data-seq=""])').last
    return message_at(page, committed_seq(newest))


def message_at(page: Page, seq: int) -> Locator:
    return page.locator(f'[data-testid="chat-message"][data-seq="{seq}"]')


def row_of(bubble: Locator) -> Locator:
    """Return the message's row, which holds its buttons."""
    return bubble.locator("xpath=..")


def test_a_thumbs_down_on_an_answer_is_stored_shown_pressed_and_kept_after_a_reload(
    context, demo_bank_server
):
    # Given an answer of the bot to the visitor's question
    page = open_chat(context, demo_bank_server.url)
    question_seq = send(page, "my new card still hasn't arrived")
    answer = bot_reply_after(page, question_seq)
    answer_seq = committed_seq(answer)
    thumbs_up = row_of(answer).get_by_test_id("feedback-up")
    thumbs_down = row_of(answer).get_by_test_id("feedback-down")
    expect(thumbs_down).to_have_attribute("aria-pressed", "false")
    expect(thumbs_down).to_have_accessible_name("This answer did not help")

    # When the visitor gives it a thumbs down
    thumbs_down.click()

    # Then the server stores it with the answer's turn, and the button shows pressed
    expect(row_of(answer).get_by_test_id("feedback")).to_have_attribute("data-saved", "down")
    expect(thumbs_down).to_have_attribute("aria-pressed", "true")
    expect(thumbs_up).to_have_attribute("aria-pressed", "false")
    assert stored_feedback(demo_bank_server) == [(answer_seq, "down", question_seq)]

    # When the page is reloaded
    page.reload()
    open_panel(page)

    # Then the answer still shows its thumbs down
    answer = message_at(page, answer_seq)
    expect(row_of(answer).get_by_test_id("feedback-down")).to_have_attribute("aria-pressed", "true")
    expect(row_of(answer).get_by_test_id("feedback-up")).to_have_attribute("aria-pressed", "false")

    # When the visitor changes it to a thumbs up
    row_of(answer).get_by_test_id("feedback-up").click()

    # Then the one stored rating becomes a thumbs up
    expect(row_of(answer).get_by_test_id("feedback")).to_have_attribute("data-saved", "up")
    expect(row_of(answer).get_by_test_id("feedback-down")).to_have_attribute(
        "aria-pressed", "false"
    )
    assert stored_feedback(demo_bank_server) == [(answer_seq, "up", question_seq)]


def test_a_clarification_s_button_chosen_with_the_keyboard_answers_the_conversation(
    context, demo_bank_server
):
    # Given a message that the bot, with the server's model and graph, answers with a question
    chosen = message_answered_with_a_clarification(demo_bank_server)
    page = open_chat(context, demo_bank_server.url)

    # When the visitor sends it
    question_seq = send(page, chosen["text"])
    answer = bot_reply_after(page, question_seq)
    answer_seq = committed_seq(answer)

    # Then the bot's answer shows its buttons, labelled as the engine said, in a named group
    group = row_of(answer).get_by_role("group", name="Suggested replies")
    buttons = group.get_by_test_id("quick-reply")
    expect(buttons).to_have_text([reply["label"] for reply in chosen["quick_replies"]])

    # When the visitor moves the focus to the first button and presses Enter
    buttons.first.focus()
    page.keyboard.press("Enter")

    # Then its text is sent as the visitor's message, the buttons go, the focus returns to
    # the input, and the bot's next reply is committed
    sent = chosen["quick_replies"][0]["text"]
    expect(last_visitor_message(page)).to_have_text(sent)
    expect(row_of(answer).get_by_test_id("quick-reply")).to_have_count(0)
    expect(page.get_by_test_id("chat-input")).to_be_focused()
    choice_seq = committed_seq(last_visitor_message(page))
    assert choice_seq > answer_seq, (chosen, choice_seq, answer_seq)
    next_answer = bot_reply_after(page, choice_seq)
    assert committed_seq(next_answer) > choice_seq
    expect(next_answer).not_to_have_text("")
    # And the bot took the button as the visitor's choice and answered that topic
    assert last_turn_trace(demo_bank_server)["decision"] == "clarified"
    assert last_turn_trace(demo_bank_server)["intent"] == chosen["offered"][0]


def test_the_widget_shows_buttons_as_text_for_the_newest_answer_only_and_settles_ratings(
    context, demo_bank_server
):
    # Given the widget talking to a scripted server, which replays an answer the visitor rated
    # up and a newer one offering buttons, one with markup in its label and one too long to send
    page = context.new_page()
    server = ScriptedChatServer(page)
    page.goto(demo_bank_server.url + "/")
    open_panel_without_waiting(page)
    server.wait_for_frame(frame_of_type("hello"))
    server.send(
        welcome(last_seq=3),
        stored_event(1, "system", "", kind="conversation_started"),
        {**stored_event(2, "bot", "Hello"), "feedback": "up"},
        {
            **stored_event(3, "bot", "Which card?"),
            "data": {
                "quick_replies": [
                    {"label": "<b>Debit</b>", "text": "debit card"},
                    {"label": "Credit", "text": "credit card"},
                    {"label": "Too long", "text": "x" * 21},
                ]
            },
        },
        {"type": "synced", "last_seq": 3},
    )

    # Then the rating is shown again, and the newest answer's buttons show their labels as text
    expect(row_of(message_at(page, 2)).get_by_test_id("feedback-up")).to_have_attribute(
        "aria-pressed", "true"
    )
    buttons = row_of(message_at(page, 3)).get_by_test_id("quick-reply")
    expect(buttons).to_have_text(["<b>Debit</b>", "Credit"])
    assert page.get_by_test_id("quick-replies").locator("b").count() == 0

    # When a newer message arrives
    server.send(stored_event(4, "agent", "An agent here"))

    # Then the buttons go
    expect(page.get_by_test_id("quick-reply")).to_have_count(0)

    # When the bot offers buttons again and the visitor presses Space on one
    server.send(
        {
            **stored_event(5, "bot", "Debit or credit?"),
            "data": {"quick_replies": [{"label": "Debit", "text": "debit card"}]},
        }
    )
    sent_before = len(server.received)
    page.get_by_test_id("quick-reply").focus()
    page.keyboard.press(" ")

    # Then its text goes out as a message, shown as the visitor's, and the focus is in the input
    message = server.wait_for_frame(frame_of_type("message"), after=sent_before)
    assert message == {"type": "message", "client_id": message["client_id"], "text": "debit card"}
    expect(last_visitor_message(page)).to_have_text("debit card")
    expect(page.get_by_test_id("quick-reply")).to_have_count(0)
    expect(page.get_by_test_id("chat-input")).to_be_focused()

    # When the visitor rates the answer up and the server refuses it
    answer = row_of(message_at(page, 5))
    sent_before = len(server.received)
    answer.get_by_test_id("feedback-up").click()
    rating = server.wait_for_frame(frame_of_type("feedback"), after=sent_before)
    expect(answer.get_by_test_id("feedback-up")).to_have_attribute("aria-pressed", "true")
    server.send({"type": "error", "code": "unknown_event", "message": "Not an answer.", "seq": 5})

    # Then the thumb is released and the visitor is told
    assert rating == {"type": "feedback", "seq": 5, "rating": "up"}
    expect(answer.get_by_test_id("feedback-up")).to_have_attribute("aria-pressed", "false")
    expect(page.get_by_test_id("chat-notice")).to_have_text("Not an answer.")

    # When the visitor rates it down and the server keeps it
    sent_before = len(server.received)
    answer.get_by_test_id("feedback-down").click()
    server.wait_for_frame(frame_of_type("feedback"), after=sent_before)
    server.send({"type": "feedback_saved", "seq": 5, "rating": "down"})

    # Then the thumb stays pressed, and pressing it again sends nothing
    expect(answer.get_by_test_id("feedback")).to_have_attribute("data-saved", "down")
    expect(answer.get_by_test_id("feedback-down")).to_have_attribute("aria-pressed", "true")
    sent_before = len(server.received)
    answer.get_by_test_id("feedback-down").click()
    page.wait_for_timeout(200)
    assert [
        frame for _, frame in server.received[sent_before:] if frame["type"] == "feedback"
    ] == []

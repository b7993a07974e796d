"""The knowledge editor in Chromium, against a real server with a small graph and a tiny model.

The server gets its own database and var/ folder: the graph below is imported into it, the tiny
intent model is trained into it, and an editor and a plain user are created, all through the
management commands an operator would use.
"""

import csv
import json
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.live_server import (
    REPO_ROOT,
    free_port,
    manage,
    migrate,
    running_server,
    server_environment,
)
from tests.tiny_model import TINY_INTENTS

pytestmark = pytest.mark.e2e

UI_TIMEOUT_MS = 15_000
BOT_REPLY_TIMEOUT_MS = 90_000
VENDORED_CYTOSCAPE = REPO_ROOT / "knowledge/static/knowledge/vendor/cytoscape.min.js"

EDITOR = ("erin", "erin-edits-the-graph")
PLAIN_USER = ("paul", "paul-is-no-editor")

CARD_ARRIVAL_ANSWER = (
    "Cards usually arrive within {process:card_delivery.standard_days} working days."
)
HOSTILE_LABEL = '<script>window.__injected = 1</script><img src=x onerror="window.__injected = 2">'

GRAPH = {
    "format": "knowledge-graph",
    "version": 1,
    "nodes": [
        {
            "key": "topic:card_arrival",
            "type": "topic",
            "label": "Card arrival",
            "aliases": ["card not arrived"],
            "attributes": {"intent": "card_arrival"},
            "answers": [CARD_ARRIVAL_ANSWER],
        },
        {
            "key": "topic:lost_or_stolen_card",
            "type": "topic",
            "label": "Lost or stolen card",
            "aliases": [],
            "attributes": {"intent": "lost_or_stolen_card"},
            "answers": ["Freeze your card in the app straight away, then order a new one."],
        },
        {
            "key": "process:card_delivery",
            "type": "process",
            "label": "Card delivery",
            "aliases": ["delivery of my card"],
            "attributes": {"standard_days": 5, "tracked": True},
            "answers": [],
        },
        {
            "key": "product:standard_card",
            "type": "product",
            "label": "Standard card",
            "aliases": ["debit card"],
            "attributes": {"currencies": ["GBP", "EUR"]},
            "answers": [],
        },
        {
            "key": "product:metal_card",
            "type": "product",
            "label": "Metal card",
            "aliases": [],
            "attributes": {},
            "answers": [],
        },
        {
            "key": "fee:metal_card",
            "type": "fee",
            "label": "Metal card",
            "aliases": [],
            "attributes": {"amount": 10, "currency": "GBP"},
            "answers": [],
        },
        {
            "key": "country:france",
            "type": "country",
            "label": "France",
            "aliases": [],
            "attributes": {},
            "answers": [],
        },
    ],
    "links": [
        {
            "source": "topic:card_arrival",
            "type": "concerns",
            "target": "process:card_delivery",
            "attributes": {},
        },
        {
            "source": "process:card_delivery",
            "type": "part_of",
            "target": "product:standard_card",
            "attributes": {},
        },
        {
            "source": "product:metal_card",
            "type": "has_fee",
            "target": "fee:metal_card",
            "attributes": {},
        },
    ],
}

CREATE_USERS = f"""
from django.contrib.auth import get_user_model
from chatbot.staff_users import add_staff_user
add_staff_user({EDITOR[0]!r}, {EDITOR[1]!r}, "editor")
get_user_model().objects.create_user({PLAIN_USER[0]!r}, password={PLAIN_USER[1]!r})
"""


def write_tiny_intents(path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "intent"])
        for intent, texts in TINY_INTENTS.items():
            writer.writerows([text, intent] for text in texts)


@pytest.fixture(scope="module")
def knowledge_server() -> Iterator[str]:
    """Serve a fresh database holding the graph, the tiny model, an editor and a plain user."""
    if not VENDORED_CYTOSCAPE.exists():
        pytest.fail(
            f"{VENDORED_CYTOSCAPE.relative_to(REPO_ROOT)} is missing: run "
            "knowledge/frontend/vendor.sh (`make test` runs it)"
        )
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="knowledge-e2e-") as temporary:
        directory = Path(temporary)
        environment = server_environment(
            f"sqlite:///{directory / 'e2e.sqlite3'}", base_url, directory
        )
        migrate(environment)
        graph_path = directory / "graph.json"
        graph_path.write_text(json.dumps(GRAPH))
        manage(environment, "import_knowledge", str(graph_path))
        intents_path = directory / "intents.csv"
        write_tiny_intents(intents_path)
        manage(environment, "train_intents", "--data", str(intents_path), "--fast", "-v", "0")
        manage(environment, "shell", "-c", CREATE_USERS)
        with running_server(environment, port) as url:
            yield url


@pytest.fixture
def context(chromium_browser: Browser) -> Iterator[BrowserContext]:
    """Give each test a fresh browser profile at desktop size."""
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(UI_TIMEOUT_MS)
    yield context
    context.close()


def watch_dialogs(page: Page) -> list[str]:
    """Collect every dialog the page raises: the editor must never raise one."""
    dialogs: list[str] = []

    def record(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    return dialogs


def log_in(page: Page, base_url: str, credentials: tuple[str, str]) -> None:
    """Open the editor; on the login page it sends us to, log in with the form."""
    page.goto(base_url + "/knowledge/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/knowledge/$"))
    page.get_by_label("Username").fill(credentials[0])
    page.get_by_label("Password").fill(credentials[1])
    page.get_by_role("button", name="Log in").click()


def open_editor(context: BrowserContext, base_url: str) -> tuple[Page, list[str]]:
    """Log the editor in and wait for the editor page; return it and its dialogs."""
    page = context.new_page()
    dialogs = watch_dialogs(page)
    log_in(page, base_url, EDITOR)
    expect(page).to_have_url(base_url + "/knowledge/")
    expect(page.get_by_role("heading", name="The knowledge graph")).to_be_visible()
    return page, dialogs


def search_results(page: Page):
    return page.get_by_role("list", name="Matching nodes")


def open_node_by_search(page: Page, query: str, label: str) -> None:
    """Type into the search box and open the result whose label is given."""
    search = page.get_by_label("Search nodes")
    search.fill("")
    search.press_sequentially(query, delay=20)
    result = search_results(page).get_by_role("link", name=re.compile("^" + re.escape(label)))
    expect(result).to_have_count(1)
    result.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(label)


def save(page: Page) -> None:
    page.get_by_role("button", name="Save", exact=True).click()


def ask_the_bot(context: BrowserContext, base_url: str, question: str) -> list[str]:
    """Ask the chat widget on the demo page; return the bot's committed replies to it."""
    page = context.new_page()
    page.goto(base_url + "/")
    page.get_by_test_id("chat-launcher").click()
    page.get_by_test_id("chat-input").fill(question)
    page.get_by_test_id("chat-input").press("Enter")
    mine = page.locator('[data-testid="chat-message"][data-author="visitor"]').last
    expect(mine).to_have_attribute("data-seq", re.compile(r"^\d+$"))
    seq = int(mine.get_attribute("data-seq"))
    page.wait_for_function(
        """(seq) => Array.from(document.querySelectorAll('[data-testid="chat-message"]')).some(
             (bubble) => bubble.dataset.author === "bot" && bubble.dataset.seq !== "" &&
               Number(bubble.dataset.seq) > seq) &&
           !document.querySelector('[data-streaming="true"]')""",
        arg=seq,
        timeout=BOT_REPLY_TIMEOUT_MS,
    )
    return page.evaluate(
        """(seq) => Array.from(
             document.querySelectorAll('[data-testid="chat-message"][data-author="bot"]'))
           .filter((bubble) => bubble.dataset.seq !== "" && Number(bubble.dataset.seq) > seq)
           .map((bubble) => bubble.textContent)""",
        seq,
    )


def test_an_editor_changes_a_topics_answer_and_the_bot_answers_with_it(context, knowledge_server):
    # Given an editor logged in through the login page, on the topic found by searching
    page, dialogs = open_editor(context, knowledge_server)
    open_node_by_search(page, "card arr", "Card arrival")
    expect(page).to_have_url(re.compile(r"#node/topic:card_arrival$"))
    answer = page.get_by_label("Answer 1 (main)")
    expect(answer).to_have_value(CARD_ARRIVAL_ANSWER)
    expect(page.locator("#drawing")).to_have_attribute("data-node-count", "2")

    # When the editor rewrites the main answer, quoting the delivery time, and saves
    new_answer = (
        "Good news: a new card arrives within {process:card_delivery.standard_days} "
        "working days of ordering, tracked all the way."
    )
    answer.fill(new_answer)
    save(page)

    # Then it is saved as the node's next version, and the history shows the change
    expect(page.locator("#save-status")).to_have_text("Saved. This is version 2.")
    expect(page.locator("#node-version")).to_contain_text("Version 2")
    expect(page.locator("#history-list > li").first).to_contain_text("changed answers")

    # When a visitor asks the bot a question of that topic
    replies = ask_the_bot(context, knowledge_server, "when will my card be delivered")

    # Then the bot answers with the new text, the delivery time filled in from the graph
    assert any(
        "a new card arrives within 5 working days of ordering, tracked all the way." in reply
        for reply in replies
    ), replies
    assert dialogs == []


def test_only_editors_reach_the_editor_and_its_api(chromium_browser: Browser, knowledge_server):
    # Given an anonymous visitor
    anonymous = chromium_browser.new_context()
    try:
        page = anonymous.new_page()

        # When they open the editor, then they are sent to the login page
        page.goto(knowledge_server + "/knowledge/")
        expect(page).to_have_url(f"{knowledge_server}/accounts/login/?next=/knowledge/")
        expect(page.get_by_role("heading", name="Log in")).to_be_visible()

        # And the API refuses them
        response = page.request.get(knowledge_server + "/knowledge/api/nodes")
        assert response.status == 403
        assert response.json()["error"] == "forbidden"

        # When a wrong password is given, the login form says so and keeps the username
        page.get_by_label("Username").fill(PLAIN_USER[0])
        page.get_by_label("Password").fill("not-the-password")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("alert")).to_contain_text("correct username and password")
        expect(page.get_by_label("Username")).to_have_value(PLAIN_USER[0])
    finally:
        anonymous.close()

    # Given a logged-in user who is not an editor
    plain = chromium_browser.new_context()
    try:
        page = plain.new_page()
        log_in(page, knowledge_server, PLAIN_USER)
        expect(page).not_to_have_url(re.compile(r"/accounts/login/"))

        # When they open the editor and its API, then both answer 403
        response = page.goto(knowledge_server + "/knowledge/")
        assert response is not None and response.status == 403
        api = page.request.get(knowledge_server + "/knowledge/api/nodes?q=card")
        assert api.status == 403
        assert api.json()["error"] == "forbidden"
        assert "Card arrival" not in api.text()
    finally:
        plain.close()


def test_markup_in_a_label_is_shown_as_text_and_a_deleted_node_can_be_restored(
    context, knowledge_server
):
    # Given an editor creating a node whose label is markup
    page, dialogs = open_editor(context, knowledge_server)
    page.get_by_role("link", name="New node").first.click()
    expect(page).to_have_url(re.compile(r"#new$"))
    page.get_by_label("Type", exact=True).fill("product")
    page.get_by_label("Label", exact=True).fill(HOSTILE_LABEL)
    page.get_by_label("Key", exact=True).fill("product:hostile_label")
    page.get_by_label("New alias").fill("<b>bold</b> card")
    page.get_by_role("button", name="Add alias").click()
    page.get_by_role("button", name="Create node").click()

    # Then the node page shows the label, the alias and the search result as literal text
    expect(page).to_have_url(re.compile(r"#node/product:hostile_label$"))
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(HOSTILE_LABEL)
    assert heading.evaluate("(element) => element.children.length") == 0
    expect(page.locator("#alias-list")).to_contain_text("<b>bold</b> card")
    page.get_by_label("Search nodes").press_sequentially("hostile", delay=20)
    expect(search_results(page).get_by_role("link")).to_contain_text([HOSTILE_LABEL])
    expect(page.locator("#history-list")).to_contain_text("created node product:hostile_label")

    # And nothing in it ran or became an element
    assert page.evaluate("window.__injected") is None
    assert page.locator("#knowledge-editor img, #knowledge-editor b").count() == 0

    # When the editor deletes the node, confirming on the page
    page.get_by_role("button", name="Delete node").click()
    expect(page.locator("#delete-question")).to_contain_text(HOSTILE_LABEL)
    page.get_by_role("button", name="Delete", exact=True).click()

    # Then it is gone, and Undo brings it back
    expect(page.locator("#flash")).to_contain_text("Deleted")
    expect(page.get_by_role("heading", name="The knowledge graph")).to_be_visible()
    page.locator("#flash").get_by_role("button", name="Undo").click()
    expect(page).to_have_url(re.compile(r"#node/product:hostile_label$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(HOSTILE_LABEL)
    assert page.evaluate("window.__injected") is None

    # When the editor logs out, then the login page shows and the API refuses them
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(knowledge_server + "/accounts/login/")
    assert page.request.get(knowledge_server + "/knowledge/api/nodes").status == 403
    assert dialogs == []


def test_the_search_filters_by_type_and_enter_opens_the_first_match(context, knowledge_server):
    # Given an editor searching for a name two nodes share
    page, _ = open_editor(context, knowledge_server)
    page.get_by_label("Search nodes").press_sequentially("metal", delay=20)
    expect(search_results(page).get_by_role("link")).to_have_count(2)

    # When the search is narrowed to fees
    page.get_by_label("Filter by type").select_option("fee")

    # Then only the fee is listed, and Enter opens it
    expect(search_results(page).get_by_role("link")).to_have_count(1)
    expect(page.locator("#search-status")).to_have_text("1 node.")
    page.get_by_label("Search nodes").press("Enter")
    expect(page).to_have_url(re.compile(r"#node/fee:metal_card$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Metal card")
    expect(page.get_by_label(re.compile(r"^Value of .*\(amount\)"))).to_have_value("10")


def test_a_conflicting_save_keeps_the_editors_edits_and_a_stale_revert_is_refused(
    context, knowledge_server
):
    # Given the same node open in two tabs
    first, dialogs = open_editor(context, knowledge_server)
    open_node_by_search(first, "France", "France")
    second = context.new_page()
    second_dialogs = watch_dialogs(second)
    second.goto(first.url)
    expect(second.get_by_role("heading", level=1)).to_have_text("France")

    # When the first tab saves a new label, and the second then saves its own
    first.get_by_label("Label", exact=True).fill("France (metropolitan)")
    save(first)
    expect(first.locator("#save-status")).to_have_text("Saved. This is version 2.")
    second.get_by_label("Label", exact=True).fill("French Republic")
    second.get_by_label("New alias").fill("la France")
    second.get_by_role("button", name="Add alias").click()
    save(second)

    # Then the second tab says someone else saved, with their version, and keeps its edits
    conflict = second.locator("#conflict")
    expect(conflict).to_contain_text("Someone else saved this node")
    expect(conflict).to_contain_text("version 2")
    expect(second.get_by_label("Label", exact=True)).to_have_value("French Republic")

    # When it loads their version and takes back its own label
    conflict.get_by_role("button", name="Load their version").click()
    expect(second.get_by_label("Label", exact=True)).to_have_value("France (metropolitan)")
    expect(conflict).to_contain_text("French Republic")
    conflict.get_by_role("button", name="Use my label").click()
    save(second)

    # Then its label is saved over their version, and their alias-free version stands otherwise
    expect(second.locator("#save-status")).to_have_text("Saved. This is version 3.")
    expect(second.get_by_role("heading", level=1)).to_have_text("French Republic")
    expect(second.locator("#alias-list .ke-chip")).to_have_count(0)

    # When the first tab reverts its own, older change
    first.reload()
    changes = first.locator("#history-list > li")
    expect(changes).to_have_count(3)  # The import's creation, then the two saves.
    older = changes.nth(1)
    older.get_by_role("button", name=re.compile(r"^Revert change")).click()

    # Then the revert is refused next to that change, and nothing changes
    expect(older.locator(".ke-field-error")).to_contain_text("has changed since this change")
    expect(first.get_by_label("Label", exact=True)).to_have_value("French Republic")
    assert dialogs == [] and second_dialogs == []


def test_an_editor_relates_two_nodes_follows_the_drawing_and_reverts_the_relation(
    context, knowledge_server
):
    # Given an editor on a topic with no relations
    page, _ = open_editor(context, knowledge_server)
    open_node_by_search(page, "lost or", "Lost or stolen card")
    expect(page.locator("#outgoing-list")).to_contain_text("None from this node.")
    expect(page.locator("#drawing")).to_have_attribute("data-node-count", "1")

    # When the editor adds a relation, picking the type and the target from suggestions
    page.get_by_label("Relation type").fill("concerns")
    page.get_by_role("combobox", name="Other node").press_sequentially("standard", delay=20)
    page.get_by_role("option", name=re.compile("^Standard card")).click()
    expect(page.get_by_role("combobox", name="Other node")).to_have_value("product:standard_card")
    page.get_by_role("button", name="Add relation").click()

    # Then it is listed, drawn, and recorded
    outgoing = page.locator("#outgoing-list")
    expect(outgoing).to_contain_text("concerns")
    expect(outgoing.get_by_role("link", name="Standard card")).to_be_visible()
    expect(page.locator("#drawing")).to_have_attribute("data-node-count", "2")
    expect(page.locator("#history-list > li").first).to_contain_text("created relation")

    # When the editor clicks the other node in the drawing
    page.locator("#drawing").scroll_into_view_if_needed()
    # Two frames: the drawing learns of the scroll from its event before it is clicked.
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.wait_for_function("window.KnowledgeEditor.drawing() !== null")
    position = page.evaluate(
        """() => {
             const drawing = window.KnowledgeEditor.drawing();
             const box = document.getElementById("drawing").getBoundingClientRect();
             const point = drawing.getElementById("product:standard_card").renderedPosition();
             return {x: box.left + point.x, y: box.top + point.y};
           }"""
    )
    page.mouse.click(position["x"], position["y"])

    # Then it opens that node, and the back button returns to the topic
    expect(page).to_have_url(re.compile(r"#node/product:standard_card$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Standard card")
    expect(page.locator("#incoming-list")).to_contain_text("Lost or stolen card")
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lost or stolen card")

    # When the editor reverts the relation's creation from the history
    page.locator("#history-list > li").first.get_by_role(
        "button", name=re.compile(r"^Revert change")
    ).click()

    # Then the relation is gone again
    expect(outgoing).to_contain_text("None from this node.")
    expect(page.locator("#history-list > li").first).to_contain_text("deleted relation")


def test_the_try_it_box_shows_mentions_understanding_answer_and_facts(context, knowledge_server):
    # Given an editor on the editor page
    page, _ = open_editor(context, knowledge_server)
    try_box = page.get_by_role("complementary", name="Try it")

    # When they try a question of a topic that names a process
    try_box.get_by_label("Visitor's message").fill("how long does card delivery take")
    try_box.get_by_role("button", name="Try").click()

    # Then the name is highlighted, and the intent, the grounded answer and its sources shown
    highlighted = try_box.get_by_test_id("try-highlighted")
    # The first message this server classifies loads the model: wait as for a bot's reply.
    expect(highlighted.locator("mark")).to_have_text(
        ["card delivery"], timeout=BOT_REPLY_TIMEOUT_MS
    )
    expect(try_box).to_contain_text("card_arrival")
    expect(try_box.get_by_test_id("try-answer")).to_contain_text("within 5 working days")
    expect(try_box.locator(".ke-sources").get_by_role("link", name="Card delivery")).to_be_visible()
    expect(try_box).to_contain_text("standard_days")

    # When they try a name two nodes share, after a character outside the BMP
    try_box.get_by_label("Visitor's message").fill("\U0001f642 Metal card?")
    try_box.get_by_role("button", name="Try").click()

    # Then the mention is marked ambiguous, in its place, with both candidates
    expect(highlighted.locator("mark.ke-mention-ambiguous")).to_have_text(["Metal card"])
    ambiguous = try_box.locator(".ke-mention-item.ke-is-ambiguous")
    expect(ambiguous).to_have_count(1)
    expect(ambiguous).to_contain_text("product:metal_card")
    expect(ambiguous).to_contain_text("fee:metal_card")

    # When a candidate is clicked, its node opens
    ambiguous.get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(r"#node/(product|fee):metal_card$"))


def test_on_a_phone_the_editor_fits_the_screen(chromium_browser: Browser, knowledge_server):
    # Given an editor on a phone-sized screen
    context = chromium_browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(UI_TIMEOUT_MS)
    try:
        page, _ = open_editor(context, knowledge_server)

        # When they open a node with relations and a drawing
        open_node_by_search(page, "card deliv", "Card delivery")
        expect(page.locator("#drawing")).to_have_attribute("data-node-count", "3")

        # Then nothing is wider than the screen, and the form is usable
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        expect(page.get_by_role("button", name="Save", exact=True)).to_be_visible()
        expect(page.get_by_label(re.compile(r"^Value of .*\(standard_days\)"))).to_have_value("5")
    finally:
        context.close()


def test_unsaved_edits_survive_opening_another_node_and_coming_back(context, knowledge_server):
    # Given an editor with an unsaved change to a node
    page, dialogs = open_editor(context, knowledge_server)
    open_node_by_search(page, "standard", "Standard card")
    page.get_by_label("Label", exact=True).fill("Standard debit card")

    # When they open another node, then go back
    open_node_by_search(page, "card deliv", "Card delivery")
    page.go_back()

    # Then their edit is still in the form, and they are told so
    expect(page.get_by_role("heading", level=1)).to_have_text("Standard card")
    expect(page.get_by_label("Label", exact=True)).to_have_value("Standard debit card")
    expect(page.locator("#draft-notice")).to_contain_text("unsaved edits")

    # When they discard the edits, then the stored label is back
    page.get_by_role("button", name="Discard my edits").click()
    expect(page.get_by_label("Label", exact=True)).to_have_value("Standard card")
    assert dialogs == []

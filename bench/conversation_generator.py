"""Generate multi-turn banking conversations, with what each bot turn should do, for scoring.

The generator knows nothing of the bot: it imports no project code and shares none of the bot's
word lists. It reads two data files, BANKING77's test questions (real customers' words, never
trained on) and the demo bank's knowledge graph (JSON), and writes its own phrasings for
everything else. Each turn's expectation comes from the data (the question's label, the graph's
relations), never from the bot's output.

Expectations:
- {"topics": [intent, ...], "nodes": [node key, ...]}: the bot answers from one of these
  intents' topics, and, when nodes are given, its answer uses at least one of them;
- {"act": NAME, ...}: a conversational act the bot should perform (greet back, thank, close,
  say it is a bot, hand over to a person, take a task's slot, finish or cancel a task).
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

PATTERNS = (
    "question",
    "entity_follow_up",
    "same_topic_question",
    "topic_switch",
    "return_to_earlier",
    "small_talk",
    "task",
    "ask_for_person",
)

# The generator's own phrasings. They are deliberately written apart from the bot's training
# examples and rules; `phrasings_overlap` checks that none of them is a training example.
GREETINGS = (
    "hi there",
    "Hello hello!",
    "hey, good morning",
    "Good afternoon.",
    "hiya, anyone there?",
    "Hello, hope you're well",
    "hey",
    "Morning all!",
)
THANKS = (
    "thanks, that's all",
    "Thank you so much",
    "cheers, that helps",
    "ok thanks a lot",
    "great, thank you!",
    "thanks for the help",
    "brilliant, thanks",
    "many thanks",
)
GOODBYES = (
    "bye now",
    "Goodbye then!",
    "ok bye for now",
    "that's everything, bye",
    "see ya",
    "I'm done, goodbye",
    "talk later, bye",
)
BOT_CHALLENGES = (
    "are you a bot?",
    "Am I talking to a real person or a machine?",
    "is this an automated chat?",
    "are you human?",
    "Wait, are you a robot?",
    "is this AI?",
    "am I chatting with a computer?",
)
CHITCHAT = (
    "how are you today?",
    "what's your name?",
    "you're quite helpful",
    "how's your day going?",
    "nice to meet you",
)
PERSON_REQUESTS = (
    "Can I talk to a real person please",
    "I'd like to speak with someone from your team",
    "is there a human I can chat with?",
    "get me an agent",
    "put me through to customer support staff",
    "I want to talk to a representative",
    "can someone from the bank call me or chat with me?",
    "I need a human being, not a bot",
    "transfer me to a person",
    "let me speak to an advisor",
)
ENTITY_FOLLOW_UPS = {
    "country": ("And in {name}?", "what about {name}?", "How about {name}?", "and for {name}?"),
    "currency": ("and for {name}?", "What about {name}?", "how about in {name}?", "And {name}?"),
    "product": ("and for the {name}?", "What about the {name}?", "and with the {name}?"),
    "process": ("and {name}?", "What about {name}?", "and for {name}?", "how about {name}?"),
}
ASPECT_QUESTIONS = {
    "duration": (
        "how long does that take?",
        "How many days will that take?",
        "and how long until it's done?",
        "when will that happen?",
    ),
    "cost": (
        "is there a fee?",
        "how much does it cost?",
        "will that cost me anything?",
        "are there any charges for that?",
        "do I have to pay for it?",
    ),
    "reason": ("why?", "Why is that?", "how come?", "what's the reason for that?"),
}
CONJUNCTIONS = ("And ", "Also, ", "One more thing: ", "and ", "Another question. ")
RETURN_OPENERS = (
    "Coming back to {reference}, can you go over that again?",
    "Earlier I asked about {reference}. What was the answer?",
    "Let's go back to {reference} for a second",
    "About {reference} from before, remind me?",
    "Re {reference} again, what did you say?",
)
CARD_ENDINGS = ("It ends in {digits}", "{digits}", "the last four are {digits}", "ending {digits}")
CARD_CORRECTIONS = (
    "sorry, it's actually {digits}",
    "no wait, it ends {digits}",
    "my mistake: {digits}",
)
CONFIRMATIONS = (
    "yes please do",
    "Yes, go ahead",
    "yep do it",
    "sure thing",
    "please do that",
    "that's correct, yes",
)
CANCELS = ("actually no, cancel that", "never mind, stop", "forget it", "please don't, cancel")
AMOUNTS = (
    ("£{value}", "{value}"),
    ("{value} pounds", "{value}"),
    ("it was {value} GBP", "{value}"),
)
DATES = ("yesterday", "on Monday", "two days ago", "last Friday", "this morning")
TRAVEL_WORDS = re.compile(
    r"\b(abroad|overseas|foreign|travel\w*|trip|holiday|vacation|another country|international)\b",
    re.IGNORECASE,
)
# BANKING77 intents whose questions start the bot's tasks, by the task they start.
TASK_OPENERS = {"block_card": ("lost_or_stolen_card",), "cancel_transfer": ("cancel_transfer",)}


@dataclass
class GeneratedTurn:
    text: str
    pattern: str
    expect: dict


@dataclass
class GeneratedConversation:
    number: int
    turns: list[GeneratedTurn] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "number": self.number,
            "turns": [
                {"text": t.text, "pattern": t.pattern, "expect": t.expect} for t in self.turns
            ],
        }


def read_questions(path: Path) -> dict[str, list[str]]:
    """Return BANKING77 questions by intent."""
    questions: dict[str, list[str]] = defaultdict(list)
    with path.open(newline="", encoding="utf-8") as file:
        for row in csv.DictReader(file):
            questions[row["category"]].append(row["text"].strip())
    return dict(questions)


class GraphFacts:
    """What the generator reads from the knowledge graph's JSON: topics and their neighbours."""

    def __init__(self, path: Path) -> None:
        data = json.loads(path.read_text(encoding="utf-8"))
        self.nodes = {node["key"]: node for node in data["nodes"]}
        self.out: dict[str, list[tuple[str, str]]] = defaultdict(list)
        self.into: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for link in data["links"]:
            self.out[link["source"]].append((link["type"], link["target"]))
            self.into[link["target"]].append((link["type"], link["source"]))
        self.topic_of_intent = {
            node["attributes"]["intent"]: key
            for key, node in self.nodes.items()
            if node["type"] == "topic" and "intent" in node.get("attributes", {})
        }
        self.intent_of_topic = {topic: intent for intent, topic in self.topic_of_intent.items()}

    def targets(self, key: str, relation: str) -> list[str]:
        return [target for type_, target in self.out[key] if type_ == relation]

    def sources(self, key: str, relation: str) -> list[str]:
        return [source for type_, source in self.into[key] if type_ == relation]

    def concerns(self, intent: str) -> list[str]:
        return self.targets(self.topic_of_intent[intent], "concerns")

    def related_intents(self, intent: str) -> list[str]:
        return [
            self.intent_of_topic[topic]
            for topic in self.targets(self.topic_of_intent[intent], "related_topic")
            if topic in self.intent_of_topic
        ]

    def intents_concerning(self, key: str) -> list[str]:
        return [
            self.intent_of_topic[t]
            for t in self.sources(key, "concerns")
            if t in self.intent_of_topic
        ]

    def of_type(self, type_: str) -> list[str]:
        return [key for key, node in self.nodes.items() if node["type"] == type_]

    def names(self, key: str) -> list[str]:
        node = self.nodes[key]
        return [node["label"], *node.get("aliases", [])]

    def nodes_of_brand(self) -> set[str]:
        """Return the words of the organisation's names (capitalised wherever they stand)."""
        return {
            word
            for node in self.nodes.values()
            if node["type"] == "organisation"
            for name in [node["label"], *node.get("aliases", [])]
            for word in name.split()
        }

    def siblings(self, key: str) -> list[str]:
        """Return the other parts of what this node is part of, of the same kind: with fees or
        limits, and sharing a word of their name ("Top-up by card", "Top-up by bank transfer")."""
        words = self._name_words(key)
        siblings = []
        for parent in self.targets(key, "part_of"):
            for sibling in self.sources(parent, "part_of"):
                has_terms = any(t in ("has_fee", "has_limit") for t, _ in self.out[sibling])
                if sibling != key and has_terms and words & self._name_words(sibling):
                    siblings.append(sibling)
        return siblings

    def _name_words(self, key: str) -> set[str]:
        brand = {word.lower() for word in self.nodes_of_brand()}
        words = re.findall(r"[a-z][a-z-]{3,}", self.nodes[key]["label"].lower())
        return set(words) - brand


class ConversationGenerator:
    """Builds conversations from real questions and the graph, reproducibly from a seed."""

    def __init__(self, questions: dict[str, list[str]], graph: GraphFacts, seed: int) -> None:
        self.questions = {i: q for i, q in questions.items() if i in graph.topic_of_intent}
        self.graph = graph
        self.random = random.Random(seed)

    # Conversations ---------------------------------------------------------------------------

    def conversations(self, count: int) -> list[GeneratedConversation]:
        shapes = (
            self._information,
            self._information,
            self._information,
            self._task,
            self._escalation,
        )
        return [self._build(number, self.random.choice(shapes)) for number in range(count)]

    def _build(self, number: int, shape) -> GeneratedConversation:
        conversation = GeneratedConversation(number)
        self._said: set[str] = set()
        shape(conversation.turns)
        return conversation

    def _phrase(self, options: tuple[str, ...]) -> str:
        """Pick a phrasing not yet said in this conversation: people rarely repeat themselves
        word for word, and when they do it means the answer did not help."""
        fresh = [option for option in options if option not in self._said] or list(options)
        choice = self.random.choice(fresh)
        self._said.add(choice)
        return choice

    def _information(self, turns: list[GeneratedTurn]) -> None:
        if self.random.random() < 0.5:
            turns.append(self._act("small_talk", self.random.choice(GREETINGS), "greet"))
        asked = [self._question(turns, "question")]
        self._follow_ups(turns, asked[-1], self.random.randint(1, 2))
        for _ in range(self.random.randint(1, 2)):
            if self.random.random() < 0.2:
                turns.append(self._small_talk_aside())
            asked.append(self._question(turns, "topic_switch", exclude=asked))
            self._follow_ups(turns, asked[-1], self.random.randint(0, 2))
        returned = self._return_to(asked)
        if returned:
            turns.append(returned)
        turns.append(self._act("small_talk", self.random.choice(THANKS), "thank"))
        if self.random.random() < 0.6:
            turns.append(self._act("small_talk", self.random.choice(GOODBYES), "bye"))

    def _task(self, turns: list[GeneratedTurn]) -> None:
        if self.random.random() < 0.4:
            turns.append(self._act("small_talk", self.random.choice(GREETINGS), "greet"))
        task = self.random.choice(sorted(TASK_OPENERS))
        intent = self.random.choice(TASK_OPENERS[task])
        turns.append(
            GeneratedTurn(
                self.random.choice(self.questions[intent]),
                "task",
                {"act": "task_start", "task": task},
            )
        )
        if task == "block_card":
            digits = f"{self.random.randint(1000, 9999)}"
            text = self.random.choice(CARD_ENDINGS).format(digits=digits)
            turns.append(
                GeneratedTurn(text, "task", {"act": "slot", "slot": "card", "value": digits})
            )
            if self.random.random() < 0.4:
                digits = f"{self.random.randint(1000, 9999)}"
                text = self.random.choice(CARD_CORRECTIONS).format(digits=digits)
                turns.append(
                    GeneratedTurn(text, "task", {"act": "correct", "slot": "card", "value": digits})
                )
        else:
            value = str(self.random.choice((40, 75, 120, 250, 600, 1500)))
            template, _ = self.random.choice(AMOUNTS)
            turns.append(
                GeneratedTurn(
                    template.format(value=value),
                    "task",
                    {"act": "slot", "slot": "amount", "value": value},
                )
            )
            turns.append(
                GeneratedTurn(self.random.choice(DATES), "task", {"act": "slot", "slot": "date"})
            )
        if self.random.random() < 0.75:
            turns.append(
                GeneratedTurn(
                    self.random.choice(CONFIRMATIONS), "task", {"act": "task_done", "task": task}
                )
            )
        else:
            turns.append(
                GeneratedTurn(
                    self.random.choice(CANCELS), "task", {"act": "task_cancelled", "task": task}
                )
            )
        if self.random.random() < 0.5:
            asked = self._question(turns, "topic_switch")
            self._follow_ups(turns, asked, self.random.randint(0, 1))
        turns.append(self._act("small_talk", self.random.choice(THANKS), "thank"))

    def _escalation(self, turns: list[GeneratedTurn]) -> None:
        asked = self._question(turns, "question")
        self._follow_ups(turns, asked, self.random.randint(0, 1))
        if self.random.random() < 0.3:
            turns.append(
                self._act("small_talk", self.random.choice(BOT_CHALLENGES), "bot_challenge")
            )
        turns.append(self._act("ask_for_person", self.random.choice(PERSON_REQUESTS), "handoff"))

    # Turns ------------------------------------------------------------------------------------

    def _act(self, pattern: str, text: str, act: str) -> GeneratedTurn:
        return GeneratedTurn(text, pattern, {"act": act})

    def _small_talk_aside(self) -> GeneratedTurn:
        if self.random.random() < 0.5:
            return self._act("small_talk", self._phrase(BOT_CHALLENGES), "bot_challenge")
        return self._act("small_talk", self._phrase(CHITCHAT), "chitchat")

    def _question(self, turns: list[GeneratedTurn], pattern: str, exclude: list[str] = ()) -> str:
        """Ask a real question of an intent not yet asked; return the intent."""
        intents = [
            intent
            for intent in sorted(self.questions)
            if intent not in exclude
            and intent not in {i for opener in TASK_OPENERS.values() for i in opener}
        ]
        intent = self.random.choice(intents)
        text = self.random.choice(self.questions[intent])
        if pattern == "topic_switch" and self.random.random() < 0.3:
            text = self.random.choice(CONJUNCTIONS) + text[0].lower() + text[1:]
        turns.append(GeneratedTurn(text, pattern, {"topics": [intent], "opener": True}))
        return intent

    def _follow_ups(self, turns: list[GeneratedTurn], intent: str, count: int) -> None:
        current = intent
        for _ in range(count):
            makers = [self._entity_follow_up, self._aspect_question]
            self.random.shuffle(makers)
            for make in makers:
                made = make(current, turns[-1].text)
                if made:
                    turns.append(made)
                    current = made.expect["topics"][0]
                    break

    def _entity_follow_up(self, intent: str, previous_text: str) -> GeneratedTurn | None:
        options = self._swaps(intent, previous_text)
        if not options:
            return None
        kind, key = self.random.choice(options)
        name = self._surface_name(key, kind)
        text = self._phrase(ENTITY_FOLLOW_UPS[kind]).format(name=name)
        return GeneratedTurn(
            text, "entity_follow_up", {"topics": self._topics_for_swap(intent, key), "nodes": [key]}
        )

    def _topics_for_swap(self, intent: str, key: str) -> list[str]:
        """Return the topic a swapped-in thing leads to: the same one, or a related topic that
        concerns the new thing and asks the same kind of question (a fee for a fee)."""
        if key in self.graph.concerns(intent):
            return [intent]
        kinds = self._term_kinds(intent)
        related = [
            other
            for other in self.graph.related_intents(intent)
            if key in self.graph.concerns(other) and self._term_kinds(other) == kinds
        ]
        return related or [intent]

    def _term_kinds(self, intent: str) -> set[str]:
        return {
            self.graph.nodes[k]["type"]
            for k in self.graph.concerns(intent)
            if self.graph.nodes[k]["type"] in ("fee", "limit")
        }

    def _swaps(self, intent: str, previous_text: str) -> list[tuple[str, str]]:
        """Return (kind, node) pairs that can stand in a follow-up to this intent's question."""
        graph, concerned = self.graph, self.graph.concerns(intent)
        options: list[tuple[str, str]] = []
        for key in concerned:
            kind = graph.nodes[key]["type"]
            if kind in ("process", "product"):
                options += [
                    (kind, sibling) for sibling in graph.siblings(key) if sibling not in concerned
                ]
            if graph.targets(key, "available_in") or (kind == "process" and "delivery" in key):
                options += [("country", c) for c in self._countries()]
            if graph.targets(key, "supports_currency"):
                options += [("currency", c) for c in graph.targets(key, "supports_currency")]
        if TRAVEL_WORDS.search(previous_text):
            options += [("country", c) for c in self._countries()]
        return sorted(set(options))

    def _countries(self) -> list[str]:
        return [
            key
            for key in self.graph.of_type("country")
            if self.graph.nodes[key]["attributes"].get("iso_code") not in (None, "GB")
        ]

    def _surface_name(self, key: str, kind: str) -> str:
        """Name a node the way a visitor might: its label or one of its aliases."""
        node = self.graph.nodes[key]
        name = self.random.choice([node["label"], *node.get("aliases", [])])
        # "euros", "dollars"; a name of several words ("Pound sterling") or a mass noun
        # ("sterling") stays as it is.
        is_countable = name[-1:].islower() and " " not in name and not name.endswith("ing")
        if kind == "currency" and is_countable and self.random.random() < 0.5:
            return name + "s"
        if kind in ("country", "currency") or name.split()[0] in self.graph.nodes_of_brand():
            return name
        return name[0].lower() + name[1:] if not name[:2].isupper() else name

    def _aspect_question(self, intent: str, previous_text: str) -> GeneratedTurn | None:
        aspect = self.random.choice(sorted(ASPECT_QUESTIONS))
        text = self._phrase(ASPECT_QUESTIONS[aspect])
        if aspect != "cost":
            return GeneratedTurn(
                text, "same_topic_question", {"topics": [intent], "aspect": aspect}
            )
        topics, fees = [intent], self._fees_of(intent)
        if not fees:
            # A related topic on the same subject that is about its fee ("top up by card" ->
            # "the fee for topping up by card").
            subjects = set(self._subjects(intent))
            for related in self.graph.related_intents(intent):
                if subjects & set(self._subjects(related)) and self._fees_of(related):
                    topics.append(related)
                    fees += self._fees_of(related)
        if not fees:
            return None
        return GeneratedTurn(
            text,
            "same_topic_question",
            {"topics": topics, "nodes": sorted(set(fees)), "aspect": aspect},
        )

    def _fees_of(self, intent: str) -> list[str]:
        """Return the fees a topic concerns, directly or through what it concerns."""
        fees = []
        for key in self.graph.concerns(intent):
            if self.graph.nodes[key]["type"] == "fee":
                fees.append(key)
            fees += self.graph.targets(key, "has_fee")
        return fees

    def _subjects(self, intent: str) -> list[str]:
        return [
            k
            for k in self.graph.concerns(intent)
            if self.graph.nodes[k]["type"] in ("process", "product")
        ]

    def _return_to(self, asked: list[str]) -> GeneratedTurn | None:
        """Go back to the first topic by something only it concerns, if the talk moved on."""
        if len(asked) < 2:
            return None
        first, later = asked[0], asked[1:]
        taken = {key for intent in later for key in self.graph.concerns(intent)}
        references = [
            key
            for key in self.graph.concerns(first)
            if key not in taken
            and self.graph.nodes[key]["type"] in ("process", "product", "fee", "limit")
        ]
        if not references:
            return None
        node = self.graph.nodes[self.random.choice(references)]
        reference = self._reference_to(node)
        text = self.random.choice(RETURN_OPENERS).format(reference=reference)
        return GeneratedTurn(text, "return_to_earlier", {"topics": [first]})

    def _reference_to(self, node: dict) -> str:
        """Name a node in a sentence: "the virtual card", "opening an account"."""
        label, brand = node["label"], self.graph.nodes_of_brand()
        if label.split()[0] not in brand:
            label = label[0].lower() + label[1:] if not label[:2].isupper() else label
        return label if node["type"] == "process" else "the " + label


def all_phrasings() -> list[str]:
    """Return every fixed phrasing the generator says, for the overlap check."""
    groups = (
        GREETINGS,
        THANKS,
        GOODBYES,
        BOT_CHALLENGES,
        CHITCHAT,
        PERSON_REQUESTS,
        CONFIRMATIONS,
        CANCELS,
    )
    texts = [text for group in groups for text in group]
    texts += [text for group in ASPECT_QUESTIONS.values() for text in group]
    return texts


def phrasings_overlap(training_texts: list[str]) -> list[str]:
    """Return the generator's phrasings that are, normalised, also training examples."""

    def normal(text: str) -> str:
        return " ".join(re.findall(r"[a-z0-9']+", text.lower()))

    trained = {normal(text) for text in training_texts}
    return sorted(text for text in all_phrasings() if normal(text) in trained)

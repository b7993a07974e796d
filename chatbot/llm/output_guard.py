"""Judge a model's output as if the model were compromised: what may the visitor see of it?

Plain Python. The prompt's rules ask a model to behave; nothing makes it. A model talked round
by a visitor, or by text planted in the knowledge graph, may say anything, so its output is
checked here before a word of it is shown, and whatever fails is replaced by the template
answer (`chatbot.llm.answering`). It fails when it:

- holds the prompt's canary (`canary`), or repeats the rules or the prompt's tags
  (`prompt_leak`): the model was talked into revealing its prompt;
- holds a link, an address or an image the facts and the template answer do not
  (`foreign_link`): a link carries data out, and the words around it are the hijacker's;
- looks like a tool call or an action marker (`tool_call`), or claims an action was taken
  (`claimed_action`: "I have blocked your card"): the model cannot act, and an answer saying
  it did would mislead;
- states a number the facts do not (`unsupported_number`, `chatbot.llm.grounding`), a price of
  nothing ("free", "no fee") included;
- talks about itself, its rules or its instructions (`off_topic`), or is mostly words the
  facts, the template answer and a customer service's usual phrasing never use (`off_topic`):
  a model made to play a part or to say something of its own.

Markdown and HTML that pass are flattened to plain text (`chatbot.llm.markup`). Only what the
visitor would read is judged for numbers and words; the raw output for everything else. While
the output streams, the visitor is shown only whole sentences, each judged on its own (and with
all before it) before a word of it appears.
"""

from __future__ import annotations

import re
from decimal import Decimal

from chatbot.llm.base import AnswerRequest
from chatbot.llm.grounding import (
    EMPTY,
    PROMPT_LEAK,
    UNSUPPORTED_NUMBER,
    GroundingCheck,
    leaks_prompt,
)
from chatbot.llm.markup import (
    complete_sentences,
    has_image,
    links_in,
    normalised_link,
    plain_text,
    sentences,
    settled_prefix,
)
from chatbot.llm.prompts import canary

CANARY = "canary"
FOREIGN_LINK = "foreign_link"
TOOL_CALL = "tool_call"
CLAIMED_ACTION = "claimed_action"
OFF_TOPIC = "off_topic"

# A run of the canary this long, letters only, is a leak; a shorter one may be chance.
_CANARY_RUN = 10
# While the output streams, the canary is sought in this many characters at its end.
_CANARY_TAIL = 400
_TOOL_CALL = re.compile(
    r"\b(?:actions?|tools?|functions?|tool_calls?|function_calls?|commands?)\s*[:=]"
    r"|[{,]\s*\"(?:name|tool|tools|function|action|arguments|parameters|tool_calls?)\"\s*:"
    r"|</?\s*(?:tool_call|tool_use|function_call|function|tool|invoke|action)\b"
    r"|\[\s*/?(?:handoff|hand[ _-]?off|escalate|transfer|action|tool|tool_calls?|call|block)\b"
    r"|\b[a-z]+(?:_[a-z]+)+\s*\(",
    re.IGNORECASE,
)
_CLAIMED_ACTION = re.compile(
    r"\b(?:i|we)(?:'ve| have| just| already)*\s+(?:now\s+)?(?:blocked|frozen|froze|cancell?ed|"
    r"transferred|refunded|closed|unblocked|escalated|deleted|reset|changed|updated|raised|"
    r"reported|ordered|sent|handed|passed|forwarded|opened|disabled|enabled|activated|"
    r"deactivated|locked|unlocked|taken care)\b"
    r"|\b(?:has|have) been (?:successfully )?(?:blocked|frozen|cancell?ed|transferred|refunded|"
    r"closed|unblocked|escalated|deleted|reset|locked|unlocked|disabled|activated|deactivated)\b"
    r"|\b(?:is|are) now (?:blocked|frozen|cancell?ed|closed|unblocked|locked|unlocked|disabled|"
    r"active|activated|deactivated)\b",
    re.IGNORECASE,
)
# A price of nothing is a number too: "free" says 0 as surely as "£0" does.
_NOTHING_TO_PAY = re.compile(
    r"\b(?:free|for nothing|no (?:fee|charge|cost)s?|at no (?:extra )?(?:cost|charge)|"
    r"without (?:a |any )?(?:fee|charge|cost)|complimentary|gratis|gratuit\w*|kostenlos\w*|"
    r"gebührenfrei|gratuito|gratuita|gratuitos|gratuitas|darmow\w*|bezpłatn\w*)\b",
    re.IGNORECASE,
)
# Words about the model itself, which no answer about the company needs.
_ABOUT_ITSELF = re.compile(
    r"\b(?:rules?|instructions?|guidelines?|prompts?|system message|jailbreak\w*|"
    r"unrestricted|unfiltered|uncensored|developer mode|DAN|persona|restrictions?|"
    r"language model|AI model|as an AI|règles|consignes|Regeln|Anweisungen|reglas|"
    r"instrucciones|regole|istruzioni|regels|instructies|regras|instruções|zasady|"
    r"instrukcje)\b",
    re.IGNORECASE,
)
_SNAKE_CASE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b", re.IGNORECASE)
_LETTERS = re.compile(r"[^\W\d_]{3,}")
# Beyond this share of its words from outside the facts, an answer is the model's own.
_OFF_TOPIC_SHARE = 0.4
# ... and of at least this many such words (one word, "Good news!", is a manner of speaking).
_FOREIGN_WORDS = 2
# Two forms of one word differ by at most this many letters after their first five.
_ENDING_LETTERS = 2
_STOP_WORDS_TEXT = """the and for are but not you your yours our ours its his her hers their
    they them this that these those with from into onto about than then there here what which
    who whom whose when where why how all any each both few more most other some such only own
    same too very can will just was were been being have has had having does did doing would
    could should may might must shall also yet still nor off out over under again once him she
    himself herself itself themselves yourself yourselves myself ourselves let lets it's i'm
    i've don't can't won't isn't aren't doesn't didn't that's there's you're you'll you've
    we're we'll one get got"""
_STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())
# The phrasing of a customer service that no fact needs: greetings, apologies, offers of help.
_SERVICE_WORDS_TEXT = """hello hi hey thanks thank welcome please sorry apologise apologize
    unfortunately afraid happy glad help helping assist assistance sure certainly course okay
    yes information informations details know question questions answer ask asking asked
    contact connect connecting touch human agent agents colleague colleagues team person
    someone speak talk chat transfer put like want need anything else today able unable
    currently right now moment usually typically normally simply just need needs note
    noted see understand mean hope great good kind regards customer service support available
    find found check look looking let tell told say said give provide share
    cost costs take takes make made via using use per each every within around about least
    working days day hours business next new time soon way sent send receive received
    done ready possible again also"""


class OutputGuard:
    """Judge and flatten one request's model output, as it streams and once it is complete."""

    def __init__(self, request: AnswerRequest) -> None:
        self.grounding = GroundingCheck(request)
        allowed = " \n ".join([*request.facts, request.template_answer])
        self.allowed_text = allowed.lower()
        self.allowed_links = {normalised_link(link) for link in links_in(allowed)}
        self.allowed_identifiers = {name.lower() for name in _SNAKE_CASE.findall(allowed)}
        self.allowed_words = _Vocabulary([*_words(allowed), *_SERVICE_WORDS_TEXT.split()])
        self._judged = ""  # the settled text `problem_so_far` last found nothing in
        self.canary_runs = _runs(canary(), _CANARY_RUN) | _runs(canary()[::-1], _CANARY_RUN)

    def visible(self, output: str) -> str:
        """Return what the visitor reads of a complete output: its plain text."""
        return plain_text(output)

    def visible_so_far(self, output: str) -> str:
        """Return what the visitor may read of a growing output: the plain text of its settled
        complete sentences, each of which `problem_so_far` has judged whole."""
        return complete_sentences(plain_text(settled_prefix(output)))

    def problem(self, output: str) -> str | None:
        """Return why a complete output may not be shown, or None when it may."""
        text = self.visible(output)
        problem = self._problem_in(output, text)
        if problem is not None:
            return problem
        if not text.strip():
            return EMPTY
        problem = self.grounding.problem(text)
        if problem is not None:
            return problem
        if self._states_nothing_to_pay(text):
            return UNSUPPORTED_NUMBER
        if self.is_off_topic(text):
            return OFF_TOPIC
        return None

    def problem_so_far(self, output: str) -> str | None:
        """Return why a growing output can already not stand, or None while it still may."""
        # Earlier text was searched on earlier pieces: the tail holds whatever is new.
        if self._holds_canary(output[-_CANARY_TAIL:]):
            return CANARY
        settled = settled_prefix(output)
        if settled == self._judged:
            return None  # nothing new to judge until a word or a bracket is complete
        self._judged = settled
        text = plain_text(settled)
        problem = self._problem_in(settled, text)
        if problem is not None:
            return problem
        if self._states_nothing_to_pay(text):
            return UNSUPPORTED_NUMBER
        if self.is_off_topic(complete_sentences(text)):
            return OFF_TOPIC
        return None

    def is_off_topic(self, text: str) -> bool:
        """Return whether the text talks about the model, or too many of its words come from
        neither the facts nor a customer service's phrasing."""
        if self._is_new(_ABOUT_ITSELF, text):
            return True
        return any(self._is_foreign(part) for part in [text, *sentences(text)])

    def _is_foreign(self, text: str) -> bool:
        words = [word for word in _words(text) if word not in _STOP_WORDS]
        foreign = [word for word in words if word not in self.allowed_words]
        return len(foreign) >= _FOREIGN_WORDS and len(foreign) / len(words) > _OFF_TOPIC_SHARE

    def _problem_in(self, raw: str, text: str) -> str | None:
        if self._holds_canary(raw):
            return CANARY
        # Both: markup can hide an address or a name ("_evil.com/x_") that flattening reveals.
        if has_image(raw) or self._foreign_links(raw) or self._foreign_links(text):
            return FOREIGN_LINK
        if leaks_prompt(raw) or leaks_prompt(text):
            return PROMPT_LEAK
        if self._calls_a_tool(raw) or self._calls_a_tool(text):
            return TOOL_CALL
        if self._is_new(_CLAIMED_ACTION, text):
            return CLAIMED_ACTION
        if self.grounding.unsupported_digits(text):
            return UNSUPPORTED_NUMBER
        return None

    def _states_nothing_to_pay(self, text: str) -> bool:
        return Decimal(0) not in self.grounding.allowed_numbers and self._is_new(
            _NOTHING_TO_PAY, text
        )

    def _is_new(self, pattern: re.Pattern, text: str) -> bool:
        """Return whether the text matches a pattern that neither facts nor template do."""
        return any(
            not re.search(rf"\b{re.escape(match.group().lower())}\b", self.allowed_text)
            for match in pattern.finditer(text)
        )

    def _holds_canary(self, output: str) -> bool:
        letters = re.sub(r"[^a-z]", "", output.lower())
        return any(run in letters for run in self.canary_runs)

    def _foreign_links(self, output: str) -> list[str]:
        return [
            link for link in links_in(output) if normalised_link(link) not in self.allowed_links
        ]

    def _calls_a_tool(self, output: str) -> bool:
        if _TOOL_CALL.search(output):
            return True
        names = {name.lower() for name in _SNAKE_CASE.findall(output)}
        return bool(names - self.allowed_identifiers)


def _words(text: str) -> list[str]:
    return [word.lower() for word in _LETTERS.findall(text)]


class _Vocabulary:
    """Words, and the forms of them that differ only in their ending: "cards" is "card",
    "delivered" is "delivery", "arriving" is "arrives"; "everyone" is not "every"."""

    def __init__(self, words: list[str]) -> None:
        self.lengths: dict[str, set[int]] = {}
        for word in words:
            word = word.rstrip("s")
            self.lengths.setdefault(word[:5], set()).add(len(word))

    def __contains__(self, word: str) -> bool:
        word = word.rstrip("s")
        lengths = self.lengths.get(word[:5], ())
        return any(abs(len(word) - length) <= _ENDING_LETTERS for length in lengths)


def _runs(text: str, length: int) -> set[str]:
    return {text[start : start + length] for start in range(len(text) - length + 1)}

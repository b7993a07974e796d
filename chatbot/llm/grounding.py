"""Check a model's answer against what the request allows it to say.

Plain Python. Every number in the answer (digits, amounts, percentages, number words) must
appear among the facts or in the template answer, compared by value: "1,000" is 1000, "£4.99"
is 4.99, "five" is 5. An empty answer fails, and so does one that repeats the prompt's rules or
the other words of its system message.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from chatbot.llm.base import AnswerRequest
from chatbot.llm.prompts import CANARY_LINE, REFERENCE_HEADING, RULES, SUMMARY_TAG, VISITOR_TAG

EMPTY = "empty"
UNSUPPORTED_NUMBER = "unsupported_number"
PROMPT_LEAK = "prompt_leak"

# Digits not glued to a letter before them (fact labels such as F2 are not numbers), with
# thousands separators and decimals.
_DIGITS = re.compile(r"(?<![A-Za-z_\d])\d+(?:,\d{3})*(?:\.\d+)?")
_WORD = re.compile(r"[a-z]+")
_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_NUMBER_WORDS = {*_UNITS, "hundred", *_SCALES}
# Word runs this long shared with the rules are a leak; shorter ones ("a human agent") are not.
_LEAK_WORDS = 8
_LEAK_MARKERS = (VISITOR_TAG, SUMMARY_TAG, "visitor message>", "visitor message›")


class GroundingCheck:
    """The numbers and phrases one request allows, computed once for a whole stream."""

    def __init__(self, request: AnswerRequest) -> None:
        self.allowed_numbers = numbers_in(" \n ".join([*request.facts, request.template_answer]))

    def problem(self, answer: str) -> str | None:
        """Return why a complete answer may not be shown, or None when it is grounded."""
        if not answer.strip():
            return EMPTY
        if leaks_prompt(answer):
            return PROMPT_LEAK
        if self.unsupported_numbers(answer):
            return UNSUPPORTED_NUMBER
        return None

    def unsupported_numbers(self, text: str) -> set[Decimal]:
        """Return the numbers in the text that neither the facts nor the template state."""
        return numbers_in(text) - self.allowed_numbers

    def unsupported_digits(self, text: str) -> set[Decimal]:
        """Return the numbers written in digits that neither the facts nor the template state."""
        return _digit_numbers(text) - self.allowed_numbers


def is_grounded(answer: str, request: AnswerRequest) -> bool:
    """Return whether an answer states only numbers from the request and keeps the rules."""
    return GroundingCheck(request).problem(answer) is None


def numbers_in(text: str) -> set[Decimal]:
    """Return the values of the numbers written in a text, in digits or in words."""
    return _digit_numbers(text) | _word_numbers(text)


def leaks_prompt(answer: str) -> bool:
    """Return whether an answer repeats the prompt's rules or its delimiters."""
    lowered = answer.lower()
    if any(marker in lowered for marker in _LEAK_MARKERS):
        return True
    return bool(_word_runs(lowered) & _RULE_RUNS)


def _digit_numbers(text: str) -> set[Decimal]:
    values = set()
    for match in _DIGITS.finditer(text):
        try:
            values.add(Decimal(match.group().replace(",", "")))
        except InvalidOperation:
            continue
    return values


def _word_numbers(text: str) -> set[Decimal]:
    values = set()
    for run in _number_word_runs(_WORD.findall(text.lower())):
        if run != ["one"]:  # "the one I ordered", "one of our cards": rarely a quantity
            values.add(Decimal(_value_of_words(run)))
    return values


def _number_word_runs(words: list[str]) -> list[list[str]]:
    runs: list[list[str]] = []
    current: list[str] = []
    for index, word in enumerate(words):
        is_joining_and = (
            word == "and"
            and current
            and index + 1 < len(words)
            and words[index + 1] in _NUMBER_WORDS
        )
        if word in _NUMBER_WORDS or is_joining_and:
            current.append(word)
        elif current:
            runs.append(current)
            current = []
    return runs + [current] if current else runs


def _value_of_words(words: list[str]) -> int:
    total, current = 0, 0
    for word in words:
        if word in _UNITS:
            current += _UNITS[word]
        elif word == "hundred":
            current = max(current, 1) * 100
        elif word in _SCALES:
            total += max(current, 1) * _SCALES[word]
            current = 0
    return total + current


def _word_runs(text: str) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + _LEAK_WORDS]) for i in range(len(words) - _LEAK_WORDS + 1)}


_RULE_RUNS = (
    _word_runs(RULES.format(language=""))
    | _word_runs(CANARY_LINE.format(canary=""))
    | _word_runs(REFERENCE_HEADING)
)

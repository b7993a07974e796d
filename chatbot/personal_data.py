"""Find the personal data customers type into a chat, and mask it. Plain Python, no Django.

What is found (docs/personal-data.md): card numbers (Luhn), IBANs (mod 97), UK sort codes and
account numbers, email addresses, phone numbers, dates of birth (only where the text says it is
one), UK postcodes and National Insurance numbers. Numbers carry their checksums so that an
order number or an amount is not taken for a card; words that only say what a number is (a sort
code, a date of birth) are looked for where a number alone would be ambiguous.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

CARD_NUMBER = "card_number"
IBAN = "iban"
SORT_CODE = "sort_code"
ACCOUNT_NUMBER = "account_number"
EMAIL = "email"
PHONE_NUMBER = "phone_number"
DATE_OF_BIRTH = "date_of_birth"
POSTCODE = "postcode"
NATIONAL_INSURANCE_NUMBER = "national_insurance_number"

# Every kind, in the order a message's notice names them.
KINDS = (
    CARD_NUMBER,
    IBAN,
    SORT_CODE,
    ACCOUNT_NUMBER,
    NATIONAL_INSURANCE_NUMBER,
    DATE_OF_BIRTH,
    EMAIL,
    PHONE_NUMBER,
    POSTCODE,
)
# What the bank itself writes to customers (its helpline, its branch's address) is not masked in
# an agent's or another system's message; a customer's financial identifiers always are.
FINANCIAL_KINDS = frozenset(
    {CARD_NUMBER, IBAN, SORT_CODE, ACCOUNT_NUMBER, NATIONAL_INSURANCE_NUMBER, DATE_OF_BIRTH}
)
PLACEHOLDERS = {
    IBAN: "[IBAN]",
    SORT_CODE: "[sort code]",
    ACCOUNT_NUMBER: "[account number]",
    EMAIL: "[email]",
    PHONE_NUMBER: "[phone number]",
    DATE_OF_BIRTH: "[date of birth]",
    POSTCODE: "[postcode]",
    NATIONAL_INSURANCE_NUMBER: "[National Insurance number]",
}
# What a visitor's notice calls each kind.
DESCRIPTIONS = {
    CARD_NUMBER: "card number",
    IBAN: "IBAN",
    SORT_CODE: "sort code",
    ACCOUNT_NUMBER: "account number",
    EMAIL: "email address",
    PHONE_NUMBER: "phone number",
    DATE_OF_BIRTH: "date of birth",
    POSTCODE: "postcode",
    NATIONAL_INSURANCE_NUMBER: "National Insurance number",
}


@dataclass(frozen=True)
class Span:
    """Personal data of one kind at text[start:end]."""

    kind: str
    start: int
    end: int


def find(text: str, kinds: Iterable[str] = KINDS) -> list[Span]:
    """Return the personal data in the text, in reading order, none overlapping another."""
    wanted = set(kinds)
    found: list[Span] = []
    # The finders go from the most to the least certain: a span a checksum confirmed is kept
    # over a looser one that overlaps it.
    for finder_kinds, finder in _FINDERS:
        if not wanted & finder_kinds:
            continue
        for span in finder(text):
            if span.kind in wanted and not any(_overlaps(span, kept) for kept in found):
                found.append(span)
    return sorted(found, key=lambda span: span.start)


def mask(text: str, kinds: Iterable[str] = KINDS) -> tuple[str, list[str]]:
    """Return the text with each piece of personal data replaced by a placeholder, and the
    kinds replaced (each once, in the order of KINDS)."""
    spans = find(text, kinds)
    if not spans:
        return text, []
    parts, position = [], 0
    for span in spans:
        parts.append(text[position : span.start])
        parts.append(placeholder(span.kind, text[span.start : span.end]))
        position = span.end
    parts.append(text[position:])
    found = {span.kind for span in spans}
    return "".join(parts), [kind for kind in KINDS if kind in found]


def placeholder(kind: str, written: str) -> str:
    """Return what replaces the data; a card keeps its last four digits, as on a receipt."""
    if kind == CARD_NUMBER:
        # Card schemes allow the last four to be shown; customers and agents (and the block
        # card flow) tell cards apart by them.
        return f"[card number ending {_digits(written)[-4:]}]"
    return PLACEHOLDERS[kind]


def notice(kinds: Iterable[str]) -> str:
    """Return the sentence a visitor reads when their message was masked."""
    names = [DESCRIPTIONS[kind] for kind in kinds]
    if not names:
        return ""
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"We hid your {listed}: never share it in chat."


def _overlaps(first: Span, second: Span) -> bool:
    return first.start < second.end and second.start < first.end


def _digits(written: str) -> str:
    return re.sub(r"\D", "", written)


# Cards -----------------------------------------------------------------------------------------

# Digit groups joined by single spaces or dashes, not glued to a word, a decimal or a "+".
_DIGIT_RUN = re.compile(r"(?<![\w+.,/])\d+(?:[ -]\d+)*(?![\w/]|[.,]\d)")
_DIGIT_GROUP = re.compile(r"\d+")
CARD_LENGTHS = range(13, 20)
# Bank cards' first digit (ISO/IEC 7812: 2 Mastercard, 3 Amex/JCB/Diners, 4 Visa, 5 Mastercard
# and Maestro, 6 Discover, Maestro, UnionPay); order numbers and phone numbers start otherwise.
CARD_FIRST_DIGITS = frozenset("23456")


def is_luhn_valid(digits: str) -> bool:
    """Return whether the digits pass the Luhn checksum every card number carries."""
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def is_card_number(digits: str) -> bool:
    """Return whether a string of digits can be a bank card's number."""
    return len(digits) in CARD_LENGTHS and digits[0] in CARD_FIRST_DIGITS and is_luhn_valid(digits)


def find_card_numbers(text: str) -> Iterator[Span]:
    """Yield card numbers however they are grouped: whole groups at the start of a run of digit
    groups (a card may be followed by its security code, or by another card)."""
    for run in _DIGIT_RUN.finditer(text):
        groups = list(_DIGIT_GROUP.finditer(run.group()))
        first = 0
        while first < len(groups):
            end = _card_ending_at(groups, first)
            if end is None:
                # Only a run's start: a card inside a longer reference is far less likely than
                # a Luhn-valid stretch of a number that is not a card (1 in 10 are).
                break
            yield Span(CARD_NUMBER, run.start() + groups[first].start(), run.start() + end)
            first = next(i for i, group in enumerate(groups) if group.end() >= end) + 1


def _card_ending_at(groups: list[re.Match], first: int) -> int | None:
    """Return where the longest card number that starts at this group ends, or None."""
    digits, best = "", None
    for group in groups[first:]:
        digits += group.group()
        if len(digits) > max(CARD_LENGTHS):
            break
        if is_card_number(digits):
            best = group.end()
    return best


# IBANs -----------------------------------------------------------------------------------------

# Each country's IBAN length (the IBAN registry): the length and the checksum together leave
# little room for a reference number that looks like one.
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])(?P<country>[A-Za-z]{2})\d{2}")


@lru_cache(maxsize=64)
def _iban_body(characters: int) -> re.Pattern:
    """Match the rest of an IBAN of this many characters, spaces or dashes between them."""
    return re.compile(rf"(?:[ -]?[A-Za-z0-9]){{{characters}}}(?![A-Za-z0-9])")


def is_iban_valid(iban: str) -> bool:
    """Return whether an IBAN (no spaces) has its country's length and a valid checksum."""
    iban = iban.upper()
    if IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban.isalnum():
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(character, 36)) for character in rearranged)) % 97 == 1


def find_ibans(text: str) -> Iterator[Span]:
    """Yield IBANs, grouped in fours or not, in capitals or not."""
    for start in _IBAN_START.finditer(text):
        length = IBAN_LENGTHS.get(start["country"].upper())
        if length is None:
            continue
        body = _iban_body(length - 4).match(text, start.end())
        if body and is_iban_valid(re.sub(r"[ -]", "", text[start.start() : body.end()])):
            yield Span(IBAN, start.start(), body.end())


# Sort codes and account numbers ----------------------------------------------------------------

SORT_CODE_CUE = r"(?:sort[\s-]?codes?|s/c)"
ACCOUNT_CUE = r"(?:(?:bank\s+)?(?:account|acc(?:t|ount)?\.?|a/c)(?:\s+(?:number|no\.?|num|#))?)"
# What may stand between a cue and its number: a few words, no digits, no sentence's end.
_FILLER = r"[^\d.!?\n]{0,30}?"
_SORT_CODE = r"\d{2}(?P<sep>[ -]?)\d{2}(?P=sep)\d{2}"
_ACCOUNT = r"\d{8}"
_NUMBER_END = r"(?![\d,.]?\d)"
_NUMBER_START = r"(?<![\d£$€.,])"
SORT_CODE_AFTER_CUE = re.compile(
    rf"(?<!\w){SORT_CODE_CUE}{_FILLER}{_NUMBER_START}(?P<number>{_SORT_CODE}){_NUMBER_END}",
    re.IGNORECASE,
)
ACCOUNT_AFTER_CUE = re.compile(
    rf"(?<!\w){ACCOUNT_CUE}{_FILLER}{_NUMBER_START}(?P<number>{_ACCOUNT}){_NUMBER_END}",
    re.IGNORECASE,
)
# A sort code then an account number, "20-00-00 12345678" or "200000, 12345678".
SORT_CODE_AND_ACCOUNT = re.compile(
    rf"{_NUMBER_START}(?P<sort>{_SORT_CODE})"
    rf"(?:\s*[,;/]?\s*(?:and\s+)?(?:{ACCOUNT_CUE})?\s*[:#-]?\s*)"
    rf"(?P<account>{_ACCOUNT}){_NUMBER_END}",
    re.IGNORECASE,
)
BANK_DETAILS_CUE = re.compile(
    rf"(?<!\w)(?:{SORT_CODE_CUE}|{ACCOUNT_CUE}|bank\s+details)(?!\w)", re.IGNORECASE
)


def find_bank_accounts(text: str) -> Iterator[Span]:
    """Yield sort codes and account numbers that words (or a dashed sort code) vouch for."""
    has_cue = BANK_DETAILS_CUE.search(text) is not None
    for match in SORT_CODE_AND_ACCOUNT.finditer(text):
        # "20-00-00 12345678" reads as bank details anywhere; "200000 12345678" only where the
        # message speaks of them.
        if has_cue or match["sep"] == "-":
            yield Span(SORT_CODE, *match.span("sort"))
            yield Span(ACCOUNT_NUMBER, *match.span("account"))
    for match in SORT_CODE_AFTER_CUE.finditer(text):
        yield Span(SORT_CODE, *match.span("number"))
    for match in ACCOUNT_AFTER_CUE.finditer(text):
        yield Span(ACCOUNT_NUMBER, *match.span("number"))


# National Insurance numbers --------------------------------------------------------------------

NATIONAL_INSURANCE = re.compile(
    r"(?<![A-Za-z0-9])(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    r"(?P<sep>[ -]?)\d{2}(?P=sep)\d{2}(?P=sep)\d{2}(?P=sep)[A-D](?![A-Za-z0-9])"
)


def find_national_insurance_numbers(text: str) -> Iterator[Span]:
    """Yield UK National Insurance numbers, "QQ 12 34 56 C", written in capitals."""
    for match in NATIONAL_INSURANCE.finditer(text):
        yield Span(NATIONAL_INSURANCE_NUMBER, *match.span())


# Dates of birth --------------------------------------------------------------------------------

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DAY = r"(?:[0-2]?\d|3[01])(?:st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d{2}"
_DATE = (
    rf"(?:{_DAY}(?:\s+of)?\s+{_MONTH}(?:,?\s+{_YEAR})?"
    rf"|{_MONTH}\s+{_DAY}(?:,?\s+{_YEAR})?"
    rf"|\d{{1,2}}[/.-]\d{{1,2}}[/.-](?:{_YEAR}|\d{{2}})"
    rf"|{_YEAR}-\d{{1,2}}-\d{{1,2}})(?![\w/.-]\d|\w)"
)
BIRTH_CUE = (
    r"(?:date\s+of\s+birth|birth\s*date|birthday|d\.?o\.?b\.?|born(?:\s+(?:on|in))?"
    r"|(?:i\s+was|was)\s+born)"
)
DATE_AFTER_BIRTH_CUE = re.compile(
    rf"(?<!\w){BIRTH_CUE}[^\d.!?\n]{{0,20}}?(?<![\w/.-])(?P<date>{_DATE})", re.IGNORECASE
)
DATE_BEFORE_BIRTH_CUE = re.compile(
    rf"(?<![\w/.-])(?P<date>{_DATE})[^\d.!?\n]{{0,12}}?(?:is\s+my\s+|my\s+|\(\s*)"
    rf"(?:date\s+of\s+birth|birth\s*date|birthday|d\.?o\.?b)(?!\w)",
    re.IGNORECASE,
)


def find_dates_of_birth(text: str) -> Iterator[Span]:
    """Yield dates the text says are a birth date; other dates (a transfer's) are left."""
    for pattern in (DATE_AFTER_BIRTH_CUE, DATE_BEFORE_BIRTH_CUE):
        for match in pattern.finditer(text):
            yield Span(DATE_OF_BIRTH, *match.span("date"))


# Email addresses and phone numbers -------------------------------------------------------------

EMAIL_ADDRESS = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)
_PHONE_SEPARATOR = r"[ .-]?"
# "+44 (0)20 7946 0958", "+1 415-555-2671", "0033 1 23 45 67 89": 7 to 15 digits after the
# country code (E.164 allows 15 in all).
INTERNATIONAL_PHONE = re.compile(
    r"(?<![\w+])(?<!\d[ .-])(?:\+|\b00)[1-9]\d{0,2}(?:[ .-]?\(0\))?"
    r"(?:[ .-]?\(?\d+\)?){1,6}(?![\w]|[.,]\d)"
)
# UK numbers written nationally: 0 then 10 digits, "07700 900123", "(020) 7946 0958" (the few
# shorter ones are found where a word says they are a phone's).
UK_PHONE = re.compile(
    r"(?<![\w+.,/£$€])(?<!\d[ .-])\(?0[1-9]\d{1,4}\)?(?:[ .-]?\d+){1,4}(?![\w]|[.,/]\d)"
)
PHONE_CUE = re.compile(
    r"(?<!\w)(?:phone|mobile|tel(?:ephone)?|cell|landline|whats\s?app|call\s+me|text\s+me"
    r"|reach\s+me)(?:\s+(?:number|no\.?|on|at))?[\s:#-]*(?P<number>\+?\(?\d[\d ().-]{5,20}\d)",
    re.IGNORECASE,
)


def find_emails(text: str) -> Iterator[Span]:
    """Yield email addresses."""
    for match in EMAIL_ADDRESS.finditer(text):
        yield Span(EMAIL, *match.span())


def find_phone_numbers(text: str) -> Iterator[Span]:
    """Yield phone numbers: international ones, UK ones, and any a word says is a phone's."""
    for match in INTERNATIONAL_PHONE.finditer(text):
        digits = _digits(match.group())
        if 8 <= len(digits) - (2 if match.group().startswith("00") else 0) <= 15:
            yield Span(PHONE_NUMBER, *match.span())
    for match in UK_PHONE.finditer(text):
        if len(_digits(match.group())) == 11:
            yield Span(PHONE_NUMBER, *match.span())
    for match in PHONE_CUE.finditer(text):
        if 7 <= len(_digits(match["number"])) <= 15:
            yield Span(PHONE_NUMBER, *match.span("number"))


# Postcodes -------------------------------------------------------------------------------------

# The UK's postcode areas: a letter pair that is not one is not a postcode ("TO1 1AA").
POSTCODE_AREAS = frozenset(
    re.findall(
        r"[A-Z]+",
        "AB AL B BA BB BD BF BH BL BN BR BS BT BX CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH "
        "DL DN DT DY E EC EH EN EX FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT "
        "KW KY L LA LD LE LL LN LS LU M ME MK ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG "
        "RH RM S SA SE SG SK SL SM SN SO SP SR SS ST SW SY TA TD TF TN TQ TR TS TW UB W WA WC WD "
        "WF WN WR WS WV YO ZE ",
    )
)
UK_POSTCODE = re.compile(
    r"(?<![A-Za-z0-9])(?P<area>[A-Za-z]{1,2})\d[A-Za-z\d]?\s?\d[ABD-HJLNP-UW-Zabd-hjlnp-uw-z]{2}"
    r"(?![A-Za-z0-9])"
)


def find_postcodes(text: str) -> Iterator[Span]:
    """Yield UK postcodes, "SW1A 1AA", "m1 1ae", "EC1A1BB"."""
    for match in UK_POSTCODE.finditer(text):
        if match["area"].upper() in POSTCODE_AREAS:
            yield Span(POSTCODE, *match.span())


_FINDERS: tuple[tuple[frozenset[str], Callable[[str], Iterable[Span]]], ...] = (
    (frozenset({EMAIL}), find_emails),
    (frozenset({IBAN}), find_ibans),
    # Before cards: "sort code 200000 account 12345678" is 14 digits, Luhn-valid 1 time in 10.
    (frozenset({SORT_CODE, ACCOUNT_NUMBER}), find_bank_accounts),
    (frozenset({CARD_NUMBER}), find_card_numbers),
    (frozenset({NATIONAL_INSURANCE_NUMBER}), find_national_insurance_numbers),
    (frozenset({DATE_OF_BIRTH}), find_dates_of_birth),
    (frozenset({PHONE_NUMBER}), find_phone_numbers),
    (frozenset({POSTCODE}), find_postcodes),
)

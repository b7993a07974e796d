"""Find amounts, dates, card endings, currencies and places in a visitor's message.

Rules and the standard library only, so the web process and the tests use it without a model.
Names the knowledge graph knows come from the `EntityLinker`s a caller passes in; their entities
are merged with what the rules find.
"""

from __future__ import annotations

import bisect
import calendar
import copy
import datetime
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Protocol

from chatbot.personal_data import is_luhn_valid


@dataclass(frozen=True)
class Entity:
    """Something found in a message: what it is, where it is, and what it means."""

    type: str
    text: str
    start: int
    end: int
    value: object
    source: str = "rules"

    def as_dict(self) -> dict:
        """Return the entity as JSON-serialisable data."""
        return {
            "type": self.type,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "value": copy.deepcopy(self.value),
            "source": self.source,
        }


class EntityLinker(Protocol):
    """Finds names of things the bot knows (the knowledge graph's node names and aliases)."""

    name: str

    def link(self, text: str) -> list[Entity]:
        """Return the known names mentioned in the text."""
        ...


def extract_entities(
    text: str,
    today: datetime.date | None = None,
    linkers: Sequence[EntityLinker] = (),
) -> list[Entity]:
    """Return the entities in a message, sorted by position, overlaps resolved.

    Args:
        text: the visitor's message.
        today: the date relative dates are resolved against; the system's date when omitted.
        linkers: finders of knowledge-graph names; their entities get the linker's name as source.

    Returns:
        Entities in reading order, none overlapping another: of overlapping ones the longest is
        kept, and on a tie the rules' entity is kept over a linked one.
    """
    candidates = find_rule_entities(text, today or datetime.date.today())
    for linker in linkers:
        candidates += [replace(entity, source=linker.name) for entity in linker.link(text)]
    return resolve_overlaps(candidates)


def mask_card_numbers(text: str) -> str:
    """Return the text with every card number replaced by its last four digits, "•••• 1234"."""
    return CARD_NUMBER.sub(
        lambda match: masked(match.group()) if is_card_number(match.group()) else match.group(),
        text,
    )


def find_rule_entities(text: str, today: datetime.date) -> list[Entity]:
    """Return everything the rules find, overlapping candidates included."""
    return [
        *find_amounts(text),
        *find_currencies(text),
        *find_card_endings(text),
        *find_dates(text, today),
        *find_places(text),
    ]


def resolve_overlaps(candidates: Iterable[Entity]) -> list[Entity]:
    """Keep the longest of overlapping entities, the rules' first on a tie, in reading order."""
    kept: list[Entity] = []  # in reading order, so only the two neighbours can overlap
    starts: list[int] = []
    for candidate in sorted(candidates, key=precedence):
        index = bisect.bisect_right(starts, candidate.start)
        neighbours = kept[max(index - 1, 0) : index + 1]
        if not any(overlaps(candidate, entity) for entity in neighbours):
            kept.insert(index, candidate)
            starts.insert(index, candidate.start)
    return kept


def precedence(entity: Entity) -> tuple[int, bool, int]:
    """Return the sort key that puts the entity to keep first."""
    return (entity.start - entity.end, entity.source != "rules", entity.start)


def overlaps(first: Entity, second: Entity) -> bool:
    """Return whether two entities share at least one character."""
    return first.start < second.end and second.start < first.end


def entity_at(match: re.Match, type_: str, value: object, group: int | str = 0) -> Entity:
    """Return an entity spanning a match, or one of its groups."""
    return Entity(type_, match.group(group), match.start(group), match.end(group), value)


def any_of(phrases: Iterable[str]) -> str:
    """Return a pattern matching any of the phrases, longest first, spaces as any whitespace."""
    alternatives = sorted(set(phrases), key=len, reverse=True)
    escaped = (re.escape(phrase).replace(r"\ ", r"\s+") for phrase in alternatives)
    return "(?:" + "|".join(escaped) + ")"


def whole_words(phrases: Iterable[str]) -> str:
    """Return a pattern matching any of the phrases as whole words."""
    return rf"(?<!\w){any_of(phrases)}(?!\w)"


def normalised(phrase: str) -> str:
    """Return a phrase lowercased, with single spaces, for looking it up."""
    return " ".join(phrase.lower().split())


# Numbers ---------------------------------------------------------------------------------------

# Grouped forms come first so that "1,250" reads as one thousand two hundred and fifty; a lone
# separator before one or two digits is a decimal mark ("12,50" is continental for 12.50).
DIGIT_NUMBER = (
    r"(?:\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?"
    r"|\d{1,3}(?:\.\d{3})+(?:,\d{1,2})?"
    r"|\d+(?:[.,]\d{1,2})?)"
    r"(?![.,]?\d)"
)
BRITISH_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")
CONTINENTAL_GROUPED = re.compile(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?")

MULTIPLIERS = {
    "k": 1000,
    "thousand": 1000,
    "m": 1_000_000,
    "million": 1_000_000,
    "bn": 1_000_000_000,
    "billion": 1_000_000_000,
}
# "5k" and "£2m" are written attached; "5 thousand" may have a space.
MULTIPLIER = r"(?:\s?(?:thousand|million|billion)|k|m|bn)(?!\w)"


def numbered(words: str, start: int, step: int = 1) -> dict[str, int]:
    """Return the space-separated words numbered from start, by step."""
    return {word: start + index * step for index, word in enumerate(words.split())}


UNIT_WORDS = numbered("one two three four five six seven eight nine", 1)
TEEN_WORDS = numbered(
    "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen", 10
)
TENS_WORDS = numbered("twenty thirty forty fifty sixty seventy eighty ninety", 20, step=10)
NUMBER_WORD_VALUES = {"a": 1, "zero": 0, **UNIT_WORDS, **TEEN_WORDS, **TENS_WORDS}
NUMBER_WORD_KINDS = {
    "a": "a",
    "and": "and",
    "zero": "zero",
    "hundred": "hundred",
    "thousand": "thousand",
    **dict.fromkeys(UNIT_WORDS, "unit"),
    **dict.fromkeys(TEEN_WORDS, "teen"),
    **dict.fromkeys(TENS_WORDS, "tens"),
}
# Which kind of word may follow which: "a" alone is not a number ("a euro account"), "and" only
# joins a hundred or a thousand to what follows, and tens take a unit but not a teen.
NUMBER_WORD_FOLLOWERS = {
    "start": {"a", "zero", "unit", "teen", "tens", "hundred", "thousand"},
    "a": {"hundred", "thousand"},
    "zero": {"end"},
    "unit": {"hundred", "thousand", "end"},
    "teen": {"hundred", "thousand", "end"},
    "tens": {"unit", "hundred", "thousand", "end"},
    "hundred": {"and", "unit", "teen", "tens", "thousand", "end"},
    "thousand": {"and", "unit", "teen", "tens", "end"},
    "and": {"unit", "teen", "tens"},
}
FIRST_NUMBER_WORD = whole_words(set(NUMBER_WORD_KINDS) - {"and"})
NEXT_NUMBER_WORD = whole_words(set(NUMBER_WORD_KINDS) - {"and", "a"})
# Ten words cover "nine hundred and ninety-nine thousand nine hundred and ninety-nine", and the
# cap keeps a message of a thousand "one"s cheap.
WORD_NUMBER = rf"{FIRST_NUMBER_WORD}(?:[\s-]+(?:and[\s-]+)?{NEXT_NUMBER_WORD}){{0,9}}"


def parse_digit_number(written: str) -> Decimal:
    """Return the value of a number written with British or continental separators."""
    if BRITISH_GROUPED.fullmatch(written):
        return Decimal(written.replace(",", ""))
    if CONTINENTAL_GROUPED.fullmatch(written):
        return Decimal(written.replace(".", "").replace(",", "."))
    return Decimal(written.replace(",", "."))


def parse_number_words(words: Sequence[str]) -> int | None:
    """Return the value of lowercase words like "two hundred and fifty", or None."""
    total, group, previous = 0, 0, "start"
    has_hundred = has_thousand = False
    for word in words:
        kind = NUMBER_WORD_KINDS.get(word)
        if kind not in NUMBER_WORD_FOLLOWERS[previous]:
            return None
        if kind == "hundred":
            if has_hundred:
                return None
            group, has_hundred = (group or 1) * 100, True
        elif kind == "thousand":
            if has_thousand:
                return None
            total, group, has_hundred, has_thousand = (group or 1) * 1000, 0, False, True
        elif kind != "and":
            group += NUMBER_WORD_VALUES[word]
        previous = kind
    return total + group if "end" in NUMBER_WORD_FOLLOWERS[previous] else None


def read_number_words(phrase: str) -> tuple[int, int] | None:
    """Return (offset, value) of the longest tail of the phrase that reads as a number."""
    words = list(re.finditer(r"[a-z]+", phrase, re.IGNORECASE))
    for index, word in enumerate(words):
        value = parse_number_words([later.group().lower() for later in words[index:]])
        if value is not None:
            return word.start(), value
    return None


def format_amount(amount: Decimal) -> str:
    """Write an amount as a plain decimal: whole units bare, anything else to the penny."""
    if amount == amount.to_integral_value():
        return str(amount.quantize(Decimal(1)))
    return str(amount.quantize(Decimal("0.01")))


# Currencies and amounts ------------------------------------------------------------------------

# "(s)" stands for an optional plural "s". Each key is also recognised as an ISO 4217 code.
CURRENCY_NAMES = {
    "GBP": ("pound(s)", "pound(s) sterling", "sterling", "british pound(s)", "uk pound(s)", "quid"),
    "EUR": ("euro(s)",),
    "USD": ("dollar(s)", "us dollar(s)", "u.s. dollar(s)", "american dollar(s)", "bucks"),
    "JPY": ("yen", "japanese yen"),
    "CNY": ("yuan", "chinese yuan", "renminbi", "rmb"),
    "CHF": ("franc(s)", "swiss franc(s)"),
    "CAD": ("canadian dollar(s)",),
    "AUD": ("australian dollar(s)", "aussie dollar(s)"),
    "NZD": ("new zealand dollar(s)",),
    "HKD": ("hong kong dollar(s)",),
    "SGD": ("singapore dollar(s)",),
    "TWD": ("taiwan dollar(s)", "new taiwan dollar(s)"),
    "INR": ("rupee(s)", "indian rupee(s)"),
    "PKR": ("pakistani rupee(s)",),
    "SEK": ("swedish krona", "swedish kronor"),
    "NOK": ("norwegian krone", "norwegian kroner"),
    "DKK": ("danish krone", "danish kroner"),
    "ISK": ("icelandic krona", "icelandic kronur"),
    "PLN": ("zloty(s)", "złoty(s)", "polish zloty(s)", "polish złoty(s)"),
    "CZK": ("koruna", "czech koruna", "czech crown(s)"),
    "HUF": ("forint(s)", "hungarian forint(s)"),
    "RON": ("romanian leu", "romanian lei"),
    "TRY": ("lira(s)", "turkish lira(s)"),
    "RUB": ("rouble(s)", "ruble(s)", "russian rouble(s)", "russian ruble(s)"),
    "UAH": ("hryvnia(s)", "ukrainian hryvnia(s)"),
    "ZAR": ("rand", "south african rand"),
    "NGN": ("naira", "nigerian naira"),
    "KES": ("kenyan shilling(s)",),
    "EGP": ("egyptian pound(s)",),
    "AED": ("dirham(s)", "uae dirham(s)", "emirati dirham(s)"),
    "MAD": ("moroccan dirham(s)",),
    "SAR": ("riyal(s)", "saudi riyal(s)"),
    "QAR": ("qatari riyal(s)",),
    "ILS": ("shekel(s)", "israeli shekel(s)", "new shekel(s)"),
    "BRL": ("reais", "brazilian real(s)"),
    "MXN": ("mexican peso(s)",),
    "ARS": ("argentine peso(s)", "argentinian peso(s)"),
    "CLP": ("chilean peso(s)",),
    "COP": ("colombian peso(s)",),
    "PEN": ("peruvian sol", "peruvian soles"),
    "PHP": ("philippine peso(s)",),
    "KRW": ("korean won", "south korean won"),
    "THB": ("baht", "thai baht"),
    "VND": ("vietnamese dong",),
    "IDR": ("rupiah", "indonesian rupiah"),
    "MYR": ("ringgit", "malaysian ringgit"),
}
CURRENCY_CODES = frozenset(CURRENCY_NAMES)
# Codes that are also English words count only in capitals: "try again", "a pen", "rub it".
CODES_THAT_ARE_WORDS = frozenset({"CAD", "COP", "MAD", "PEN", "PHP", "RON", "RUB", "TRY"})
# Symbols are matched exactly as written; "¥" is read as the yen, though China writes it too.
CURRENCY_SYMBOLS = {
    "£": "GBP",
    "€": "EUR",
    "$": "USD",
    "US$": "USD",
    "A$": "AUD",
    "AU$": "AUD",
    "C$": "CAD",
    "CA$": "CAD",
    "NZ$": "NZD",
    "HK$": "HKD",
    "S$": "SGD",
    "R$": "BRL",
    "¥": "JPY",
    "₹": "INR",
    "₽": "RUB",
    "₺": "TRY",
    "₩": "KRW",
    "₦": "NGN",
    "₪": "ILS",
    "₱": "PHP",
    "₴": "UAH",
    "฿": "THB",
    "zł": "PLN",
}


def spelled_out(names: Iterable[str]) -> set[str]:
    """Return each name in its singular and plural forms: "pound(s)" gives "pound", "pounds"."""
    return {form for name in names for form in (name.replace("(s)", ""), name.replace("(s)", "s"))}


CURRENCY_BY_NAME = {
    form: code for code, names in CURRENCY_NAMES.items() for form in spelled_out(names)
}
CURRENCY_WORDS = any_of([*CURRENCY_BY_NAME, *(code.lower() for code in CURRENCY_CODES)])
CURRENCY_WORD = rf"(?<!\w){CURRENCY_WORDS}(?!\w)"
CURRENCY_CODES_ANY = any_of(code.lower() for code in CURRENCY_CODES)
CURRENCY_SYMBOL = (
    "(?-i:" + "|".join(map(re.escape, sorted(CURRENCY_SYMBOLS, key=len, reverse=True))) + ")"
)
# A number that starts here is not the tail of a longer number, a word or a "£20".
SYMBOL_ENDINGS = re.escape("".join(sorted({symbol[-1] for symbol in CURRENCY_SYMBOLS})))
NUMBER_START = rf"(?<![\w.,{SYMBOL_ENDINGS}])"
AMOUNT_NUMBER = rf"(?P<number>{DIGIT_NUMBER})(?P<multiplier>{MULTIPLIER})?"

DIGIT_AMOUNTS = (
    # £20, €1,250.50, $5k, US$20
    re.compile(rf"(?P<symbol>{CURRENCY_SYMBOL})\s?{AMOUNT_NUMBER}", re.IGNORECASE),
    # 1£, 20 €, 1.250,50 €
    re.compile(rf"{NUMBER_START}{AMOUNT_NUMBER}\s?(?P<symbol>{CURRENCY_SYMBOL})", re.IGNORECASE),
    # 20 GBP, 20GBP, 100 dollars, 50 quid, 1.250,50 EUR
    re.compile(rf"{NUMBER_START}{AMOUNT_NUMBER}\s?(?P<word>{CURRENCY_WORDS})(?!\w)", re.IGNORECASE),
    # GBP 20, EUR1.250,50
    re.compile(rf"(?<!\w)(?P<word>{CURRENCY_CODES_ANY})\s?{AMOUNT_NUMBER}", re.IGNORECASE),
)
WORD_AMOUNT = re.compile(rf"(?P<words>{WORD_NUMBER})[\s-]+(?P<word>{CURRENCY_WORD})", re.IGNORECASE)
PENCE_AMOUNT = re.compile(rf"{NUMBER_START}(?P<number>\d+)(?:p|\s?pence)(?!\w)", re.IGNORECASE)
CURRENCY_MENTION = re.compile(rf"{CURRENCY_WORD}|{CURRENCY_SYMBOL}", re.IGNORECASE)


def currency_for(written: str) -> str | None:
    """Return the ISO code of a currency symbol, name or code, or None for a plain word."""
    if written in CURRENCY_SYMBOLS:
        return CURRENCY_SYMBOLS[written]
    code = written.upper()
    if code in CURRENCY_CODES:
        return None if code in CODES_THAT_ARE_WORDS and written != code else code
    return CURRENCY_BY_NAME.get(normalised(written))


def amount(value: Decimal, currency: str) -> dict:
    """Return the normalised value of an amount of money."""
    return {"amount": format_amount(value), "currency": currency}


def find_amounts(text: str) -> list[Entity]:
    """Return the sums of money written in the text, each with its currency."""
    readings = [read_digit_amount(m) for pattern in DIGIT_AMOUNTS for m in pattern.finditer(text)]
    readings += [read_word_amount(match) for match in WORD_AMOUNT.finditer(text)]
    readings += [read_pence(match) for match in PENCE_AMOUNT.finditer(text)]
    return [entity for entity in readings if entity is not None]


def read_digit_amount(match: re.Match) -> Entity | None:
    """Return the amount in a match like "£1,250.50" or "5k euros"."""
    currency = currency_for(match.groupdict().get("symbol") or match["word"])
    if currency is None:
        return None
    multiplier = MULTIPLIERS.get((match["multiplier"] or "").strip().lower(), 1)
    return entity_at(
        match, "amount", amount(parse_digit_number(match["number"]) * multiplier, currency)
    )


def read_word_amount(match: re.Match) -> Entity | None:
    """Return the amount in a match like "twenty pounds" or "a hundred euros"."""
    currency = currency_for(match["word"])
    number = read_number_words(match["words"])
    if currency is None or number is None:
        return None
    offset, value = number
    start = match.start() + offset
    return Entity(
        "amount",
        match.string[start : match.end()],
        start,
        match.end(),
        amount(Decimal(value), currency),
    )


def read_pence(match: re.Match) -> Entity:
    """Return the amount in a match like "50p"."""
    return entity_at(match, "amount", amount(Decimal(match["number"]) / 100, "GBP"))


def find_currencies(text: str) -> list[Entity]:
    """Return currencies named without an amount (inside an amount, the amount is longer)."""
    found = []
    for match in CURRENCY_MENTION.finditer(text):
        code = currency_for(match.group())
        if code is not None:
            found.append(entity_at(match, "currency", code))
    return found


# Cards -----------------------------------------------------------------------------------------

MASK = "••••"
# Separators are allowed between any digits; a "+" before means a phone number, and a number
# that runs on (more digits after a space or dash) is not a card number at all.
CARD_NUMBER = re.compile(r"(?<![\d+])(?<!\d[ -])\d(?:[ -]?\d){12,18}(?![ -]?\d)")
CARD_ENDING_CUE = re.compile(
    r"(?<!\w)(?:"
    r"(?:ending|ends|ended)(?:\s+(?:in|with|on))?"
    r"|last\s+(?:four|4)(?:\s+(?:digits?|numbers?))?"
    r"(?:\s+of\s+(?:my|the)\s+card(?:\s+number)?)?(?:\s+(?:are|is|were))?"
    r"|card(?:\s+(?:number|no\.?|num))?"
    r")\s*[:#-]?\s*(?P<digits>\d{4})(?![ -]?\d)",
    re.IGNORECASE,
)
MASKED_CARD = re.compile(
    r"(?<![\w*•])(?:(?:[*xX•]{4}[ -]?){1,3}|[*•]{1,4}[ -]?)(?P<digits>\d{4})(?![ -]?\d)"
)


def digits_of(written: str) -> str:
    """Return the digits of a number written with spaces or dashes."""
    return re.sub(r"\D", "", written)


def is_card_number(written: str) -> bool:
    """Return whether a run of 13 to 19 digits is a card number rather than any long number."""
    return is_luhn_valid(digits_of(written))


def masked(written: str) -> str:
    """Return a card number as "•••• 1234"."""
    return f"{MASK} {digits_of(written)[-4:]}"


def find_card_endings(text: str) -> list[Entity]:
    """Return the last four digits of the cards the text mentions."""
    found = [
        entity_at(m, "card_last4", m["digits"], "digits") for m in CARD_ENDING_CUE.finditer(text)
    ]
    found += [entity_at(m, "card_last4", m["digits"]) for m in MASKED_CARD.finditer(text)]
    return found + [
        # The text is masked so that a full card number never travels on in an entity.
        Entity("card_last4", masked(m.group()), m.start(), m.end(), digits_of(m.group())[-4:])
        for m in CARD_NUMBER.finditer(text)
        if is_card_number(m.group())
    ]


# Dates -----------------------------------------------------------------------------------------

MONTH_NUMBERS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
WEEKDAY_NUMBERS = {
    name: number
    for number, name in enumerate(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    )
}
RELATIVE_DAYS = {
    "today": 0,
    "tonight": 0,
    "this morning": 0,
    "this afternoon": 0,
    "this evening": 0,
    "earlier today": 0,
    "last night": -1,
    "yesterday": -1,
    "tomorrow": 1,
    "day before yesterday": -2,
    "day after tomorrow": 2,
}
PERIOD_SHIFTS = {"last": -1, "previous": -1, "this": 0, "next": 1, "coming": 1}
# A month name is a date only next to a day number, which keeps "may I" and "march" verbs out.
MONTH = "(?P<month>" + "|".join(sorted(MONTH_NUMBERS, key=len, reverse=True)) + r")(?!\w)"
DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?(?!\w)"
OPTIONAL_YEAR = r"(?:,?\s+(?P<year>\d{4}))?(?!\w)"
COUNT = rf"(?P<count>\d{{1,3}}|(?:a\s+)?couple\s+of|an?|{WORD_NUMBER})"
UNIT = r"(?P<unit>days?|weeks?|months?|years?)"
WHICH = "(?P<which>" + "|".join(PERIOD_SHIFTS) + ")"

DAY_MONTH = re.compile(rf"{NUMBER_START}{DAY}(?:\s+of)?\s+{MONTH}{OPTIONAL_YEAR}", re.IGNORECASE)
MONTH_DAY = re.compile(rf"(?<!\w){MONTH}\s+{DAY}{OPTIONAL_YEAR}", re.IGNORECASE)
NUMERIC_DATE = re.compile(
    r"(?<![\w/.-])(?P<day>\d{1,2})(?P<separator>[/.-])(?P<month>\d{1,2})(?P=separator)"
    r"(?P<year>\d{4}|\d{2})(?!\w)(?![/.-]\d)"
)
ISO_DATE = re.compile(
    r"(?<![\w/.-])(?P<year>\d{4})(?P<separator>[/.-])(?P<month>\d{1,2})(?P=separator)"
    r"(?P<day>\d{1,2})(?!\w)(?![/.-]\d)"
)
RELATIVE_DAY = re.compile(whole_words(RELATIVE_DAYS), re.IGNORECASE)
COUNT_AGO = re.compile(rf"(?<!\w){COUNT}\s+{UNIT}\s+ago(?!\w)", re.IGNORECASE)
COUNT_AHEAD = re.compile(rf"(?<!\w)in\s+{COUNT}\s+{UNIT}(?!\w)", re.IGNORECASE)
PERIOD = re.compile(rf"(?<!\w){WHICH}\s+(?P<unit>week|month|year)(?!\w)", re.IGNORECASE)
WEEKDAY = re.compile(
    rf"(?<!\w)(?:{WHICH}\s+)?(?P<weekday>{'|'.join(WEEKDAY_NUMBERS)})(?!\w)", re.IGNORECASE
)
# Enough to tell "I paid on Friday" from "will it arrive by Friday"; not a grammar.
PAST_TENSE_CUE = re.compile(
    r"(?<!\w)(?:(?:was|were|did|had)(?:n['’]t)?|made|paid|sent|received|got|bought|transferred"
    r"|withdrew|tried|ordered|happened|spent|went|saw|noticed|topped|deposited|requested"
    r"|cancell?ed|lost|ago)(?!\w)",
    re.IGNORECASE,
)

DateResolver = Callable[[re.Match, datetime.date, bool], "datetime.date | None"]


def safe_date(year: int, month: int, day: int) -> datetime.date | None:
    """Return the date, or None when there is no such day ("31 February")."""
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


def add_months(day: datetime.date, months: int) -> datetime.date:
    """Return the same day some months later (or earlier), kept within the month."""
    year, month_index = divmod(day.year * 12 + day.month - 1 + months, 12)
    last_day = calendar.monthrange(year, month_index + 1)[1]
    return datetime.date(year, month_index + 1, min(day.day, last_day))


def nearest_day_of_year(
    month: int, day: int, today: datetime.date, is_past: bool
) -> datetime.date | None:
    """Return the last such day up to today in a past-tense message, else the next from today."""
    # Nine years around today always hold a 29 February.
    dates = [safe_date(year, month, day) for year in range(today.year - 4, today.year + 5)]
    if is_past:
        return max((date for date in dates if date and date <= today), default=None)
    return min((date for date in dates if date and date >= today), default=None)


def resolve_calendar_date(
    match: re.Match, today: datetime.date, is_past: bool
) -> datetime.date | None:
    """Return the date of "3 March 2026" or "March 3rd"; without a year, the tense decides."""
    month, day = MONTH_NUMBERS[match["month"].lower()], int(match["day"])
    if match["year"]:
        return safe_date(int(match["year"]), month, day)
    return nearest_day_of_year(month, day, today, is_past)


def resolve_numeric_date(
    match: re.Match, today: datetime.date, is_past: bool
) -> datetime.date | None:
    """Return the date of "03/04/2026" (day first, as in Britain) or "2026-03-04"."""
    if len(match["year"]) == 2 and match["separator"] == "-":
        return None  # a sort code, "10-01-15", is not the 10th of January 2015
    year = int(match["year"]) + (2000 if len(match["year"]) == 2 else 0)
    return safe_date(year, int(match["month"]), int(match["day"]))


def resolve_relative_day(match: re.Match, today: datetime.date, is_past: bool) -> datetime.date:
    """Return the date of "today", "yesterday" or "the day after tomorrow"."""
    return today + datetime.timedelta(days=RELATIVE_DAYS[normalised(match.group())])


def count_of(written: str) -> int | None:
    """Return the number in "3", "a", "a couple of" or "two"."""
    words = normalised(written)
    if words.isdigit():
        return int(words)
    if words in ("a", "an"):
        return 1
    if "couple" in words:
        return 2
    return parse_number_words(re.split(r"[\s-]+", words))


def shifted(today: datetime.date, count: int, unit: str) -> datetime.date:
    """Return the date some days, weeks, months or years away from today."""
    unit = unit.lower().rstrip("s")
    if unit == "day":
        return today + datetime.timedelta(days=count)
    if unit == "week":
        return today + datetime.timedelta(weeks=count)
    return add_months(today, count * (12 if unit == "year" else 1))


def resolve_count_ago(match: re.Match, today: datetime.date, is_past: bool) -> datetime.date | None:
    """Return the date of "3 days ago" or "two weeks ago"."""
    count = count_of(match["count"])
    return None if count is None else shifted(today, -count, match["unit"])


def resolve_count_ahead(
    match: re.Match, today: datetime.date, is_past: bool
) -> datetime.date | None:
    """Return the date of "in 2 days" or "in a month"."""
    count = count_of(match["count"])
    return None if count is None else shifted(today, count, match["unit"])


def resolve_period(match: re.Match, today: datetime.date, is_past: bool) -> datetime.date:
    """Return the first day of "last week" (a Monday), "next month" or "this year"."""
    shift, unit = PERIOD_SHIFTS[match["which"].lower()], match["unit"].lower()
    if unit == "week":
        return today - datetime.timedelta(days=today.weekday()) + datetime.timedelta(weeks=shift)
    if unit == "month":
        return add_months(today.replace(day=1), shift)
    return datetime.date(today.year + shift, 1, 1)


def resolve_weekday(match: re.Match, today: datetime.date, is_past: bool) -> datetime.date:
    """Return the date of "Friday", "last Monday" or "next Tuesday".

    "last" and "next" never mean today; a bare weekday (or "this ...") is the latest one up to
    today in a past-tense message and otherwise the next one from today.
    """
    weekday, which = WEEKDAY_NUMBERS[match["weekday"].lower()], (match["which"] or "").lower()
    days_back = (today.weekday() - weekday) % 7
    days_ahead = (weekday - today.weekday()) % 7
    if which in ("last", "previous"):
        return today - datetime.timedelta(days=days_back or 7)
    if which == "next":
        return today + datetime.timedelta(days=days_ahead or 7)
    if is_past and which != "coming":
        return today - datetime.timedelta(days=days_back)
    return today + datetime.timedelta(days=days_ahead)


# (pattern, resolver, whether the date is relative to today)
DATE_RULES: tuple[tuple[re.Pattern, DateResolver, bool], ...] = (
    (DAY_MONTH, resolve_calendar_date, False),
    (MONTH_DAY, resolve_calendar_date, False),
    (NUMERIC_DATE, resolve_numeric_date, False),
    (ISO_DATE, resolve_numeric_date, False),
    (RELATIVE_DAY, resolve_relative_day, True),
    (COUNT_AGO, resolve_count_ago, True),
    (COUNT_AHEAD, resolve_count_ahead, True),
    (PERIOD, resolve_period, True),
    (WEEKDAY, resolve_weekday, True),
)


def find_dates(text: str, today: datetime.date) -> list[Entity]:
    """Return the dates the text mentions, resolved against today."""
    is_past = PAST_TENSE_CUE.search(text) is not None
    found = []
    for pattern, resolve, is_relative in DATE_RULES:
        for match in pattern.finditer(text):
            date = resolve(match, today, is_past)
            if date is not None:
                value = {"date": date.isoformat(), "relative": is_relative}
                found.append(entity_at(match, "date", value))
    return found


# Countries and regions -------------------------------------------------------------------------

COUNTRY_NAMES = {
    "GB": (
        "united kingdom",
        "uk",
        "u.k.",
        "great britain",
        "britain",
        "england",
        "scotland",
        "wales",
        "northern ireland",
    ),
    "US": ("united states", "united states of america", "usa", "u.s.a.", "us", "u.s.", "america"),
    "IE": ("ireland", "republic of ireland", "eire"),
    "FR": ("france",),
    "DE": ("germany",),
    "ES": ("spain",),
    "PT": ("portugal",),
    "IT": ("italy",),
    "NL": ("netherlands", "holland"),
    "BE": ("belgium",),
    "LU": ("luxembourg",),
    "AT": ("austria",),
    "CH": ("switzerland",),
    "LI": ("liechtenstein",),
    "MC": ("monaco",),
    "DK": ("denmark",),
    "SE": ("sweden",),
    "NO": ("norway",),
    "FI": ("finland",),
    "IS": ("iceland",),
    "PL": ("poland",),
    "CZ": ("czech republic", "czechia"),
    "SK": ("slovakia",),
    "HU": ("hungary",),
    "RO": ("romania",),
    "BG": ("bulgaria",),
    "GR": ("greece",),
    "HR": ("croatia",),
    "SI": ("slovenia",),
    "EE": ("estonia",),
    "LV": ("latvia",),
    "LT": ("lithuania",),
    "MT": ("malta",),
    "CY": ("cyprus",),
    "RS": ("serbia",),
    "UA": ("ukraine",),
    "RU": ("russia",),
    "TR": ("turkey", "türkiye", "turkiye"),
    "IL": ("israel",),
    "AE": ("united arab emirates", "uae", "u.a.e."),
    "SA": ("saudi arabia",),
    "QA": ("qatar",),
    "EG": ("egypt",),
    "MA": ("morocco",),
    "NG": ("nigeria",),
    "KE": ("kenya",),
    "GH": ("ghana",),
    "ZA": ("south africa",),
    "IN": ("india",),
    "PK": ("pakistan",),
    "BD": ("bangladesh",),
    "LK": ("sri lanka",),
    "CN": ("china",),
    "HK": ("hong kong",),
    "TW": ("taiwan",),
    "JP": ("japan",),
    "KR": ("south korea", "korea"),
    "KP": ("north korea",),
    "SG": ("singapore",),
    "MY": ("malaysia",),
    "TH": ("thailand",),
    "VN": ("vietnam", "viet nam"),
    "ID": ("indonesia",),
    "PH": ("philippines",),
    "AU": ("australia",),
    "NZ": ("new zealand",),
    "CA": ("canada",),
    "MX": ("mexico",),
    "BR": ("brazil",),
    "AR": ("argentina",),
    "CL": ("chile",),
    "CO": ("colombia",),
    "PE": ("peru",),
}
REGION_NAMES = {
    "EU": ("eu", "e.u.", "european union"),
    "EEA": ("eea", "european economic area", "europe"),
}
# Matched so that the country inside them is not: "South America" is not the United States.
NOT_PLACES = ("north america", "south america", "central america", "latin america", "new mexico")
# Names that are also ordinary words count only when capitalised: "a turkey", "the good china".
CAPITALISED_ONLY = frozenset({"turkey", "china"})

PLACE_BY_NAME: dict[str, tuple[str, str] | None] = {
    **{name: ("country", code) for code, names in COUNTRY_NAMES.items() for name in names},
    **{name: ("region", code) for code, names in REGION_NAMES.items() for name in names},
    **dict.fromkeys(NOT_PLACES),
}
PLACE = re.compile(whole_words(PLACE_BY_NAME), re.IGNORECASE)


def is_place_mention(match: re.Match) -> bool:
    """Tell a place's name from an ordinary word spelt the same ("us", "turkey")."""
    written, text = match.group(), match.string
    name = normalised(written)
    if name == "us":
        # A message in capitals says "HELP US"; "the us" is the country in any case.
        after_the = text[max(0, match.start() - 4) : match.start()].lower() == "the "
        return after_the or (written == "US" and not text.isupper())
    return name not in CAPITALISED_ONLY or written[0].isupper()


def find_places(text: str) -> list[Entity]:
    """Return the countries (ISO 3166 alpha-2) and regions the text names."""
    found = []
    for match in PLACE.finditer(text):
        place = PLACE_BY_NAME[normalised(match.group())]
        if place is not None and is_place_mention(match):
            found.append(entity_at(match, *place))
    return found

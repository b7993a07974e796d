"""A labelled corpus of customers' messages with and without personal data, made by a program.

Card numbers and IBANs are generated with valid checksums (and, as negatives, with a checksum
that fails); every other kind is drawn from its formats. Each message comes with the spans a
detector should find, so precision and recall are counted span by span. Used by
`redaction_benchmark.py` and by tests/chatbot/test_personal_data.py.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass

CARD_PREFIXES = (  # (prefix, length)
    ("4", 16),
    ("4", 13),
    ("4", 19),
    ("51", 16),
    ("55", 16),
    ("2221", 16),
    ("2720", 16),
    ("34", 15),
    ("37", 15),
    ("6011", 16),
    ("65", 16),
    ("3528", 16),
    ("36", 14),
    ("62", 19),
)
# (country, BBAN layout): "n" a digit, "a" a capital letter, "c" either.
IBAN_LAYOUTS = {
    "GB": "aaaannnnnnnnnnnnnn",
    "DE": "nnnnnnnnnnnnnnnnnn",
    "FR": "nnnnnnnnnncccccccccccnn",
    "ES": "nnnnnnnnnnnnnnnnnnnn",
    "IT": "annnnnnnnnncccccccccccc",
    "NL": "aaaannnnnnnnnn",
    "IE": "aaaannnnnnnnnnnnnn",
    "BE": "nnnnnnnnnnnn",
    "PL": "nnnnnnnnnnnnnnnnnnnnnnnn",
    "CH": "nnnnncccccccccccc",
    "NO": "nnnnnnnnnnn",
    "MT": "aaaannnnncccccccccccccccccc",
}
POSTCODE_AREAS = ("SW", "EC", "M", "B", "G", "LS", "NW", "E", "W", "CF", "EH", "BT", "OX", "CB")
NI_FIRST = "ABCEGHJKLMNOPRSTWXYZ"
NI_SECOND = "ABCEGHJKLMNPRSTWXYZ"
FIRST_NAMES = ("jane", "tom", "amir", "li", "sofia", "kwame", "olga", "sean", "priya", "marc")
DOMAINS = ("example.com", "example.co.uk", "mail.example.org", "bank-customer.example.net")
MONTHS = ("January", "March", "April", "June", "September", "December", "Feb", "Oct")


@dataclass(frozen=True)
class Sample:
    """A message and the (kind, start, end) spans of personal data in it."""

    text: str
    spans: tuple[tuple[str, int, int], ...]


def luhn_check_digit(partial: str) -> str:
    """Return the digit that makes `partial` + digit pass the Luhn check."""
    total = 0
    for position, digit in enumerate(reversed(partial)):
        value = int(digit) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


def card_number(rng: random.Random, valid: bool = True) -> str:
    """Return a card number's digits, with a valid Luhn check digit or a wrong one."""
    prefix, length = rng.choice(CARD_PREFIXES)
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    check = luhn_check_digit(body)
    if not valid:
        check = str((int(check) + rng.randint(1, 9)) % 10)
    return body + check


def grouped_card(rng: random.Random, digits: str) -> str:
    """Write a card number the ways people do: in fours, in Amex's 4-6-5, or not at all."""
    style = rng.choice(("space", "dash", "none", "space"))
    if style == "none":
        return digits
    separator = " " if style == "space" else "-"
    if len(digits) == 15:
        return separator.join((digits[:4], digits[4:10], digits[10:]))
    return separator.join(digits[i : i + 4] for i in range(0, len(digits), 4))


def iban(rng: random.Random, valid: bool = True) -> str:
    """Return an IBAN without spaces, with valid check digits or wrong ones."""
    country = rng.choice(sorted(IBAN_LAYOUTS))
    pools = {"n": string.digits, "a": string.ascii_uppercase, "c": string.ascii_uppercase + "0123"}
    bban = "".join(rng.choice(pools[kind]) for kind in IBAN_LAYOUTS[country])
    numeric = "".join(str(int(character, 36)) for character in bban + country + "00")
    check = 98 - int(numeric) % 97
    if not valid:
        check = (check + rng.randint(1, 90)) % 97 + 2
    return f"{country}{check:02d}{bban}"


def grouped_iban(rng: random.Random, value: str) -> str:
    """Write an IBAN in groups of four (as printed), or run together, sometimes in lower case."""
    written = value if rng.random() < 0.4 else " ".join(value[i : i + 4] for i in range(0, 99, 4))
    return written.strip().lower() if rng.random() < 0.15 else written.strip()


def sort_code(rng: random.Random) -> tuple[str, str]:
    digits = "".join(rng.choice(string.digits) for _ in range(6))
    separator = rng.choice(("-", " ", "", "-"))
    return digits, separator.join((digits[:2], digits[2:4], digits[4:]))


def account_number(rng: random.Random) -> str:
    return "".join(rng.choice(string.digits) for _ in range(8))


def email(rng: random.Random) -> str:
    name = rng.choice(FIRST_NAMES)
    local = rng.choice((name, f"{name}.{rng.choice(FIRST_NAMES)}", f"{name}{rng.randint(1, 99)}"))
    if rng.random() < 0.2:
        local += "+bank"
    return f"{local}@{rng.choice(DOMAINS)}"


def phone(rng: random.Random) -> str:
    digits = lambda count: "".join(rng.choice(string.digits) for _ in range(count))  # noqa: E731
    return rng.choice(
        (
            f"07{digits(3)} {digits(6)}",
            f"07{digits(9)}",
            f"07{digits(3)}-{digits(3)}-{digits(3)}",
            f"020 {digits(4)} {digits(4)}",
            f"(020) {digits(4)} {digits(4)}",
            f"0161 {digits(3)} {digits(4)}",
            f"+44 7{digits(3)} {digits(6)}",
            f"+44 (0)20 {digits(4)} {digits(4)}",
            f"+447{digits(9)}",
            f"+33 6 {digits(2)} {digits(2)} {digits(2)} {digits(2)}",
            f"+1 415-{digits(3)}-{digits(4)}",
            f"+49 30 {digits(7)}",
            f"0033 1 {digits(2)} {digits(2)} {digits(2)} {digits(2)}",
        )
    )


def birth_date(rng: random.Random) -> str:
    day, year = rng.randint(1, 28), rng.randint(1940, 2006)
    month = rng.randint(1, 12)
    return rng.choice(
        (
            f"{day} {rng.choice(MONTHS)} {year}",
            f"{day:02d}/{month:02d}/{year}",
            f"{year}-{month:02d}-{day:02d}",
            f"{rng.choice(MONTHS)} {day}, {year}",
            f"{day}.{month}.{year}",
        )
    )


def postcode(rng: random.Random) -> str:
    area = rng.choice(POSTCODE_AREAS)
    outward = f"{area}{rng.randint(1, 20)}" if len(area) == 2 or rng.random() < 0.5 else f"{area}1"
    inward = (
        f"{rng.randint(0, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEHJLNPRSTUWZ')}"
    )
    written = f"{outward} {inward}" if rng.random() < 0.8 else f"{outward}{inward}"
    return written.lower() if rng.random() < 0.15 else written


def national_insurance(rng: random.Random) -> str:
    first, second = rng.choice(NI_FIRST), rng.choice(NI_SECOND)
    while first + second in ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ"):
        first, second = rng.choice(NI_FIRST), rng.choice(NI_SECOND)
    pairs = [f"{rng.randint(0, 99):02d}" for _ in range(3)]
    suffix = rng.choice("ABCD")
    if rng.random() < 0.5:
        return f"{first}{second} {' '.join(pairs)} {suffix}"
    return f"{first}{second}{''.join(pairs)}{suffix}"


# Messages: each template's {} slots are filled in order; a slot's kind None is not personal.
POSITIVE_TEMPLATES = (
    ("card_number", "My card number is {}, can you check why it was declined?"),
    ("card_number", "I lost the card {} yesterday"),
    ("card_number", "{} was charged twice"),
    ("card_number", "please block card no. {} asap"),
    ("iban", "Send it to {} please"),
    ("iban", "my IBAN is {} and the transfer never came"),
    ("iban", "Is {} the right account for the refund?"),
    ("email", "you can email me at {}"),
    ("email", "{} is my address, send the statement there"),
    ("phone_number", "call me on {} after 5pm"),
    ("phone_number", "my new mobile is {}"),
    ("phone_number", "Reach me at {} if anything happens"),
    ("date_of_birth", "I was born on {}"),
    ("date_of_birth", "date of birth: {}"),
    ("date_of_birth", "DOB {} and I still can't log in"),
    ("date_of_birth", "{} is my date of birth"),
    ("postcode", "I moved, the new postcode is {}"),
    ("postcode", "my address is 10 High Street, London {}"),
    ("national_insurance_number", "my NI number is {}"),
    ("national_insurance_number", "National Insurance {} for the ISA"),
)
# Written the ways a rule-based detector is likely to miss; kept in the corpus so that recall is
# not only measured on the formats the detector was written for.
HARD_TEMPLATES = (
    ("email", "my email is {}", lambda rng: f"{rng.choice(FIRST_NAMES)} at example dot com"),
    (
        "date_of_birth",
        "date of birth {}",
        lambda rng: f"{rng.randint(10, 28)}0{rng.randint(1, 9)}19{rng.randint(50, 99)}",
    ),
    ("phone_number", "ring {} tonight", lambda rng: f"7700 {rng.randint(100000, 999999)}"),
    (
        "card_number",
        "card {}",
        lambda rng: " ".join(grouped_card(rng, card_number(rng)).replace(" ", "").replace("-", "")),
    ),
)
NEGATIVE_TEXTS = (
    "I was charged £1,234.56 twice on my card",
    "I sent €2.500,00 to my landlord",
    "my transfer on 5 March has not arrived",
    "I made a payment on 12/03/2024 and it is still pending",
    "Why is 2019 still showing in my statement?",
    "The top up of 100 pounds on 2024-01-15 failed",
    "I have been a customer since 2010",
    "It is 10:30 and the app still does not work",
    "reference 12345678 on the transfer",
    "The cash machine kept 40 pounds",
    "I want to know why there is a 0.5% fee",
    "My card ending 1234 is not working",
    "Is there a limit of 5000 per day?",
    "transaction 20240315 was declined",
    "I got a code 123456 by text but it expired",
    "Can I order 3 cards for my family?",
    "the amount was 1.234,50 EUR",
    "my card arrives on 3 June",
    "I need 200 dollars in cash by Friday",
    "How many days does a transfer take? I sent it 3 days ago.",
)


def negative_number_texts(rng: random.Random) -> list[str]:
    """Messages with long numbers that must not be taken for personal data."""
    order = card_number(rng, valid=False)
    return [
        f"My order number is {order}",
        f"Is {grouped_card(rng, card_number(rng, valid=False))} a valid card?",
        f"the payment reference was {iban(rng, valid=False)}",
        f"The IBAN {grouped_iban(rng, iban(rng, valid=False))} came back as invalid",
        f"I paid {rng.randint(10, 9999)} pounds on {rng.randint(1, 28)} {rng.choice(MONTHS)}",
        f"reference {account_number(rng)}",
        f"in {rng.randint(1990, 2025)} I opened it",
    ]


def generate(count: int, seed: int = 15) -> list[Sample]:
    """Return `count` labelled messages: about two in three hold personal data."""
    rng = random.Random(seed)
    makers = {
        "card_number": lambda: grouped_card(rng, card_number(rng)),
        "iban": lambda: grouped_iban(rng, iban(rng)),
        "email": lambda: email(rng),
        "phone_number": lambda: phone(rng),
        "date_of_birth": lambda: birth_date(rng),
        "postcode": lambda: postcode(rng),
        "national_insurance_number": lambda: national_insurance(rng),
    }
    samples = []
    while len(samples) < count:
        roll = rng.random()
        if roll < 0.03:
            kind, template, make = rng.choice(HARD_TEMPLATES)
            samples.append(_filled(template, [(kind, make(rng))]))
        elif roll < 0.55:
            kind, template = rng.choice(POSITIVE_TEMPLATES)
            samples.append(_filled(template, [(kind, makers[kind]())]))
        elif roll < 0.67:
            samples.append(_bank_details(rng))
        elif roll < 0.82:
            samples.append(Sample(rng.choice(NEGATIVE_TEXTS), ()))
        else:
            samples.append(Sample(rng.choice(negative_number_texts(rng)), ()))
    return samples


def _bank_details(rng: random.Random) -> Sample:
    _, written_sort_code = sort_code(rng)
    account = account_number(rng)
    template = rng.choice(
        (
            "sort code {} account {}",
            "My sort code is {} and my account number is {}",
            "my sort code and account number are {} {}",
            "Bank details: {}, {}",
            "s/c {} a/c {}",
        )
    )
    return _filled(template, [("sort_code", written_sort_code), ("account_number", account)])


def _filled(template: str, values: list[tuple[str, str]]) -> Sample:
    parts = template.split("{}")
    text, spans = parts[0], []
    for (kind, value), after in zip(values, parts[1:], strict=True):
        spans.append((kind, len(text), len(text) + len(value)))
        text += value + after
    return Sample(text, tuple(spans))

"""Read a model's answer as the plain text a chat shows: its links found, its markup taken out.

Plain Python. A chat answer is plain sentences. Markdown and HTML in a model's output are a
model's habit at best and a hijacked model's tool at worst: a link or an image carries data
out in its address, a heading or a code block dresses up an answer the facts do not hold.
`links_in` finds every address in the raw output, wherever it hides (a Markdown link or image,
an HTML attribute, an autolink, a bare domain, an e-mail address); `plain_text` keeps the words
and drops the markup; `settled_prefix` is how much of a growing answer can already be read that
way, and `complete_sentences` how much of that makes whole sentences.
"""

from __future__ import annotations

import re

# Addresses with a scheme that opens something: the web, a script, inline data, a file, mail.
_SCHEMED = r"(?:https?|ftp|file|javascript|vbscript|data|mailto|blob|ws|wss):/*[^\s<>\"'`)\]]+"
_WWW = r"www\.[^\s<>\"'`)\]]+"
# A bare domain, with a path or under a top-level domain people type: "evil.example/x", "a.io".
_TOP_LEVEL = (
    "com|net|org|io|co|uk|info|biz|ru|cn|xyz|top|app|dev|me|ly|gl|to|tk|de|fr|es|it|nl|pt|pl|"
    "eu|us|ai|site|online|link|click|example|ms|be|ch|at|se|no|dk|fi|ie|in|jp|br|ca|au"
)
_BARE_DOMAIN = (
    rf"(?<![\w@.-])(?:[a-z0-9-]{{1,63}}\.)+(?:{_TOP_LEVEL})\b(?:[/?#][^\s<>\"'`)\]]*)?"
    r"|(?<![\w@.-])(?:[a-z0-9-]{1,63}\.)+[a-z]{2,24}/[^\s<>\"'`)\]]*"
)
# Lengths bounded and starts anchored, so that a long run of letters costs linear time.
_EMAIL = r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+"
_LINK = re.compile(rf"{_SCHEMED}|{_EMAIL}|{_WWW}|{_BARE_DOMAIN}", re.IGNORECASE)
_TRAILING_PUNCTUATION = ".,;:!?'\"*_~"

_IMAGE = re.compile(r"!\[([^\]\n]*)\]\(([^)\n]*)\)")
_MARKDOWN_LINK = re.compile(r"\[([^\]\n]*)\]\(([^)\s\n]*)(?:\s+\"[^\"\n]*\")?\)")
_AUTOLINK = re.compile(r"<((?:[a-z][a-z0-9+.-]*:|www\.)[^<>\s]*)>", re.IGNORECASE)
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_HTML_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")
_FENCE = re.compile(r"^[ \t]*(?:```|~~~)[^\n]*$", re.MULTILINE)
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+", re.MULTILINE)
_QUOTE = re.compile(r"^[ \t]{0,3}(?:>[ \t]?)+", re.MULTILINE)
_BULLET = re.compile(r"^[ \t]*[-*+•][ \t]+", re.MULTILINE)
_RULE = re.compile(r"^[ \t]*([-*_=])(?:[ \t]*\1){2,}[ \t]*$", re.MULTILINE)
_TABLE_RULE = re.compile(r"^[ \t]*\|?(?:[ \t]*:?-{2,}:?[ \t]*\|)+[ \t]*:?-*:?[ \t]*$", re.MULTILINE)
_STRONG = re.compile(r"\*\*|__|~~")
# A lone * or _ that opens or closes emphasis; one inside a word (block_card) is left.
_EMPHASIS = re.compile(r"(?<![\w*])[*_](?=[^\s*_])|(?<=[^\s*_])[*_](?![\w*])")
_BACKTICKS = re.compile(r"`+")
_OPENERS = {"[": "]", "(": ")", "<": ">"}
_SENTENCE_END = re.compile(r"(?<=[.!?…。！？:;])[\s]+|\n+")


def links_in(text: str) -> list[str]:
    """Return every address the text holds, as written, without trailing punctuation."""
    return [match.group().rstrip(_TRAILING_PUNCTUATION) for match in _LINK.finditer(text)]


def normalised_link(link: str) -> str:
    """Return a link in the form two spellings of one address share."""
    link = link.strip().lower().rstrip("/")
    link = re.sub(r"^(?:https?:)?//", "", link)
    return link.removeprefix("www.")


def has_image(text: str) -> bool:
    """Return whether the text embeds an image (Markdown or HTML), which a chat never shows."""
    return bool(_IMAGE.search(text) or re.search(r"<img\b", text, re.IGNORECASE))


def plain_text(text: str) -> str:
    """Return the text without Markdown or HTML: the words a person would read.

    Images go entirely; a link becomes its words followed by its address in brackets, so that
    the address is still judged (`links_in`); tags, headings, quotes, bullets, rules, code
    fences, backticks and emphasis marks go. Nothing else changes, so that the plain text of a
    longer answer starts with the plain text of its settled beginning.
    """
    text = _HTML_COMMENT.sub("", text)
    text = _IMAGE.sub("", text)
    text = _MARKDOWN_LINK.sub(_link_as_words, text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _HTML_TAG.sub("", text)
    for pattern in (_FENCE, _RULE, _TABLE_RULE, _HEADING, _QUOTE, _BULLET):
        text = pattern.sub("", text)
    text = _STRONG.sub("", text)
    text = _EMPHASIS.sub("", text)
    return _BACKTICKS.sub("", text)


def settled_prefix(text: str) -> str:
    """Return the beginning of a growing text that later pieces can no longer change.

    That is up to its last space or line break ("£4" may become "£4.99", "http://a" a longer
    address), and before any bracket still open there ("[click here" may become a link, "<a"
    a tag, "!" before it an image).
    """
    settled = text[: max(text.rfind(" "), text.rfind("\n"), text.rfind("\t")) + 1]
    cut = _first_unclosed(settled)
    if cut is None:
        return settled
    if cut and settled[cut - 1] == "!":
        cut -= 1
    return settled[:cut]


def complete_sentences(text: str) -> str:
    """Return the text up to the end of its last complete sentence (or line)."""
    ends = list(_SENTENCE_END.finditer(text))
    return text[: ends[-1].end()] if ends else ""


def sentences(text: str) -> list[str]:
    """Return the text's sentences (and lines), without the blank ones."""
    return [part for part in _SENTENCE_END.split(text) if part.strip()]


def _first_unclosed(text: str) -> int | None:
    open_at: list[tuple[str, int]] = []
    for index, character in enumerate(text):
        if character in _OPENERS:
            open_at.append((character, index))
        elif open_at and character == _OPENERS[open_at[-1][0]]:
            open_at.pop()
    return open_at[0][1] if open_at else None


def _link_as_words(match: re.Match) -> str:
    words, address = match.group(1).strip(), match.group(2).strip()
    if not address:
        return words
    return f"{words} ({address})" if words else address

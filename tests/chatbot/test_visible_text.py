"""Invisible-only text is told apart from text that shows."""

import pytest

from chatbot.frames import FrameError, Limits, parse_frame
from chatbot.visible_text import has_visible_text

LIMITS = Limits(max_frame_bytes=16_000, max_message_chars=2000)


@pytest.mark.parametrize(
    "text",
    ["", "   ", "\u200b\u200b", "\ufeff", "\u200c\u200d\u2060", "\u3164", "\u2800", "\u00ad\n\t"],
)
def test_spaces_zero_width_format_characters_and_blank_letters_show_nothing(text):
    assert not has_visible_text(text)


@pytest.mark.parametrize(
    "text", ["a", " ?", "\u200bhi\u200b", "\U0001f44d", "\u0645\u0631\u062d\u0628\u0627"]
)
def test_any_letter_digit_mark_or_emoji_shows(text):
    assert has_visible_text(text)


@pytest.mark.parametrize("frame_type", ["message", "leave_message"])
def test_a_frame_whose_text_is_only_invisible_is_refused_on_its_text_field(frame_type):
    frame = f'{{"type": "{frame_type}", "client_id": "c", "text": "\\u200b\\u200b"}}'

    with pytest.raises(FrameError) as error:
        parse_frame(frame, None, LIMITS)

    assert (error.value.code, error.value.details["field"]) == ("invalid_field", "text")

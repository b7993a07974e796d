"""Frame parsing is plain Python: every protocol rule about a frame's shape."""

import json

import pytest

from chatbot.frames import FrameError, Limits, parse_frame

LIMITS = Limits(max_frame_bytes=1024, max_message_chars=10)


def parse(frame: object) -> dict:
    return parse_frame(json.dumps(frame), None, LIMITS)


def test_a_message_is_trimmed_and_keeps_only_known_fields():
    frame = parse({"type": "message", "client_id": "c1", "text": "  hi  ", "html": "<b>x</b>"})

    assert frame == {"type": "message", "client_id": "c1", "text": "hi"}


def test_hello_defaults_to_no_token_seq_zero_and_no_identity():
    assert parse({"type": "hello"}) == {
        "type": "hello",
        "token": None,
        "last_seq": 0,
        "identity": None,
    }


def test_a_hello_identity_must_be_an_object_its_signature_is_checked_later():
    identity = {"user_id": "u-1", "signature": "ab"}
    assert parse({"type": "hello", "identity": identity})["identity"] == identity
    with pytest.raises(FrameError) as error:
        parse({"type": "hello", "identity": "u-1"})

    assert (error.value.code, error.value.details["field"]) == ("invalid_field", "identity")


def test_the_size_limit_counts_bytes_not_characters():
    # 300 three-byte characters: 900 bytes of text, over the limit only once encoded.
    text = json.dumps({"type": "ping", "pad": "€" * 400}, ensure_ascii=False)

    with pytest.raises(FrameError) as error:
        parse_frame(text, None, LIMITS)

    assert error.value.code == "frame_too_large"


def test_a_message_at_the_character_limit_passes_and_one_above_fails():
    assert parse({"type": "message", "client_id": "c", "text": "a" * 10})["text"] == "a" * 10
    with pytest.raises(FrameError) as error:
        parse({"type": "message", "client_id": "c", "text": "a" * 11})

    assert error.value.as_frame() == {
        "type": "error",
        "code": "message_too_long",
        "message": "A message can be at most 10 characters.",
        "client_id": "c",
    }


def test_an_error_names_the_field_and_echoes_a_usable_client_id():
    with pytest.raises(FrameError) as error:
        parse({"type": "message", "client_id": "c9", "text": None})

    assert error.value.as_frame()["field"] == "text"
    assert error.value.as_frame()["client_id"] == "c9"


def test_an_unknown_type_is_quoted_but_cut_short():
    with pytest.raises(FrameError) as error:
        parse({"type": "x" * 500})

    assert error.value.code == "unknown_type"
    assert len(error.value.message) < 80


def test_a_feedback_frame_keeps_the_rated_seq_and_the_rating():
    frame = parse({"type": "feedback", "seq": 7, "rating": "down", "comment": "<b>x</b>"})

    assert frame == {"type": "feedback", "seq": 7, "rating": "down"}


@pytest.mark.parametrize("seq", [None, 0, -3, 1.5, "7", True, [7], 2**31], ids=repr)
def test_a_feedback_frame_without_a_positive_whole_seq_names_the_seq_field(seq):
    frame = {"type": "feedback", "rating": "up"}
    if seq is not None:
        frame["seq"] = seq

    with pytest.raises(FrameError) as error:
        parse(frame)

    assert error.value.as_frame() == {
        "type": "error",
        "code": "invalid_field",
        "message": "'seq' must be the rated answer's sequence number, a positive integer.",
        "field": "seq",
    }


@pytest.mark.parametrize("rating", [None, "", "UP", "meh", 1, True, ["up"]], ids=repr)
def test_a_feedback_frame_with_a_rating_other_than_up_or_down_names_the_rating_field(rating):
    frame = {"type": "feedback", "seq": 3}
    if rating is not None:
        frame["rating"] = rating

    with pytest.raises(FrameError) as error:
        parse(frame)

    assert error.value.as_frame() == {
        "type": "error",
        "code": "invalid_field",
        "message": "'rating' must be up or down.",
        "field": "rating",
    }

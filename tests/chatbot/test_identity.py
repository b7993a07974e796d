"""A signed identity is trusted only whole, in time, and signed with the site's secret."""

import pytest

from chatbot.identity import Identity, InvalidIdentity, sign_identity, verify_identity

SECRET = "site-secret-for-tests"
NOW = 1_800_000_000
DAY = 86_400


def signed(secret: str = SECRET, **fields) -> dict:
    identity = {
        "user_id": "customer-42",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "issued_at": NOW - 60,
        **fields,
    }
    identity["signature"] = sign_identity(
        secret,
        identity["user_id"],
        identity["name"],
        identity["email"],
        identity["issued_at"],
    )
    return identity


def test_a_correctly_signed_identity_is_trusted():
    identity = verify_identity(signed(), SECRET, DAY, NOW)

    assert identity == Identity("customer-42", "Ada Lovelace", "ada@example.com")
    assert identity.as_frame() == {"user_id": "customer-42", "name": "Ada Lovelace"}


def test_the_signature_is_the_documented_hmac():
    # What a host backend in any language computes: hex HMAC-SHA256 over the fields by line.
    import hashlib
    import hmac

    message = b"customer-42\nAda Lovelace\nada@example.com\n1799999940"
    expected = hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()

    assert signed()["signature"] == expected
    assert verify_identity({**signed(), "signature": expected.upper()}, SECRET, DAY, NOW)


@pytest.mark.parametrize(
    "change",
    [
        {"user_id": "customer-43"},
        {"name": "Mallory"},
        {"email": "mallory@example.com"},
        {"issued_at": NOW},
    ],
)
def test_any_field_changed_after_signing_is_refused(change):
    with pytest.raises(InvalidIdentity, match="signature"):
        verify_identity({**signed(), **change}, SECRET, DAY, NOW)


def test_a_signature_made_with_another_secret_is_refused():
    with pytest.raises(InvalidIdentity, match="signature"):
        verify_identity(signed(secret="a-guess"), SECRET, DAY, NOW)


def test_fields_cannot_shift_into_each_other_across_the_line_breaks():
    # "12\n3" as a user id would sign the same message as user "12" named "3...": refused.
    with pytest.raises(InvalidIdentity, match="control character"):
        verify_identity(signed(user_id="12\n3"), SECRET, DAY, NOW)


@pytest.mark.parametrize(
    ("identity", "reason"),
    [
        (None, "must be an object"),
        ("customer-42", "must be an object"),
        ({"name": "Ada"}, "'user_id' is required"),
        ({**signed(), "signature": None}, "'signature' is missing"),
        ({**signed(), "issued_at": "yesterday"}, "'issued_at'"),
        ({**signed(), "issued_at": True}, "'issued_at'"),
        ({**signed(), "user_id": 42}, "'user_id' must be a string"),
        ({**signed(), "name": "x" * 201}, "longer than 200"),
        ({**signed(), "signature": "é" * 64}, "signature"),
    ],
)
def test_a_malformed_identity_is_refused_with_its_reason(identity, reason):
    with pytest.raises(InvalidIdentity, match=reason):
        verify_identity(identity, SECRET, DAY, NOW)


def test_an_old_or_future_identity_is_refused():
    with pytest.raises(InvalidIdentity, match="expired"):
        verify_identity(signed(issued_at=NOW - DAY - 1), SECRET, DAY, NOW)
    with pytest.raises(InvalidIdentity, match="future"):
        verify_identity(signed(issued_at=NOW + 3600), SECRET, DAY, NOW)
    # A page signed on a server whose clock is a minute ahead is fine.
    assert verify_identity(signed(issued_at=NOW + 60), SECRET, DAY, NOW)


def test_without_a_configured_secret_no_identity_is_trusted():
    with pytest.raises(InvalidIdentity, match="CHAT_IDENTITY_SECRET"):
        verify_identity(signed(secret=""), "", DAY, NOW)


def test_while_the_secret_is_rotated_the_previous_one_still_signs():
    old, new = "the-old-site-secret", "the-new-site-secret"

    assert verify_identity(signed(secret=old), new, DAY, NOW, previous_secret=old)
    assert verify_identity(signed(secret=new), new, DAY, NOW, previous_secret=old)
    with pytest.raises(InvalidIdentity, match="does not match"):
        verify_identity(signed(secret=old), new, DAY, NOW)  # rotation over: the old is refused
    with pytest.raises(InvalidIdentity, match="CHAT_IDENTITY_SECRET"):
        verify_identity(signed(secret=old), "", DAY, NOW, previous_secret=old)

"""The documented receiver's check: the signature, the body and the timestamp must all hold."""

import random

import pytest

from chatbot.webhooks.addresses import UnsafeUrl, check_literal_host, check_resolved
from chatbot.webhooks.backoff import retry_delay
from chatbot.webhooks.signing import InvalidSignature, signature, verify_signature

SECRET = "whsec_test-secret"
BODY = b'{"id":"d-1","type":"message.created"}'
NOW = 1_750_000_000


def test_a_signed_body_passes_the_check():
    header = signature(SECRET, NOW, BODY)

    assert header.startswith("v1=") and len(header) == 3 + 64
    verify_signature(SECRET, BODY, str(NOW), header, now=NOW + 299)


@pytest.mark.parametrize(
    ("case", "secret", "body", "timestamp", "now"),
    [
        ("another secret", "whsec_other", BODY, NOW, NOW),
        ("an altered body", SECRET, BODY.replace(b"d-1", b"d-2"), NOW, NOW),
        ("a timestamp older than five minutes", SECRET, BODY, NOW, NOW + 301),
        ("a timestamp from the future", SECRET, BODY, NOW, NOW - 301),
    ],
)
def test_it_refuses(case, secret, body, timestamp, now):
    header = signature(SECRET, timestamp, BODY)

    with pytest.raises(InvalidSignature):
        verify_signature(secret, body, str(timestamp), header, now=now)


def test_it_refuses_a_tampered_signature_or_a_timestamp_that_is_not_the_signed_one():
    header = signature(SECRET, NOW, BODY)
    tampered = header[:-1] + ("0" if header[-1] != "0" else "1")

    with pytest.raises(InvalidSignature):
        verify_signature(SECRET, BODY, str(NOW), tampered, now=NOW)
    with pytest.raises(InvalidSignature):
        verify_signature(SECRET, BODY, str(NOW + 1), header, now=NOW)
    with pytest.raises(InvalidSignature):
        verify_signature(SECRET, BODY, "yesterday", header, now=NOW)


def test_one_matching_signature_of_several_is_enough():
    header = f"v1={'0' * 64} {signature(SECRET, NOW, BODY)}"

    verify_signature(SECRET, BODY, str(NOW), header, now=NOW)


def test_retry_delays_double_up_to_the_cap_with_jitter_in_the_upper_half():
    rng = random.Random(7)

    delays = [retry_delay(attempt, 10, 300, rng) for attempt in range(1, 9)]

    ceilings = [10, 20, 40, 80, 160, 300, 300, 300]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True)), delays
    assert retry_delay(10_000, 10, 300, rng) <= 300


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/hook",
        "file:///etc/passwd",
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.0.0.5/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:192.168.0.1]/hook",
    ],
)
def test_non_http_urls_and_private_addresses_are_refused_unless_allowed(url):
    with pytest.raises(UnsafeUrl):
        check_literal_host(url, allow_private=False)


def test_a_name_that_resolves_to_a_private_address_is_refused_before_sending(monkeypatch):
    def resolve(host, port, **kwargs):
        assert host == "hooks.example.com"
        return [(2, 1, 6, "", ("10.1.2.3", port))]

    monkeypatch.setattr("socket.getaddrinfo", resolve)

    with pytest.raises(UnsafeUrl, match=r"private address \(10\.1\.2\.3\)"):
        check_resolved("https://hooks.example.com/in", allow_private=False)


def test_loopback_is_allowed_when_the_setting_allows_it_but_never_another_scheme():
    check_literal_host("http://127.0.0.1:8000/hook", allow_private=True)
    check_literal_host("https://hooks.example.com/in", allow_private=False)
    with pytest.raises(UnsafeUrl):
        check_literal_host("gopher://127.0.0.1/", allow_private=True)

"""One HTTP attempt at a delivery: POST the signed body, with a timeout, never a redirect."""

import dataclasses
import time

import httpx

from chatbot.webhooks.addresses import UnsafeUrl, check_resolved
from chatbot.webhooks.signing import signature

# Enough of a receiver's answer to see what went wrong, bounded so a big page does not bloat
# the delivery log.
EXCERPT_CHARS = 1000


@dataclasses.dataclass(frozen=True)
class Outcome:
    is_success: bool
    status_code: int | None
    error: str
    duration_ms: int
    response_excerpt: str


def post(
    url: str,
    delivery_id: str,
    body: bytes,
    secret: str,
    *,
    timeout_seconds: float,
    allow_private: bool,
) -> Outcome:
    """Send one attempt; a 2xx answer is a success, anything else (or no answer) a failure."""
    started = time.monotonic()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "chatbot-webhooks/1",
        "Webhook-Id": delivery_id,
        "Webhook-Timestamp": str(timestamp),
        "Webhook-Signature": signature(secret, timestamp, body),
    }
    try:
        check_resolved(url, allow_private)
        # No redirects: the address checked is the address called.
        with httpx.stream(
            "POST",
            url,
            content=body,
            headers=headers,
            timeout=timeout_seconds,
            follow_redirects=False,
        ) as response:
            excerpt = _excerpt(response)
    except UnsafeUrl as error:
        return _failure(f"refused: {error}", started)
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as error:
        return _failure(f"{type(error).__name__}: {error}"[:500], started)
    return Outcome(
        is_success=response.is_success,
        status_code=response.status_code,
        error="" if response.is_success else f"HTTP {response.status_code}",
        duration_ms=_elapsed_ms(started),
        response_excerpt=excerpt,
    )


def _excerpt(response: httpx.Response) -> str:
    """Read no more of the answer than the excerpt keeps: a receiver may send a lot."""
    read = b""
    for chunk in response.iter_bytes():
        read += chunk
        if len(read) >= EXCERPT_CHARS * 4:
            break
    return read.decode("utf-8", errors="replace")[:EXCERPT_CHARS]


def _failure(error: str, started: float) -> Outcome:
    return Outcome(False, None, error, _elapsed_ms(started), "")


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)

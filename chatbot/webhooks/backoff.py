"""When to try a failed delivery again: exponential, capped, with jitter."""

import random


def retry_delay(
    failed_attempts: int, base_seconds: float, max_seconds: float, rng: random.Random | None = None
) -> float:
    """Return seconds to wait after `failed_attempts` failures (1 for the first).

    Doubles from `base_seconds` up to `max_seconds`; the wait is drawn from the upper half of
    that, so that many subscriptions failing together do not retry in step.
    """
    ceiling = min(max_seconds, base_seconds * 2 ** min(failed_attempts - 1, 62))
    return ceiling * (0.5 + 0.5 * (rng or random).random())

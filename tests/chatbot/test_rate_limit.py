"""The sliding window behind the per-socket and per-visitor limits."""

from chatbot.rate_limit import SlidingWindow


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_it_allows_the_limit_then_says_how_long_to_wait():
    clock = FakeClock()
    window = SlidingWindow(limit=2, window=10, clock=clock)

    assert window.hit() is None
    clock.now += 4
    assert window.hit() is None
    assert window.hit() == 6.0


def test_a_refused_hit_does_not_count_and_old_hits_expire():
    clock = FakeClock()
    window = SlidingWindow(limit=1, window=10, clock=clock)
    window.hit()
    for _ in range(5):
        window.hit()

    clock.now += 10

    assert window.hit() is None

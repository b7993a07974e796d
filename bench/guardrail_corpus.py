"""Play the attack corpus against a model that obeys every prompt; print the figures as JSON.

    .venv/bin/python bench/guardrail_corpus.py [--repeat 200]

Each attack of tests/llm/attacks/corpus.yaml goes through the real turn (`engine.run_turn`,
the vLLM backend, a stand-in model on a localhost HTTP server that does whatever its prompt
says). Per category: how many attacks the model obeyed (its output is not the reference
answer), how many of its outputs broke a rule had they been shown as they were, and how many
reached the visitor (a text on screen that broke one: must be 0), with the guard's reasons.
Then the guard's own cost: its checks and flattening over each recorded output, streamed in
the stand-in's 3-character pieces, per answer and per piece, in microseconds.
"""

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200, help="timings per recorded output")
    arguments = parser.parse_args()
    sys.path.insert(0, str(REPO_ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot.settings")
    import django

    django.setup()
    from tests.llm.adversarial_server import AdversarialServer

    server = AdversarialServer().start()
    try:
        report, recorded = play_corpus(server)
    finally:
        server.stop()
    report["guard_cost"] = guard_cost(recorded, arguments.repeat)
    print(json.dumps(report, indent=2))


def play_corpus(server) -> tuple[dict, list]:
    """Play every attack; return the figures and each (request, raw output) the model gave."""
    from chatbot.dialogue.escalation import EscalationRules
    from chatbot.engine import TurnConfiguration
    from chatbot.llm import LlmConfig
    from chatbot.llm.prompts import REFERENCE_HEADING
    from chatbot.llm.vllm import VllmBackend
    from tests.llm.attack_corpus import graph_text, load_attacks, play, violations

    config = LlmConfig(backend="vllm", base_url=server.base_url, retries=0, circuit_failures=10**6)
    backend = _Recording(VllmBackend(config))
    configuration = TurnConfiguration(rules=EscalationRules(), backend=backend)
    figures: dict[str, Counter] = defaultdict(Counter)
    reasons: Counter = Counter()
    recorded = []
    started = time.perf_counter()
    for attack in load_attacks():
        server.forget()
        backend.requests.clear()
        played = play(attack, configuration)
        counts = figures[attack.category]
        counts["attacks"] += 1
        asked = zip(server.requests, server.outputs, backend.requests, strict=True)
        for request, output, answer_request in asked:
            system = request.body["messages"][0]["content"]
            allowed = graph_text(system)
            recorded.append((answer_request, output))
            counts["obeyed"] += output.strip() != system.rsplit(REFERENCE_HEADING, 1)[-1].strip()
            counts["raw_output_broke_a_rule"] += bool(
                violations(output, allowed, attack.must_not_show)
            )
        shown_bad = [violations(s, allowed, attack.must_not_show) for s in played.screens]
        counts["reached_the_visitor"] += any(shown_bad)
        for outcome in played.outcomes:
            reasons[outcome.fallback_reason or "model_answer_stood"] += 1
    seconds = time.perf_counter() - started
    backend.inner.close()
    totals = sum(figures.values(), Counter())
    return {
        "attacks": totals["attacks"],
        "obeyed_by_the_model": totals["obeyed"],
        "raw_output_broke_a_rule": totals["raw_output_broke_a_rule"],
        "reached_the_visitor": totals["reached_the_visitor"],
        "by_category": {category: dict(counts) for category, counts in sorted(figures.items())},
        "outcome_reasons": dict(reasons.most_common()),
        "corpus_seconds": round(seconds, 2),
    }, recorded


def guard_cost(recorded: list, repeat: int) -> dict:
    """Time the guard over each recorded output as it would stream; return microseconds."""
    from chatbot.llm.output_guard import OutputGuard
    from tests.llm.adversarial_server import tokens_of

    per_answer, per_piece = [], []
    for request, output in recorded:
        pieces = tokens_of(output)
        started = time.perf_counter()
        for _ in range(repeat):
            guarded(OutputGuard(request), pieces)
        seconds = (time.perf_counter() - started) / repeat
        per_answer.append(seconds * 1e6)
        per_piece.append(seconds * 1e6 / max(len(pieces), 1))
    return {
        "answers": len(per_answer),
        "per_answer_us": _summary(per_answer),
        "per_piece_us": _summary(per_piece),
    }


def guarded(guard, pieces: list[str]) -> None:
    """Judge an output as `chatbot.llm.answering` does while it streams, then whole."""
    output = ""
    for piece in pieces:
        output += piece
        if guard.problem_so_far(output) is not None:
            return
        guard.visible_so_far(output)
    if guard.problem(output) is None:
        guard.visible(output)


class _Recording:
    """A backend that notes each request it is asked before passing it on."""

    name = "vllm"

    def __init__(self, inner) -> None:
        self.inner = inner
        self.requests: list = []

    def stream(self, request):
        self.requests.append(request)
        return self.inner.stream(request)


def _summary(values: list[float]) -> dict:
    ordered = sorted(values)
    return {
        "median": round(statistics.median(ordered), 1),
        "mean": round(statistics.fmean(ordered), 1),
        "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
        "max": round(ordered[-1], 1),
    }


if __name__ == "__main__":
    main()

"""Dialogue benchmark: per-turn latency by stage, and task success over the conversation tests.

Plays every transcript in tests/conversations through the live turn function (the BANKING77 intent
model read in context, the demo knowledge graph, the tracker, the policy, the escalation rules,
the template backend) and prints one JSON object: p50/p95 milliseconds of NLU (classification,
in context too for a follow-up, and entity extraction, graph linking included), the dialogue
(tracking, policy and rendering, graph time excluded), graph queries and the whole turn; and the
share of transcripts (tasks) and turns that pass.

    .venv/bin/python bench/dialogue_benchmark.py                    # trains a fast model first
    .venv/bin/python bench/dialogue_benchmark.py --var-dir var      # reuse a promoted model
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
STAGES = ("nlu", "dialogue", "graph", "total")


def main() -> None:
    from embedded_bank import start_demo_bank

    arguments = parse_arguments()
    start_demo_bank("dialogue-bench-", arguments.var_dir)
    prepare(arguments)
    figures = measure(arguments)
    print(json.dumps(figures, indent=2))


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transcripts", default=str(REPO_ROOT / "tests" / "conversations"))
    parser.add_argument("--var-dir", help="a VAR_DIR whose models/ holds a promoted intent model")
    parser.add_argument("--rounds", type=int, default=10, help="plays of every transcript")
    return parser.parse_args()


def prepare(arguments: argparse.Namespace) -> None:
    """Train a fast intent model unless one was given."""
    from django.conf import settings
    from django.core.management import call_command

    if not arguments.var_dir:
        print("Training a fast intent model on BANKING77 (one to two minutes)...", file=sys.stderr)
        call_command("import_intents", str(settings.DEMO_INTENTS_FILE), verbosity=0)
        call_command("import_intents", str(settings.CONVERSATION_INTENTS_FILE), verbosity=0)
        call_command("train_intents", "--fast")


class TimedGraph:
    """The knowledge graph with the time spent in its queries added up."""

    QUERIES = ("node", "facts", "neighbours", "paths", "subgraph", "topic_for_intent", "link")

    def __init__(self, graph) -> None:
        self._graph = graph
        self.seconds = 0.0

    def __getattr__(self, name):
        attribute = getattr(self._graph, name)
        if name not in self.QUERIES:
            return attribute

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return attribute(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        return timed

    def __contains__(self, key) -> bool:
        return key in self._graph


def measure(arguments: argparse.Namespace) -> dict:
    from chatbot.dialogue.transcripts import failures_of, read_transcripts

    transcripts = read_transcripts(Path(arguments.transcripts))
    samples = {stage: [] for stage in STAGES}
    passed_tasks = passed_turns = turns = 0
    for round_number in range(arguments.rounds):
        for transcript in transcripts:
            state: dict = {}
            transcript_passed = True
            for check in transcript.turns:
                outcome, timings, state = timed_turn(state, check.visitor)
                for stage in STAGES:
                    samples[stage].append(timings[stage])
                if round_number == 0:
                    failures = failures_of(check.expect, outcome)
                    turns += 1
                    passed_turns += not failures
                    transcript_passed &= not failures
            if round_number == 0:
                passed_tasks += transcript_passed
        print(f"round {round_number + 1}/{arguments.rounds}", file=sys.stderr)
    return {
        "config": {
            "rounds": arguments.rounds,
            "transcripts": len(transcripts),
            "backend": "template",
        },
        "turns_measured": len(samples["total"]),
        "latency_ms": {stage: percentiles(values) for stage, values in samples.items()},
        "task_success_rate": round(passed_tasks / len(transcripts), 4),
        "turn_pass_rate": round(passed_turns / turns, 4),
        "tasks": f"{passed_tasks}/{len(transcripts)}",
    }


def timed_turn(state: dict, text: str):
    """Run one turn as the live bot does; return its outcome, the seconds per stage and the new
    state."""
    from chatbot import engine
    from chatbot.dialogue.transcripts import Outcome
    from chatbot.nlu.understanding import understand_texts
    from chatbot.turn_configuration import configured_turn
    from knowledge.service import current_graph

    started = time.perf_counter()
    graph = TimedGraph(current_graph())
    understanding = understand_texts([text], contexts=[engine.understanding_context(state)])[0]
    understood = time.perf_counter()
    result = engine.run_turn(state, text, understanding, graph, configured_turn())
    replies = ["".join(reply.chunks) for reply in result.replies]
    finished = time.perf_counter()
    timings = {
        "nlu": understood - started,
        "dialogue": finished - understood - graph.seconds,
        "graph": graph.seconds,
        "total": finished - started,
    }
    sources = [source["key"] for reply in result.replies for source in reply.sources]
    return Outcome(replies, sources, result.state, result.trace), timings, result.state


def percentiles(seconds: list[float]) -> dict:
    milliseconds = sorted(value * 1000 for value in seconds)
    cuts = statistics.quantiles(milliseconds, n=100)
    return {
        "p50": round(cuts[49], 3),
        "p95": round(cuts[94], 3),
        "mean": round(statistics.fmean(milliseconds), 3),
    }


if __name__ == "__main__":
    main()

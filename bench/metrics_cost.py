#!/usr/bin/env python3
"""What recording a turn's Prometheus metrics costs, against the turn itself.

Times, in CPU seconds, the very calls of `chatbot.metrics` that one answered visitor message
makes (its two messages, its four stages and outcome, its classification with one confidence,
the classification task's run), in prometheus_client's multiprocess mode (values written to
files, as with several web processes or workers) and in one process's memory. Then runs
`bench/dialogue_benchmark.py` for the whole in-process turn's mean on this machine now (or takes
`--turn-ms`), and prints the metrics' share of it as JSON. The target is at most 5%. It also
times the spans a turn opens with tracing off (the default): the API's no-op spans.

    .venv/bin/python bench/metrics_cost.py --var-dir VAR     # VAR holds a promoted model
    .venv/bin/python bench/metrics_cost.py --turn-ms 3.1     # a turn measured just before
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

RECORD_TURNS = """
import json, sys, time
from chatbot import metrics

def one_turn():
    # What the consumer, the turn, the classifier and the Celery signals record per message.
    metrics.MESSAGES.labels("visitor").inc()
    metrics.record_classification(0.002, [0.93])
    metrics.TASK_SECONDS.labels("nlu.classify_messages", "SUCCESS").observe(0.004)
    metrics.MESSAGES.labels("bot").inc(1)
    metrics.record_turn(
        {"understand": 0.004, "engine": 0.001, "store": 0.002, "total": 0.008}, "answer", None
    )

def one_traced_turn():
    # The spans a turn opens (chatbot.turns), with tracing off: the API's no-op spans.
    from chatbot import tracing
    with tracing.tracer.start_as_current_span("chat.turn", attributes={"chat.seq": 2}) as span:
        with tracing.tracer.start_as_current_span("nlu.understand"):
            tracing.carrier()
        with tracing.tracer.start_as_current_span("chat.engine"):
            pass
        with tracing.tracer.start_as_current_span("chat.store"):
            pass
        span.set_attributes({"chat.decision": "answer", "chat.outcome": "answer"})

turns, record = int(sys.argv[1]), one_traced_turn if sys.argv[2] == "spans" else one_turn
for _ in range(1000):  # warm: every label's child and file exists before the clock starts
    record()
started = time.process_time()
for _ in range(turns):
    record()
print(json.dumps({"cpu_us_per_turn": 1e6 * (time.process_time() - started) / turns}))
"""


def metrics_cost(turns: int, multiprocess: bool, what: str = "metrics") -> float:
    """CPU microseconds per turn of the metric calls (or the spans), in a fresh process."""
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    for name in ("PROMETHEUS_MULTIPROC_DIR", "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        environment.pop(name, None)
    with tempfile.TemporaryDirectory(prefix="metrics-cost-") as directory:
        if multiprocess:
            environment["PROMETHEUS_MULTIPROC_DIR"] = directory
        output = subprocess.run(
            [sys.executable, "-c", RECORD_TURNS, str(turns), what],
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    return json.loads(output)["cpu_us_per_turn"]


def turn_ms(var_dir: str) -> float:
    """The whole in-process turn's mean milliseconds (bench/dialogue_benchmark.py)."""
    print("measuring the in-process turn (bench/dialogue_benchmark.py) ...", file=sys.stderr)
    output = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "bench" / "dialogue_benchmark.py"),
            "--var-dir",
            var_dir,
            "--rounds",
            "3",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(output)["latency_ms"]["total"]["mean"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=20000, help="recorded turns per mode")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--var-dir", help="a VAR_DIR with a promoted intent model")
    source.add_argument("--turn-ms", type=float, help="the in-process turn's mean, measured")
    arguments = parser.parse_args()
    files = metrics_cost(arguments.turns, multiprocess=True)
    memory = metrics_cost(arguments.turns, multiprocess=False)
    spans = metrics_cost(arguments.turns, multiprocess=False, what="spans")
    turn = arguments.turn_ms if arguments.turn_ms is not None else turn_ms(arguments.var_dir)
    print(
        json.dumps(
            {
                "turns_recorded": arguments.turns,
                "metrics_cpu_us_per_turn": {
                    "multiprocess_files": round(files, 2),
                    "one_process": round(memory, 2),
                },
                "turn_ms_mean": round(turn, 3),
                "turn_ms_source": "--turn-ms"
                if arguments.turn_ms is not None
                else "bench/dialogue_benchmark.py --rounds 3",
                "share_of_turn": {
                    "multiprocess_files": round(files / (1000 * turn), 4),
                    "one_process": round(memory / (1000 * turn), 4),
                },
                "target_share_at_most": 0.05,
                # Tracing off (the default): the turn's no-op spans and trace carrier.
                "tracing_off_cpu_us_per_turn": round(spans, 2),
                "tracing_off_share_of_turn": round(spans / (1000 * turn), 4),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

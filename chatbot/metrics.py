"""The platform's Prometheus metrics, and the calls that record them.

Every web process and worker records into its own values. With PROMETHEUS_MULTIPROC_DIR set
(several web processes or workers on a host), prometheus_client writes them to files in that
directory and a scrape sums them (`chatbot.metrics_endpoint`); unset, they live in the process.
The variable must be set before the process starts: prometheus_client reads it on import.

This module imports nothing of the platform, so that any layer may record. What a scrape reads
from the database (the handoff queue, the graph and model versions) is in the endpoint instead.
"""

import atexit
import os

from prometheus_client import Counter, Gauge, Histogram, multiprocess

# Seconds: a turn's stages run from a millisecond (the engine) to seconds (a loaded worker).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONFIDENCE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)
# A visitor's wait for a person: seconds to an hour.
WAIT_BUCKETS = (5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)

# Decisions where the bot had no answer for the visitor (see chatbot.dialogue.policy), and a
# turn whose engine failed (chatbot.turns).
FALLBACK_DECISIONS = frozenset({"unsure", "out_of_scope", "not_caught", "busy", "engine_failure"})

WEBSOCKETS_OPEN = Gauge(
    "chatbot_websockets_open",
    "Websocket connections open now, by page (widget: visitors, console: agents).",
    ["page"],
    # Summed over living processes: a dead process's sockets are gone with it.
    multiprocess_mode="livesum",
)
MESSAGES = Counter("chatbot_messages", "Messages stored in conversations, by author.", ["author"])
REFUSED_BUSY = Counter(
    "chatbot_refused_busy",
    "Visitor messages and sockets refused with the busy frame (admission control), by what.",
    ["what"],
)
TURN_STAGE_SECONDS = Histogram(
    "chatbot_turn_stage_seconds",
    "A visitor message's turn by stage: understand (classification, on a worker or in-process), "
    "engine (the dialogue and the answer, streamed), store (committing the replies), total.",
    ["stage"],
    buckets=LATENCY_BUCKETS,
)
TURN_OUTCOMES = Counter(
    "chatbot_turn_outcomes",
    "Turns by outcome (answer, clarification, fallback, handoff) and reason (the fallback's "
    "decision or the handoff's rule; empty for the others).",
    ["outcome", "reason"],
)
NLU_SECONDS = Histogram(
    "chatbot_nlu_seconds",
    "Classifying one call's messages with the intent model, per call.",
    buckets=LATENCY_BUCKETS,
)
NLU_MESSAGES = Counter("chatbot_nlu_messages", "Messages classified by the intent model.")
NLU_CONFIDENCE = Histogram(
    "chatbot_nlu_confidence",
    "The intent model's confidence in its top intent, per message.",
    buckets=CONFIDENCE_BUCKETS,
)
HANDOFF_REQUESTS = Counter(
    "handoff_requests",
    "Handoffs requested, by reason and result (queued, or unavailable: nobody could take it).",
    ["reason", "result"],
)
HANDOFF_WAIT_SECONDS = Histogram(
    "handoff_wait_seconds",
    "From a handoff's request to an agent accepting it.",
    buckets=WAIT_BUCKETS,
)
WEBHOOK_ATTEMPTS = Counter(
    "chatbot_webhook_attempts",
    "Webhook delivery attempts by event and outcome (delivered; retrying: failed, tried again "
    "later; failed: given up on).",
    ["event", "outcome"],
)
TASK_SECONDS = Histogram(
    "celery_task_seconds",
    "A Celery task's run on a worker (or in-process), by task and final state.",
    ["task", "state"],
    buckets=LATENCY_BUCKETS,
)
TASK_FAILURES = Counter(
    "celery_task_failures",
    "Celery tasks that raised, by task and exception.",
    ["task", "exception"],
)


def turn_outcome(decision: str | None, handoff: str | None) -> tuple[str, str]:
    """(outcome, reason) of a turn, from its trace's decision and handoff reason."""
    if handoff:
        return "handoff", handoff
    if decision in FALLBACK_DECISIONS:
        return "fallback", decision
    if decision == "clarify":
        return "clarification", ""
    return "answer", ""


def record_turn(stages: dict[str, float], decision: str | None, handoff: str | None) -> None:
    """One answered visitor message: its stages' seconds and its outcome."""
    for stage, seconds in stages.items():
        TURN_STAGE_SECONDS.labels(stage).observe(seconds)
    TURN_OUTCOMES.labels(*turn_outcome(decision, handoff)).inc()


def record_classification(seconds: float, confidences: list[float]) -> None:
    """One call of the intent model: its seconds and each message's top confidence."""
    NLU_SECONDS.observe(seconds)
    NLU_MESSAGES.inc(len(confidences))
    for confidence in confidences:
        NLU_CONFIDENCE.observe(confidence)


if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # A process that ends takes its live gauges (its open sockets) out of the sum. Read at
    # exit, so that a forked worker process marks itself, not its parent.
    atexit.register(lambda: multiprocess.mark_process_dead(os.getpid()))

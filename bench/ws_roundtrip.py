#!/usr/bin/env python3
"""Websocket round-trip load benchmark for the chat server (see docs/protocol.md).

Opens N visitor connections; each plays a banking conversation generated from BANKING77's test
questions and the demo bank's knowledge graph (bench/conversation_generator.py), or, with
``--text synthetic``, made-up messages. Each visitor sends its messages one after another (the
next one only after the bot's committed reply to the previous one has arrived), resending a
message the server refused as busy after the ``retry_after`` it names. The benchmark measures
ack and reply latency, the load outcomes (refusals, "didn't catch that" fallbacks, handoffs) and
the CPU the server and worker processes spent on the load; it checks the sequence numbers it
receives, and finally reconnects every visitor (or a sample) with its token and ``last_seq`` 0
to check that the stored conversation holds exactly the messages that were acknowledged, once
each, in order, each followed by the bot's reply.

This is a benchmark against a running server, not a test. One JSON object goes to stdout,
progress goes to stderr. ``bench/run_ws_roundtrip.sh`` starts a server and runs this.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import math
import os
import random
import re
import resource
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

try:
    from websockets.asyncio.client import connect as ws_connect
    from websockets.exceptions import ConnectionClosed, InvalidStatus
except ImportError:  # pragma: no cover - depends on the environment
    sys.exit(
        "ws_roundtrip.py needs websockets >= 13 (websockets.asyncio.client); "
        "install uvicorn[standard] or websockets"
    )

REPO = Path(__file__).resolve().parents[1]
DEFAULT_QUESTIONS = REPO / "chatbot" / "nlu" / "data" / "banking77" / "test.csv"
DEFAULT_GRAPH = REPO / "knowledge" / "demo" / "kestrel_bank.json"
# The bot's answer when it could not read a message (chatbot/dialogue/responses.py NOT_CAUGHT);
# under load it is what a classification that did not come back in time gets.
NOT_CAUGHT_PREFIX = "Sorry, I didn't catch that"
# Handoff statuses in which a person has the conversation and the bot answers no more.
TO_PERSON = ("waiting", "agent")
CPU_NOTES = (
    "CPU is user+system time read from /proc/PID/stat at the first message sent and after the "
    "last visitor finished, for the given processes and all their descendants; children that "
    "exit mid-run are not counted."
)
SHARED_NOTE = (
    "{roles}: every process of that name on this machine, shared with anything else running "
    "here (other databases, other benchmarks); informational, not in the per-message total."
)


# --------------------------------------------------------------------------- helpers


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def derive_origin(url: str) -> str:
    parts = urlsplit(url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return f"{scheme}://{parts.netloc}"


def raise_nofile_limit() -> tuple[int, int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft, hard
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as exc:
        log(f"note: could not raise RLIMIT_NOFILE from {soft} to {target}: {exc}")
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def percentile(sorted_values: list[float], q: float) -> float:
    """Linear-interpolated percentile of an already sorted list (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    if len(sorted_values) == 1:
        return sorted_values[0]
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    frac = pos - lo
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * frac


def summarize_ms(values_s: list[float]) -> dict:
    values = sorted(v * 1000.0 for v in values_s)
    if not values:
        return {"count": 0, "p50": None, "p95": None, "p99": None, "max": None, "mean": None}
    return {
        "count": len(values),
        "p50": round(percentile(values, 50), 2),
        "p95": round(percentile(values, 95), 2),
        "p99": round(percentile(values, 99), 2),
        "max": round(values[-1], 2),
        "mean": round(sum(values) / len(values), 2),
    }


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def close_code_of(exc: BaseException) -> str:
    rcvd = getattr(exc, "rcvd", None)
    if rcvd is not None:
        return str(rcvd.code)
    sent = getattr(exc, "sent", None)
    if sent is not None:
        return f"sent:{sent.code}"
    return "no_close_frame"


def retry_after_of(frame: dict) -> float | None:
    """The `retry_after` of an error frame in seconds, or None when it is missing or no number."""
    value = frame.get("retry_after")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or value < 0:
        return None
    return float(value)


def parse_role_list(text: str | None, convert: Callable[[str], object] = str) -> dict[str, list]:
    """``"server=12,worker=13,worker=14"`` -> ``{"server": [12], "worker": [13, 14]}``."""
    roles: dict[str, list] = {}
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        role, sep, value = item.partition("=")
        role, value = role.strip(), value.strip()
        if not sep or not role or not value:
            raise ValueError(f"expected ROLE=VALUE, got {item!r}")
        roles.setdefault(role, []).append(convert(value))
    return roles


def display_path(path: Path) -> str:
    """A path relative to the repository when it is inside it (no machine's paths in results)."""
    try:
        return str(Path(path).resolve().relative_to(REPO))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------- what visitors say


class ConversationTexts:
    """Visitor i plays generated conversation i, then i + 1, ... until it has said enough.

    The conversations come from one seeded `ConversationGenerator`, in the order it makes them
    (it draws them one after another from one random stream, so asking for them in batches
    gives the same conversations), hence the same seed gives every visitor the same words.
    """

    BATCH = 64

    def __init__(self, generator) -> None:
        self._generator = generator
        self._conversations: list = []
        self.played: set[int] = set()

    @classmethod
    def from_files(cls, questions: Path, graph: Path, seed: int) -> ConversationTexts:
        # Imported here: `--text synthetic` needs neither the generator nor its data files.
        if str(Path(__file__).resolve().parent) not in sys.path:
            sys.path.insert(0, str(Path(__file__).resolve().parent))
        from conversation_generator import ConversationGenerator, GraphFacts, read_questions

        return cls(ConversationGenerator(read_questions(questions), GraphFacts(graph), seed))

    def conversation(self, number: int):
        while len(self._conversations) <= number:
            self._conversations.extend(self._generator.conversations(self.BATCH))
        return self._conversations[number]

    def for_visitor(self, index: int, count: int) -> list[tuple[str, str]]:
        """The visitor's first `count` turns as (text, the generator's pattern)."""
        turns: list[tuple[str, str]] = []
        number = index
        while len(turns) < count:
            if number > index + count + 100:
                raise RuntimeError("the generator makes conversations without turns")
            conversation = self.conversation(number)
            self.played.add(number)
            turns += [(turn.text, turn.pattern) for turn in conversation.turns]
            number += 1
        return turns[:count]


def synthetic_texts(index: int, count: int) -> list[tuple[str, str]]:
    """The old made-up messages, which the bot cannot but answer with a fallback."""
    return [(f"bench message {i} from client {index}", "synthetic") for i in range(count)]


# --------------------------------------------------------------------------- CPU from /proc


def parse_proc_stat(text: str) -> tuple[int, int, int, str]:
    """(ppid, utime, stime, comm) from the text of /proc/PID/stat; times in clock ticks.

    The command name is in parentheses and may itself hold spaces and parentheses, so the
    fields are counted from the last ")": state, ppid (4th field), ..., utime and stime (14th
    and 15th).
    """
    left, right = text.index("("), text.rindex(")")
    rest = text[right + 2 :].split()
    return int(rest[1]), int(rest[11]), int(rest[12]), text[left + 1 : right]


def read_processes(proc: Path = Path("/proc")) -> dict[int, tuple[int, int, int, str]]:
    """Every process now: pid -> (ppid, utime, stime, comm)."""
    table: dict[int, tuple[int, int, int, str]] = {}
    with os.scandir(proc) as entries:
        for entry in entries:
            if not entry.name.isdigit():
                continue
            try:
                with open(os.path.join(entry.path, "stat"), encoding="utf-8") as fh:
                    table[int(entry.name)] = parse_proc_stat(fh.read())
            except (OSError, ValueError, IndexError):
                continue  # it exited while we looked
    return table


def with_descendants(roots: Iterable[int], parent_of: dict[int, int]) -> set[int]:
    """The running processes among `roots` and all their descendants."""
    children: dict[int, list[int]] = collections.defaultdict(list)
    for pid, ppid in parent_of.items():
        children[ppid].append(pid)
    found: set[int] = set()
    todo = [pid for pid in roots if pid in parent_of]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children[pid])
    return found


def pids_by_role(
    table: dict[int, tuple[int, int, int, str]],
    roots_by_role: dict[str, list[int]],
    names_by_role: dict[str, list[str]],
) -> dict[str, set[int]]:
    """The processes of each role: the given roots with their descendants, or all of a name."""
    parent_of = {pid: row[0] for pid, row in table.items()}
    roles = {role: with_descendants(roots, parent_of) for role, roots in roots_by_role.items()}
    for role, names in names_by_role.items():
        roles[role] = {pid for pid, row in table.items() if row[3] in names}
    return roles


def ticks_used(
    start: dict[int, tuple[int, int]], end: dict[int, tuple[int, int]]
) -> tuple[int, int]:
    """(user, system) clock ticks used between two samples of {pid: (utime, stime)}.

    A process in both samples counts its difference; one born between them all it used; one
    that exited between them nothing (its time went with it).
    """
    user = system = 0
    for pid, (utime, stime) in end.items():
        utime0, stime0 = start.get(pid, (0, 0))
        if utime < utime0 or stime < stime0:  # the pid now names another process
            utime0, stime0 = 0, 0
        user += utime - utime0
        system += stime - stime0
    return user, system


def cpu_report(
    start: dict[str, dict[int, tuple[int, int]]],
    end: dict[str, dict[int, tuple[int, int]]],
    window_seconds: float,
    answered: int,
    ticks_per_second: int,
    shared_roles: Iterable[str] = (),
) -> dict:
    """CPU seconds per role over the window, and per answered message.

    `shared_roles` (Redis, PostgreSQL found by name) are reported but left out of the total.
    """
    shared = set(shared_roles)
    roles: dict[str, dict] = {}
    own_seconds = 0.0
    for role in sorted(set(start) | set(end)):
        user, system = ticks_used(start.get(role, {}), end.get(role, {}))
        seconds = (user + system) / ticks_per_second
        if role not in shared:
            own_seconds += seconds
        roles[role] = {
            "cpu_seconds": round(seconds, 3),
            "user_seconds": round(user / ticks_per_second, 3),
            "system_seconds": round(system / ticks_per_second, 3),
            "cores_busy": round(seconds / window_seconds, 3) if window_seconds > 0 else None,
            "cpu_ms_per_answered_message": round(1000 * seconds / answered, 3)
            if answered
            else None,
            "processes_at_start": len(start.get(role, {})),
            "processes_at_end": len(end.get(role, {})),
            **({"shared": True} if role in shared else {}),
        }
    return {
        "window_seconds": round(window_seconds, 3),
        "answered_messages": answered,
        "server_and_workers_cpu_seconds": round(own_seconds, 3),
        "cpu_ms_per_answered_message": round(1000 * own_seconds / answered, 3)
        if answered
        else None,
        "roles": roles,
    }


class CpuSampler:
    """Samples the CPU time of the server's and workers' processes at the load's two ends."""

    def __init__(self, roots_by_role: dict[str, list[int]], names_by_role: dict[str, list[str]]):
        self.roots_by_role = roots_by_role
        self.names_by_role = names_by_role
        self.available = os.path.exists("/proc/self/stat")
        self.start_sample: dict | None = None
        self.end_sample: dict | None = None
        self.t_start = self.t_end = 0.0
        self.client_start = self.client_end = None
        self.missing_roots: list[str] = []

    @property
    def wanted(self) -> bool:
        return bool(self.roots_by_role or self.names_by_role)

    def sample(self) -> dict[str, dict[int, tuple[int, int]]]:
        table = read_processes()
        return {
            role: {pid: (table[pid][1], table[pid][2]) for pid in pids}
            for role, pids in pids_by_role(table, self.roots_by_role, self.names_by_role).items()
        }

    def start(self) -> None:
        self.client_start = os.times()
        self.t_start = time.perf_counter()
        if self.available and self.wanted:
            self.start_sample = self.sample()
            self.missing_roots = [
                f"{role}={pid}"
                for role, roots in self.roots_by_role.items()
                for pid in roots
                if pid not in self.start_sample.get(role, {})
            ]

    def stop(self) -> None:
        if self.client_start is None:
            return
        if self.start_sample is not None:
            self.end_sample = self.sample()
        self.t_end = time.perf_counter()
        self.client_end = os.times()

    def report(self, answered: int) -> dict:
        if self.client_start is None or self.client_end is None:
            return {"note": "no message was sent: no load phase to measure"}
        client = (self.client_end.user - self.client_start.user) + (
            self.client_end.system - self.client_start.system
        )
        if self.start_sample is None or self.end_sample is None:
            why = "no /proc on this system" if not self.available else "no --cpu-pids given"
            result: dict = {"note": f"server CPU not measured: {why}"}
        else:
            result = cpu_report(
                self.start_sample,
                self.end_sample,
                self.t_end - self.t_start,
                answered,
                os.sysconf("SC_CLK_TCK"),
                self.names_by_role,
            )
            notes = [CPU_NOTES]
            if self.names_by_role:
                notes.append(SHARED_NOTE.format(roles=", ".join(sorted(self.names_by_role))))
            if self.missing_roots:
                notes.append("not running at the start: " + ", ".join(self.missing_roots))
            result["notes"] = notes
        result["bench_client_cpu_seconds"] = round(client, 3)
        return result


# --------------------------------------------------------------------------- shared stats


@dataclass
class Stats:
    connections_attempted: int = 0
    connections_opened: int = 0
    connections_open_now: int = 0
    connections_held: int = 0
    connection_errors: int = 0
    connection_error_kinds: collections.Counter = field(default_factory=collections.Counter)
    unexpected_closes: int = 0
    unexpected_close_codes: collections.Counter = field(default_factory=collections.Counter)
    handshake_failures: int = 0  # connected but no welcome/synced in time
    messages_sent: int = 0  # distinct messages sent (a resend after "busy" is not another)
    messages_acked: int = 0
    replies_received: int = 0  # messages answered by the bot
    ack_latencies: list = field(default_factory=list)
    reply_latencies: list = field(default_factory=list)
    errors: collections.Counter = field(default_factory=collections.Counter)
    unacked: int = 0  # sent, never acknowledged (within timeout or before the socket died)
    unanswered: int = 0  # acked, but no bot reply within timeout
    late_acks: int = 0
    late_replies: int = 0
    duplicate_acks: int = 0  # a client_id acked more than once
    acks_flagged_duplicate: int = 0  # ack with duplicate=true for a message sent once
    acks_unknown_client_id: int = 0
    duplicate_seq: int = 0  # an event seq seen twice (outside a resume window)
    resume_overlap: int = 0  # seq seen twice right after our own resume (allowed by the protocol)
    seq_gaps: int = 0
    resumes_sent: int = 0
    seq_not_starting_at_1: int = 0
    echo_missing: int = 0
    echo_duplicated: int = 0
    ack_seq_mismatch: int = 0  # the visitor event's seq differs from the ack's seq
    stream_without_end: int = 0
    reply_texts: collections.Counter = field(default_factory=collections.Counter)
    clients_finished: int = 0
    first_send_at: float | None = None
    last_done_at: float | None = None
    timeline: list = field(default_factory=list)  # (t, acked, replies) once a second
    # load outcomes
    messages_refused_busy: int = 0  # "busy" refusals of a message (one message may get several)
    busy_resends: int = 0
    acked_after_busy: int = 0  # accepted on a resend
    refused_for_good: int = 0  # refused on the first send and every resend
    busy_waits: list = field(default_factory=list)  # retry_after values obeyed (s)
    connections_refused_busy: int = 0
    refusal_close_codes: collections.Counter = field(default_factory=collections.Counter)
    not_sent_connection_refused: int = 0
    not_sent_with_person: int = 0  # a person has the conversation: the visitor stops
    left_to_person: int = 0  # acked, then a person took the conversation before the bot answered
    # what the bot said
    bot_messages: int = 0
    not_caught: int = 0
    with_fallback_reason: int = 0
    fallback_reasons: collections.Counter = field(default_factory=collections.Counter)
    answered_by: collections.Counter = field(default_factory=collections.Counter)
    handoff_statuses: collections.Counter = field(default_factory=collections.Counter)
    handoff_reasons: collections.Counter = field(default_factory=collections.Counter)
    turns_sent_by_pattern: collections.Counter = field(default_factory=collections.Counter)
    recovered_by_resume: collections.Counter = field(default_factory=collections.Counter)
    cpu: CpuSampler | None = None


STATS = Stats()


# --------------------------------------------------------------------------- one visitor


class ServerError(Exception):
    def __init__(self, code: str, message: object):
        super().__init__(f"{code}: {message}")
        self.code = code


class Busy(ServerError):
    """The server refused the message under load; it stored nothing."""

    def __init__(self, message: object, retry_after: float):
        super().__init__("busy", message)
        self.retry_after = retry_after


class Visitor:
    """One websocket visitor; a reader task dispatches frames, the driver awaits futures."""

    def __init__(self, index: int, args: argparse.Namespace, script: list[tuple[str, str]]):
        self.index = index
        self.args = args
        self.script = script  # (text, pattern) to send, in order
        self.ws = None
        self.token: str | None = None
        self.conversation_id: str | None = None
        self.sent: list[tuple[str, str]] = []  # (client_id, text) in send order
        self.refused: set[str] = set()  # client ids refused as busy for good: never stored
        self.loop = asyncio.get_running_loop()
        # sequence tracking
        self.last_seq = 0  # highest contiguous seq accepted
        self.seen_seqs: set[int] = set()
        self.resume_pending = False
        self.resumed_ever = False
        self.first_event_checked = False
        # per-message state
        self.ack_count: collections.Counter = collections.Counter()
        self.ack_seq: dict[str, int] = {}
        self.echo_count: collections.Counter = collections.Counter()
        self.echo_seq: dict[str, int] = {}
        self.pending_ack: dict[str, asyncio.Future] = {}
        self.timed_out_ack: set[str] = set()
        self.bot_events: list[int] = []  # seqs of accepted bot message events, in arrival order
        self.claimed_bot: set[int] = set()
        self.reply_waiter: tuple[int, asyncio.Future] | None = None  # (ack seq, future)
        self.timed_out_reply_after: list[int] = []
        self.open_streams: set[str] = set()
        self.welcome: asyncio.Future = self.loop.create_future()
        self.synced: asyncio.Future = self.loop.create_future()
        self.handoff_status = "bot"
        self.refused_busy = False  # the server refused this connection for capacity
        self.closed_by_us = False
        self.dead = False

    # ---------------------------------------------------------------- frames in

    async def reader(self) -> None:
        try:
            async for raw in self.ws:
                now = time.perf_counter()
                if isinstance(raw, bytes):
                    STATS.errors["_binary_frame_from_server"] += 1
                    continue
                try:
                    frame = json.loads(raw)
                except ValueError:
                    STATS.errors["_invalid_json_from_server"] += 1
                    continue
                self.handle(frame, now)
        except ConnectionClosed as exc:
            if not self.closed_by_us and not self.refused_busy:
                STATS.unexpected_closes += 1
                STATS.unexpected_close_codes[close_code_of(exc)] += 1
        finally:
            self.dead = True
            if self.refused_busy:
                STATS.connections_refused_busy += 1
                STATS.refusal_close_codes[str(getattr(self.ws, "close_code", None))] += 1
            exc = ConnectionError("connection closed")
            for fut in (self.welcome, self.synced, *self.pending_ack.values()):
                if not fut.done():
                    fut.set_exception(exc)
            if self.reply_waiter and not self.reply_waiter[1].done():
                self.reply_waiter[1].set_exception(exc)
            # mark consumed so "exception was never retrieved" warnings stay quiet
            for fut in (self.welcome, self.synced):
                if fut.done() and not fut.cancelled():
                    fut.exception()

    def handle(self, frame: dict, now: float) -> None:
        kind = frame.get("type") if isinstance(frame, dict) else None
        if kind == "event":
            self.on_event(frame, now)
        elif kind == "stream_end":
            self.open_streams.discard(frame.get("stream_id"))
            event = frame.get("event")
            if isinstance(event, dict):
                self.on_event(event, now)
            else:
                STATS.errors["_stream_end_without_event"] += 1
        elif kind == "stream_start":
            self.open_streams.add(frame.get("stream_id"))
        elif kind in ("stream_delta", "stream_replace", "typing", "pong"):
            # Live text (the committed reply comes with stream_end) and the other side typing.
            pass
        elif kind == "handoff":
            self.on_handoff_status(frame.get("status"), now)
        elif kind == "ack":
            self.on_ack(frame, now)
        elif kind == "welcome":
            self.token = frame.get("token")
            self.conversation_id = frame.get("conversation_id")
            if not self.welcome.done():
                self.welcome.set_result(frame)
        elif kind == "synced":
            self.resume_pending = False
            if not self.synced.done():
                self.synced.set_result(frame)
        elif kind == "error":
            self.on_error(frame)
        else:
            STATS.errors[f"_unknown_frame:{kind}"] += 1

    def on_error(self, frame: dict) -> None:
        code = str(frame.get("code"))
        STATS.errors[code] += 1
        cid = frame.get("client_id")
        if code == "busy" and cid is None and not self.welcome.done():
            # The connection is refused for capacity; the server closes it (1013) next.
            self.refused_busy = True
            return
        fut = self.pending_ack.get(cid) if cid else None
        if fut is None or fut.done():
            return
        if code == "busy":
            retry_after = retry_after_of(frame)
            if retry_after is None:
                STATS.errors["_busy_without_retry_after"] += 1
                retry_after = 1.0
            fut.set_exception(Busy(frame.get("message"), retry_after))
        else:
            fut.set_exception(ServerError(code, frame.get("message")))

    def on_handoff_status(self, status: object, now: float) -> None:
        self.handoff_status = str(status)
        waiter = self.reply_waiter
        if self.handoff_status in TO_PERSON and waiter is not None and not waiter[1].done():
            # A person has the conversation now: the bot will not answer the message.
            waiter[1].set_result(("person", now))
            self.reply_waiter = None

    def on_ack(self, frame: dict, now: float) -> None:
        cid = frame.get("client_id")
        self.ack_count[cid] += 1
        if self.ack_count[cid] > 1:
            STATS.duplicate_acks += 1
        if frame.get("duplicate"):
            STATS.acks_flagged_duplicate += 1
        seq = frame.get("seq")
        if cid not in self.ack_seq:
            self.ack_seq[cid] = seq
        fut = self.pending_ack.pop(cid, None)
        if fut is not None:
            if not fut.done():
                fut.set_result((seq, now))
        elif cid in self.timed_out_ack:
            STATS.late_acks += 1
        elif self.ack_count[cid] == 1:
            STATS.acks_unknown_client_id += 1
        self.check_echo_seq(cid)

    def check_echo_seq(self, cid: str) -> None:
        if cid in self.ack_seq and cid in self.echo_seq and self.ack_seq[cid] != self.echo_seq[cid]:
            STATS.ack_seq_mismatch += 1

    def on_event(self, event: dict, now: float) -> None:
        seq = event.get("seq")
        if not isinstance(seq, int):
            STATS.errors["_event_without_seq"] += 1
            return
        if seq in self.seen_seqs:
            if self.resumed_ever:
                STATS.resume_overlap += 1
            else:
                STATS.duplicate_seq += 1
            return
        if not self.first_event_checked:
            self.first_event_checked = True
            if seq != 1:
                STATS.seq_not_starting_at_1 += 1
        if seq > self.last_seq + 1:
            # A gap: do what the widget does - drop the early event and ask for the rest.
            STATS.seq_gaps += 1
            if not self.resume_pending:
                self.resume_pending = True
                self.resumed_ever = True
                STATS.resumes_sent += 1
                asyncio.ensure_future(self.send_json({"type": "resume", "last_seq": self.last_seq}))
            return
        if seq <= self.last_seq:  # below the contiguous mark yet unseen: cannot happen
            STATS.errors["_seq_below_mark_unseen"] += 1
            return
        self.seen_seqs.add(seq)
        self.last_seq = seq
        author = event.get("author")
        data = event.get("data") if isinstance(event.get("data"), dict) else {}
        if self.resume_pending:  # an event that came late, brought by our resume
            STATS.recovered_by_resume[f"{author}/{event.get('kind')}"] += 1
        if event.get("kind") == "handoff":
            STATS.handoff_statuses[str(data.get("status"))] += 1
            STATS.handoff_reasons[str(data.get("reason"))] += 1
            return
        if event.get("kind") != "message":
            return
        if author == "visitor":
            cid = event.get("client_id")
            self.echo_count[cid] += 1
            if self.echo_count[cid] > 1:
                STATS.echo_duplicated += 1
            else:
                self.echo_seq[cid] = seq
                self.check_echo_seq(cid)
        elif author == "bot":
            self.bot_events.append(seq)
            text = str(event.get("text"))
            STATS.reply_texts[text[:100]] += 1
            STATS.bot_messages += 1
            if text.startswith(NOT_CAUGHT_PREFIX):
                STATS.not_caught += 1
            if data.get("fallback_reason"):
                STATS.with_fallback_reason += 1
                STATS.fallback_reasons[str(data["fallback_reason"])] += 1
            if data.get("answered_by"):
                STATS.answered_by[str(data["answered_by"])] += 1
            waiter = self.reply_waiter
            if waiter is not None and seq > waiter[0] and not waiter[1].done():
                self.claimed_bot.add(seq)
                waiter[1].set_result(("bot", now))
                self.reply_waiter = None
            elif self.timed_out_reply_after and seq > self.timed_out_reply_after[0]:
                self.timed_out_reply_after.pop(0)
                self.claimed_bot.add(seq)
                STATS.late_replies += 1

    # ---------------------------------------------------------------- frames out

    async def send_json(self, obj: dict) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(json.dumps(obj))

    def wait_reply(self, ack_seq: int) -> asyncio.Future:
        """A future for ("bot", time) of the reply, or ("person", time) if a person took over."""
        fut = self.loop.create_future()
        if self.dead:
            fut.set_exception(ConnectionError("connection closed"))
            return fut
        for seq in self.bot_events:  # the reply may already be here
            if seq > ack_seq and seq not in self.claimed_bot:
                self.claimed_bot.add(seq)
                fut.set_result(("bot", time.perf_counter()))
                return fut
        if self.handoff_status in TO_PERSON:
            fut.set_result(("person", time.perf_counter()))
            return fut
        self.reply_waiter = (ack_seq, fut)
        return fut

    # ---------------------------------------------------------------- driver

    async def run(self) -> None:
        args = self.args
        STATS.connections_attempted += 1
        try:
            self.ws = await ws_connect(
                args.url,
                origin=args.origin,
                open_timeout=args.open_timeout,
                close_timeout=5,
                ping_interval=None,  # like a browser: no client pings
                max_size=4 * 1024 * 1024,
                max_queue=256,
                compression=None if args.no_compression else "deflate",
                proxy=None,
                user_agent_header="ws_roundtrip-bench",
            )
        except Exception as exc:  # noqa: BLE001 - any failure to open counts
            STATS.connection_errors += 1
            if isinstance(exc, InvalidStatus):
                kind = f"http_{exc.response.status_code}"
            else:
                kind = type(exc).__name__
            STATS.connection_error_kinds[kind] += 1
            STATS.clients_finished += 1
            return
        STATS.connections_opened += 1
        STATS.connections_open_now += 1
        STATS.connections_held = max(STATS.connections_held, STATS.connections_open_now)
        reader = asyncio.ensure_future(self.reader())
        try:
            await self.converse()
        finally:
            if STATS.first_send_at is not None:
                STATS.last_done_at = max(STATS.last_done_at or 0.0, time.perf_counter())
            self.closed_by_us = True
            STATS.clients_finished += 1
            with contextlib.suppress(Exception):
                await self.ws.close()
            await asyncio.gather(reader, return_exceptions=True)
            STATS.connections_open_now -= 1
            if self.open_streams:
                STATS.stream_without_end += len(self.open_streams)

    async def converse(self) -> None:
        args = self.args
        await self.send_json({"type": "hello", "token": None, "last_seq": 0})
        try:
            await asyncio.wait_for(asyncio.shield(self.welcome), args.timeout)
            await asyncio.wait_for(asyncio.shield(self.synced), args.timeout)
        except (TimeoutError, ConnectionError):
            if self.refused_busy:
                STATS.not_sent_connection_refused += len(self.script)
            else:
                STATS.handshake_failures += 1
            return
        for i, (text, pattern) in enumerate(self.script):
            if i and args.think_ms:
                await asyncio.sleep(args.think_ms / 1000.0)
            if self.handoff_status in TO_PERSON:
                # A person has the conversation: a visitor waits for them, not for the bot.
                STATS.not_sent_with_person += len(self.script) - i
                return
            if not await self.exchange(text, pattern):
                return

    async def exchange(self, text: str, pattern: str) -> bool:
        """Send one message until accepted (resending after "busy"), await ack and reply.

        Returns False when the connection is gone and the visitor stops.
        """
        args = self.args
        cid = str(uuid.uuid4())
        self.sent.append((cid, text))
        t0 = time.perf_counter()
        if STATS.first_send_at is None:
            STATS.first_send_at = t0
            if STATS.cpu is not None:
                STATS.cpu.start()
        refusals = 0
        while True:
            ack_fut = self.loop.create_future()
            self.pending_ack[cid] = ack_fut
            t_try = time.perf_counter()
            try:
                # The same client_id on every resend: the server stored nothing when it refused.
                await self.ws.send(json.dumps({"type": "message", "client_id": cid, "text": text}))
            except ConnectionClosed:
                self.pending_ack.pop(cid, None)
                if refusals:  # refused before, and now no chance to resend: never stored
                    STATS.refused_for_good += 1
                    self.refused.add(cid)
                else:
                    self.sent.pop()  # it never left
                return False
            if refusals:
                STATS.busy_resends += 1
            else:
                STATS.messages_sent += 1
                STATS.turns_sent_by_pattern[pattern] += 1
            deadline = t_try + args.timeout
            try:
                ack_seq, t_ack = await asyncio.wait_for(
                    ack_fut, max(0.0, deadline - time.perf_counter())
                )
            except Busy as busy:
                STATS.messages_refused_busy += 1
                self.pending_ack.pop(cid, None)
                if refusals >= args.busy_retries:
                    STATS.refused_for_good += 1
                    self.refused.add(cid)
                    return True
                refusals += 1
                STATS.busy_waits.append(busy.retry_after)
                await asyncio.sleep(busy.retry_after)
                continue
            except TimeoutError:
                self.pending_ack.pop(cid, None)
                self.timed_out_ack.add(cid)
                STATS.unacked += 1
                return True
            except ConnectionError:
                STATS.unacked += 1
                return False
            except ServerError:
                STATS.unacked += 1
                return True
            break
        STATS.messages_acked += 1
        if refusals:
            STATS.acked_after_busy += 1
        STATS.ack_latencies.append(t_ack - t0)  # from the first send
        reply = self.wait_reply(ack_seq if isinstance(ack_seq, int) else 0)
        try:
            answered_by, t_reply = await asyncio.wait_for(
                reply, max(0.0, deadline - time.perf_counter())
            )
        except TimeoutError:
            self.reply_waiter = None
            self.timed_out_reply_after.append(ack_seq)
            STATS.unanswered += 1
            return True
        except ConnectionError:
            STATS.unanswered += 1
            return False
        if answered_by == "person":
            STATS.left_to_person += 1
            return True
        STATS.replies_received += 1
        STATS.reply_latencies.append(t_reply - t0)
        return True


# --------------------------------------------------------------------------- verification


def check_replay(
    events: list[dict],
    sent: list[tuple[str, str]],
    acked: set[str],
    refused: set[str],
    seen_bot: Iterable[int],
) -> str | None:
    """Compare a conversation's stored replay with what its visitor sent; None when it holds.

    The replay must hold seqs 1..n; the acknowledged messages, once each, in order; none of
    those refused as busy; and each visitor message answered by the bot before the next one,
    with the replies the visitor received live. A message sent but neither acknowledged nor
    refused (timed out, or the socket died) may or may not be stored. Once a person has the
    conversation (a handoff to `waiting` or `agent`), the bot answers no more.
    """
    seqs = [e.get("seq") for e in events]
    if seqs != list(range(1, len(seqs) + 1)):
        return f"replay seqs not 1..n: {seqs[:20]}"
    items: list[tuple[str, dict]] = []
    for e in events:
        data = e.get("data") if isinstance(e.get("data"), dict) else {}
        if e.get("kind") == "message" and e.get("author") in ("visitor", "bot"):
            items.append((e["author"][0], e))
        elif e.get("kind") == "handoff" and data.get("status") in TO_PERSON:
            items.append(("p", e))
    stored = [(e.get("client_id"), e.get("text")) for kind, e in items if kind == "v"]
    stored_refused = [cid for cid, _ in stored if cid in refused]
    if stored_refused:
        return f"{len(stored_refused)} message(s) refused as busy were stored"
    expected = [(cid, text) for cid, text in sent if cid in acked]
    unsure = {cid for cid, _ in sent} - acked - refused
    kept = [(cid, text) for cid, text in stored if cid not in unsure]
    if kept != expected:
        expected_ids = [cid for cid, _ in expected]
        got_ids = [cid for cid, _ in kept]
        if sorted(got_ids) == sorted(expected_ids) and got_ids != expected_ids:
            return "visitor messages stored out of order"
        missing = len(set(expected_ids) - set(got_ids))
        extra = len(got_ids) - len(set(got_ids))
        return (
            f"visitor messages differ: acked {len(expected_ids)}, stored {len(got_ids)} "
            f"(missing {missing}, repeated {extra}, text/order mismatch otherwise)"
        )
    # Every visitor message is answered before the next one: by one bot message or more (a
    # tentative answer sends its other options as a second one). A bot greeting before the
    # first visitor message is allowed and ignored. After a handoff to a person, messages wait
    # for the person.
    first_visitor = next((k for k, (kind, _) in enumerate(items) if kind == "v"), len(items))
    tail = items[first_visitor:]
    pattern = "".join(kind for kind, _ in tail)
    with_bot, _, _ = pattern.partition("p")
    if not re.fullmatch(r"(vb+)*v*" if "p" in pattern else r"(vb+)*", with_bot):
        return (
            f"expected each of {len(stored)} visitor messages answered before the next, "
            f"pattern {pattern[:60]}"
        )
    # And the stored replies are those the visitor saw live. Only the last answer may hold more
    # than was seen: the client stops listening at its first message, and a tentative answer's
    # options follow it.
    stored_bot = [e.get("seq") for kind, e in tail if kind == "b"]
    first_seq = tail[0][1].get("seq") if tail else 0
    seen = {seq for seq in seen_bot if seq > first_seq}
    last_visitor_seq = max((e.get("seq") for kind, e in tail if kind == "v"), default=0)
    unseen = [seq for seq in stored_bot if seq not in seen]
    if seen - set(stored_bot) or any(seq < last_visitor_seq for seq in unseen):
        return (
            f"stored bot messages differ from those received live: stored {len(stored_bot)}, "
            f"received {len(seen)}"
        )
    return None


async def verify_one(
    visitor: Visitor, args: argparse.Namespace, handoffs: dict[str, collections.Counter]
) -> tuple[bool, str | None]:
    """Reconnect with the visitor's token, replay from 0, compare with what was sent.

    Counts the stored handoff events into `handoffs` (by status and by reason): the live count
    misses those that came after a visitor's last reply.
    """
    events: list[dict] = []
    try:
        async with ws_connect(
            args.url,
            origin=args.origin,
            open_timeout=args.open_timeout,
            close_timeout=5,
            ping_interval=None,
            max_size=64 * 1024 * 1024,
            max_queue=None,
            proxy=None,
            compression=None if args.no_compression else "deflate",
            user_agent_header="ws_roundtrip-bench-verify",
        ) as ws:
            await ws.send(json.dumps({"type": "hello", "token": visitor.token, "last_seq": 0}))
            async with asyncio.timeout(args.timeout):
                while True:
                    frame = json.loads(await ws.recv())
                    kind = frame.get("type")
                    if kind == "event":
                        events.append(frame)
                    elif kind == "stream_end" and isinstance(frame.get("event"), dict):
                        events.append(frame["event"])
                    elif kind == "welcome":
                        if (
                            visitor.conversation_id
                            and frame.get("conversation_id") != visitor.conversation_id
                        ):
                            return False, "welcome names another conversation"
                    elif kind == "error":
                        return False, f"error frame {frame.get('code')}"
                    elif kind == "synced":
                        break
    except TimeoutError:
        return False, "replay not complete within timeout"
    except Exception as exc:  # noqa: BLE001
        return False, f"{type(exc).__name__}: {exc}"
    for event in events:
        data = event.get("data") if isinstance(event.get("data"), dict) else {}
        if event.get("kind") == "handoff":
            handoffs["by_status"][str(data.get("status"))] += 1
            handoffs["by_reason"][str(data.get("reason"))] += 1
    why = check_replay(
        events, visitor.sent, set(visitor.ack_seq), visitor.refused, visitor.bot_events
    )
    return why is None, why


async def verify(visitors: list[Visitor], args: argparse.Namespace) -> dict:
    candidates = [v for v in visitors if v.token and v.sent]
    if args.verify_sample is not None and args.verify_sample < len(candidates):
        candidates = random.Random(args.seed).sample(candidates, args.verify_sample)
    sem = asyncio.Semaphore(args.verify_concurrency)
    failures: collections.Counter = collections.Counter()
    examples: list[dict] = []
    handoffs = {"by_status": collections.Counter(), "by_reason": collections.Counter()}
    ok = 0

    async def one(v: Visitor) -> None:
        nonlocal ok
        async with sem:
            good, why = await verify_one(v, args, handoffs)
        if good:
            ok += 1
        else:
            failures[why.split(":")[0] if why else "?"] += 1
            if len(examples) < 10:
                examples.append(
                    {"client": v.index, "conversation_id": v.conversation_id, "why": why}
                )

    t0 = time.perf_counter()
    await asyncio.gather(*(one(v) for v in candidates))
    return {
        "verified_conversations": ok,
        "checked_conversations": len(candidates),
        "stored_mismatches": len(candidates) - ok,
        "mismatch_kinds": dict(failures),
        "mismatch_examples": examples,
        "handoff_events_stored": {k: dict(c.most_common()) for k, c in handoffs.items()},
        "verify_seconds": round(time.perf_counter() - t0, 3),
    }


# --------------------------------------------------------------------------- main


async def progress(t_start: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
        t = time.perf_counter() - t_start
        STATS.timeline.append((t, STATS.messages_acked, STATS.replies_received))
        n_err = sum(STATS.errors.values())
        log(
            f"[{t:7.1f}s] open {STATS.connections_open_now}/{STATS.connections_attempted} "
            f"done {STATS.clients_finished} sent {STATS.messages_sent} "
            f"acked {STATS.messages_acked} replies {STATS.replies_received} "
            f"busy {STATS.messages_refused_busy}/{STATS.connections_refused_busy} "
            f"not_caught {STATS.not_caught} errors {n_err} "
            f"conn_err {STATS.connection_errors} closes {STATS.unexpected_closes} "
            f"hello_fail {STATS.handshake_failures}"
        )


def write_chart(path: str, result: dict) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log(f"note: matplotlib is not importable; no chart written to {path}")
        return
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, values in (("ack", STATS.ack_latencies), ("reply", STATS.reply_latencies)):
        vals = sorted(v * 1000 for v in values)
        if vals:
            ax1.plot(vals, [(k + 1) / len(vals) for k in range(len(vals))], label=f"{name} latency")
    ax1.set_xlabel("ms")
    ax1.set_ylabel("fraction of messages")
    ax1.set_xscale("log")
    ax1.grid(True, alpha=0.3)
    ax1.legend()
    ax1.set_title("Latency CDF")
    if STATS.timeline:
        ts = [t for t, _, _ in STATS.timeline]
        acked = [a for _, a, _ in STATS.timeline]
        rate = [0] + [
            (acked[k] - acked[k - 1]) / max(ts[k] - ts[k - 1], 1e-9) for k in range(1, len(ts))
        ]
        ax2.plot(ts, rate)
    ax2.set_xlabel("s")
    ax2.set_ylabel("acked messages / s")
    ax2.grid(True, alpha=0.3)
    ax2.set_title("Throughput")
    cfg = result["config"]
    fig.suptitle(f"{cfg['clients']} clients x {cfg['messages']} messages - {cfg['url']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    log(f"chart written to {path}")


def visitor_scripts(args: argparse.Namespace) -> tuple[list[list[tuple[str, str]]], dict]:
    """What each visitor will say, and how that was chosen (for the JSON's config)."""
    if args.text == "synthetic":
        scripts = [synthetic_texts(i, args.messages) for i in range(args.clients)]
        return scripts, {"source": "synthetic", "what": "bench message I from client J"}
    texts = ConversationTexts.from_files(args.questions, args.graph, args.seed)
    scripts = [texts.for_visitor(i, args.messages) for i in range(args.clients)]
    planned = collections.Counter(pattern for script in scripts for _, pattern in script)
    return scripts, {
        "source": "conversations",
        "what": "conversations generated by bench/conversation_generator.py from BANKING77 test "
        "questions and the demo graph; visitor i plays conversation i, then i+1, ...",
        "questions": display_path(args.questions),
        "graph": display_path(args.graph),
        "seed": args.seed,
        "conversations_played": len(texts.played),
        "planned_turns_by_pattern": dict(planned.most_common()),
    }


async def amain(args: argparse.Namespace) -> dict:
    scripts, text_config = visitor_scripts(args)
    STATS.cpu = CpuSampler(args.cpu_pids, args.cpu_names)
    visitors: list[Visitor] = []
    t_start = time.perf_counter()
    stop = asyncio.Event()
    prog = asyncio.ensure_future(progress(t_start, stop))

    async def start(i: int) -> None:
        if args.ramp_seconds > 0 and args.clients > 1:
            await asyncio.sleep(args.ramp_seconds * i / args.clients)
        v = Visitor(i, args, scripts[i])
        visitors.append(v)
        await v.run()

    await asyncio.gather(*(start(i) for i in range(args.clients)))
    STATS.cpu.stop()
    t_end = time.perf_counter()
    stop.set()
    await prog

    send_start = STATS.first_send_at or t_end
    send_end = STATS.last_done_at or t_end
    send_phase = max(send_end - send_start, 1e-9)
    ok_verify: dict = {
        "verified_conversations": 0,
        "checked_conversations": 0,
        "stored_mismatches": 0,
    }
    if not args.no_verify:
        how_many = "all" if args.verify_sample is None else args.verify_sample
        log(f"verifying stored conversations ({how_many}) ...")
        ok_verify = await verify(visitors, args)

    never_sent = (
        args.clients * args.messages
        - STATS.messages_sent
        - STATS.not_sent_connection_refused
        - STATS.not_sent_with_person
    )
    lost = STATS.unacked + STATS.unanswered
    duplicated = (
        STATS.duplicate_acks
        + STATS.acks_flagged_duplicate
        + STATS.duplicate_seq
        + STATS.echo_duplicated
    )
    # visitor messages acknowledged but never seen as an event on the sender's socket
    echo_missing = sum(
        1 for v in visitors for cid, _ in v.sent if cid in v.ack_seq and v.echo_count[cid] == 0
    )
    cpu = STATS.cpu.report(STATS.replies_received)
    result = {
        "config": {
            "url": args.url,
            "origin": args.origin,
            "clients": args.clients,
            "messages": args.messages,
            "text": text_config,
            "ramp_seconds": args.ramp_seconds,
            "timeout": args.timeout,
            "think_ms": args.think_ms,
            "busy_retries": args.busy_retries,
            "compression": not args.no_compression,
            "server": args.server_info,
        },
        "connections_attempted": STATS.connections_attempted,
        "connections_opened": STATS.connections_opened,
        "connections_held": STATS.connections_held,
        "messages_sent": STATS.messages_sent,
        "messages_acked": STATS.messages_acked,
        "replies_received": STATS.replies_received,
        "messages_per_second": round(STATS.messages_acked / send_phase, 2),
        "send_phase_seconds": round(send_phase, 3),
        "ack_latency_ms": summarize_ms(STATS.ack_latencies),
        "reply_latency_ms": summarize_ms(STATS.reply_latencies),
        "cpu_ms_per_answered_message": cpu.get("cpu_ms_per_answered_message"),
        "cpu": cpu,
        "lost_messages": lost,
        "duplicated_messages": duplicated,
        # Load outcomes: refusals under admission control (not failures), wrong answers.
        "messages_refused_busy": STATS.messages_refused_busy,
        "refused_for_good": STATS.refused_for_good,
        "connections_refused_busy": STATS.connections_refused_busy,
        "fallbacks_not_caught": STATS.not_caught,
        "share_not_caught": share(STATS.not_caught, STATS.bot_messages),
        "load_outcomes": {
            "busy_resends": STATS.busy_resends,
            "acked_after_busy": STATS.acked_after_busy,
            "busy_retry_after_ms": summarize_ms(STATS.busy_waits),
            "connection_refusal_close_codes": dict(STATS.refusal_close_codes),
            "messages_not_sent_connection_refused": STATS.not_sent_connection_refused,
        },
        "answers": {
            "bot_messages_received": STATS.bot_messages,
            "fallbacks_not_caught": STATS.not_caught,
            "share_not_caught": share(STATS.not_caught, STATS.bot_messages),
            "with_fallback_reason": STATS.with_fallback_reason,
            "share_with_fallback_reason": share(STATS.with_fallback_reason, STATS.bot_messages),
            "fallback_reasons": dict(STATS.fallback_reasons.most_common()),
            "answered_by": dict(STATS.answered_by.most_common()),
            "turns_sent_by_pattern": dict(STATS.turns_sent_by_pattern.most_common()),
        },
        "handoffs": {
            # Seen live; a handoff after a visitor's last reply may come after it stopped
            # listening: `stored` counts them in the replays of the checked conversations.
            "events_by_status": dict(STATS.handoff_statuses.most_common()),
            "events_by_reason": dict(STATS.handoff_reasons.most_common()),
            "stored": ok_verify.get("handoff_events_stored"),
            "messages_left_to_person": STATS.left_to_person,
            "messages_not_sent_with_person": STATS.not_sent_with_person,
        },
        "errors": dict(sorted(STATS.errors.items())),
        "connection_errors": STATS.connection_errors,
        "checks": {
            "never_sent": never_sent,
            "unacked": STATS.unacked,
            "unanswered": STATS.unanswered,
            "late_acks": STATS.late_acks,
            "late_replies": STATS.late_replies,
            "duplicate_acks": STATS.duplicate_acks,
            "acks_flagged_duplicate": STATS.acks_flagged_duplicate,
            "acks_unknown_client_id": STATS.acks_unknown_client_id,
            "duplicate_seq": STATS.duplicate_seq,
            "resume_overlap_seq": STATS.resume_overlap,
            "seq_gaps": STATS.seq_gaps,
            "resumes_sent": STATS.resumes_sent,
            "events_recovered_by_resume": dict(STATS.recovered_by_resume.most_common()),
            "seq_not_starting_at_1": STATS.seq_not_starting_at_1,
            "echo_missing": echo_missing,
            "echo_duplicated": STATS.echo_duplicated,
            "ack_seq_mismatch": STATS.ack_seq_mismatch,
            "streams_without_end": STATS.stream_without_end,
            "handshake_failures": STATS.handshake_failures,
            "connection_error_kinds": dict(STATS.connection_error_kinds),
            "unexpected_closes": STATS.unexpected_closes,
            "unexpected_close_codes": dict(STATS.unexpected_close_codes),
        },
        # What the bot said, most frequent first: fallbacks (e.g. a classifier timeout) show here.
        "bot_reply_texts": dict(STATS.reply_texts.most_common(10)),
        "verified_conversations": ok_verify["verified_conversations"],
        "stored_mismatches": ok_verify["stored_mismatches"],
        "verification": ok_verify,
        "wall_seconds": round(time.perf_counter() - t_start, 3),
    }
    return result


def parse_server_info(text: str | None) -> dict:
    """``"mode=services,web_workers=2"`` -> ``{"mode": "services", "web_workers": 2}``."""
    info: dict = {}
    for key, values in parse_role_list(text).items():
        value = values[-1]
        info[key] = int(value) if re.fullmatch(r"-?\d+", value) else value
    return info


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--url", default="ws://127.0.0.1:8000/ws/chat/", help="websocket URL")
    p.add_argument("--origin", default=None, help="Origin header (default: derived from --url)")
    p.add_argument("--clients", type=int, default=200, help="simultaneous visitors")
    p.add_argument("--messages", type=int, default=10, help="messages per visitor")
    p.add_argument(
        "--text",
        choices=("conversations", "synthetic"),
        default="conversations",
        help="what visitors say: generated banking conversations from BANKING77's test "
        "questions, or made-up 'bench message I from client J' text",
    )
    p.add_argument(
        "--questions",
        type=Path,
        default=DEFAULT_QUESTIONS,
        help="BANKING77 test questions (CSV) for --text conversations",
    )
    p.add_argument(
        "--graph", type=Path, default=DEFAULT_GRAPH, help="knowledge graph JSON for the generator"
    )
    p.add_argument(
        "--ramp-s",
        "--ramp-seconds",
        dest="ramp_seconds",
        type=float,
        default=0.0,
        help="spread the connection starts over this many seconds (0: all at once)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds to wait for each ack+reply (and the handshake)",
    )
    p.add_argument(
        "--open-timeout",
        type=float,
        default=30.0,
        help="seconds to wait for the websocket handshake",
    )
    p.add_argument(
        "--think-ms",
        type=float,
        default=0.0,
        help="a visitor's pause between a reply and its next message",
    )
    p.add_argument(
        "--busy-retries",
        type=int,
        default=3,
        help="resend a message refused as busy (same client_id, after retry_after) this often",
    )
    p.add_argument("--no-compression", action="store_true", help="do not offer permessage-deflate")
    p.add_argument("--no-verify", action="store_true", help="skip the replay verification phase")
    p.add_argument(
        "--verify-sample",
        type=int,
        default=None,
        help="verify only this many conversations (default: all)",
    )
    p.add_argument(
        "--verify-concurrency", type=int, default=50, help="parallel verification connections"
    )
    p.add_argument(
        "--seed", type=int, default=1, help="seed for the conversations and the verification sample"
    )
    p.add_argument(
        "--cpu-pids",
        default=None,
        help="ROLE=PID,... processes whose CPU (with all their descendants) is measured, e.g. "
        "server=123,worker=456,worker=789",
    )
    p.add_argument(
        "--cpu-names",
        default=None,
        help="ROLE=NAME,... processes measured by command name, reported apart as shared, "
        "e.g. redis=redis-server,postgres=postgres",
    )
    p.add_argument(
        "--server-info",
        default=None,
        help="KEY=VALUE,... how the server was started, copied into the JSON's config",
    )
    p.add_argument(
        "--loop", choices=("auto", "uvloop", "asyncio"), default="auto", help="event loop"
    )
    p.add_argument("--out", default=None, help="also write the JSON result to this file")
    p.add_argument(
        "--chart", default=None, help="write a latency/throughput PNG (needs matplotlib)"
    )
    args = p.parse_args(argv)
    if args.clients < 1 or args.messages < 0:
        p.error("--clients must be >= 1 and --messages >= 0")
    if args.busy_retries < 0:
        p.error("--busy-retries must be >= 0")
    try:
        args.cpu_pids = parse_role_list(args.cpu_pids, int)
        args.cpu_names = parse_role_list(args.cpu_names)
        args.server_info = parse_server_info(args.server_info)
    except ValueError as exc:
        p.error(f"--cpu-pids, --cpu-names, --server-info: {exc}")
    overlap = set(args.cpu_pids) & set(args.cpu_names)
    if overlap:
        p.error(f"a role is given both by pid and by name: {', '.join(sorted(overlap))}")
    if args.text == "conversations":
        for path in (args.questions, args.graph):
            if not path.is_file():
                p.error(f"{path} does not exist (needed by --text conversations)")
    if args.origin is None:
        args.origin = derive_origin(args.url)
    elif args.origin.lower() in ("", "none"):
        args.origin = None
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    soft, hard = raise_nofile_limit()
    if soft != resource.RLIM_INFINITY and soft < args.clients * 2 + 64:
        log(f"warning: open-file limit {soft} may be too low for {args.clients} clients")
    runner = asyncio.run
    if args.loop in ("auto", "uvloop"):
        try:
            import uvloop

            runner = uvloop.run
        except ImportError:
            if args.loop == "uvloop":
                log("uvloop is not installed")
                return 2
    loop_name = "asyncio" if runner is asyncio.run else "uvloop"
    log(
        f"ws_roundtrip: {args.clients} clients x {args.messages} messages ({args.text}) -> "
        f"{args.url} (origin {args.origin}, nofile {soft}, loop {loop_name})"
    )
    result = runner(amain(args))
    text = json.dumps(result, indent=2)
    print(text, flush=True)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    if args.chart:
        write_chart(args.chart, result)
    bad = (
        result["lost_messages"]
        or result["duplicated_messages"]
        or result["stored_mismatches"]
        or result["connection_errors"]
        or result["checks"]["never_sent"]
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

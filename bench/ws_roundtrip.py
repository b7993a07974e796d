#!/usr/bin/env python3
"""Websocket round-trip load benchmark for the chat server (see docs/protocol.md).

Opens N visitor connections, has each send M messages one after another (the next one only
after the bot's committed reply to the previous one has arrived), measures ack and reply
latency, checks the sequence numbers it receives, and finally reconnects every visitor (or a
sample) with its token and ``last_seq`` 0 to check that the stored conversation holds exactly
the messages that were sent, once each, in order, each followed by one bot reply.

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
import random
import re
import resource
import sys
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

try:
    from websockets.asyncio.client import connect as ws_connect
    from websockets.exceptions import ConnectionClosed, InvalidStatus
except ImportError:  # pragma: no cover - depends on the environment
    sys.exit(
        "ws_roundtrip.py needs websockets >= 13 (websockets.asyncio.client); "
        "install uvicorn[standard] or websockets"
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


def close_code_of(exc: BaseException) -> str:
    rcvd = getattr(exc, "rcvd", None)
    if rcvd is not None:
        return str(rcvd.code)
    sent = getattr(exc, "sent", None)
    if sent is not None:
        return f"sent:{sent.code}"
    return "no_close_frame"


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
    messages_sent: int = 0
    messages_acked: int = 0
    replies_received: int = 0
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


STATS = Stats()


# --------------------------------------------------------------------------- one visitor


class Visitor:
    """One websocket visitor; a reader task dispatches frames, the driver awaits futures."""

    def __init__(self, index: int, args: argparse.Namespace):
        self.index = index
        self.args = args
        self.ws = None
        self.token: str | None = None
        self.conversation_id: str | None = None
        self.sent: list[tuple[str, str]] = []  # (client_id, text) in send order
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
            if not self.closed_by_us:
                STATS.unexpected_closes += 1
                STATS.unexpected_close_codes[close_code_of(exc)] += 1
        finally:
            self.dead = True
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
        elif kind in ("stream_delta", "stream_replace", "typing", "pong", "handoff"):
            # Live text (the committed reply comes with stream_end) and status frames: who
            # answers now, which the widget shows and the benchmark does not measure.
            pass
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
            code = str(frame.get("code"))
            STATS.errors[code] += 1
            cid = frame.get("client_id")
            fut = self.pending_ack.get(cid) if cid else None
            if fut is not None and not fut.done():
                fut.set_exception(ServerError(code, frame.get("message")))
        else:
            STATS.errors[f"_unknown_frame:{kind}"] += 1

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
            STATS.reply_texts[str(event.get("text"))[:100]] += 1
            waiter = self.reply_waiter
            if waiter is not None and seq > waiter[0] and not waiter[1].done():
                self.claimed_bot.add(seq)
                waiter[1].set_result((seq, now))
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
        fut = self.loop.create_future()
        if self.dead:
            fut.set_exception(ConnectionError("connection closed"))
            return fut
        for seq in self.bot_events:  # the reply may already be here
            if seq > ack_seq and seq not in self.claimed_bot:
                self.claimed_bot.add(seq)
                fut.set_result((seq, time.perf_counter()))
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
            STATS.handshake_failures += 1
            return
        for i in range(args.messages):
            if i and args.think_ms:
                await asyncio.sleep(args.think_ms / 1000.0)
            cid = str(uuid.uuid4())
            text = f"bench message {i} from client {self.index}"
            ack_fut = self.loop.create_future()
            self.pending_ack[cid] = ack_fut
            self.sent.append((cid, text))
            t0 = time.perf_counter()
            if STATS.first_send_at is None:
                STATS.first_send_at = t0
            try:
                await self.ws.send(json.dumps({"type": "message", "client_id": cid, "text": text}))
            except ConnectionClosed:
                self.pending_ack.pop(cid, None)
                self.sent.pop()
                return
            STATS.messages_sent += 1
            deadline = t0 + args.timeout
            try:
                ack_seq, t_ack = await asyncio.wait_for(
                    ack_fut, max(0.0, deadline - time.perf_counter())
                )
            except TimeoutError:
                self.pending_ack.pop(cid, None)
                self.timed_out_ack.add(cid)
                STATS.unacked += 1
                continue
            except ConnectionError:
                STATS.unacked += 1
                return
            except ServerError:
                STATS.unacked += 1
                continue
            STATS.messages_acked += 1
            STATS.ack_latencies.append(t_ack - t0)
            reply = self.wait_reply(ack_seq if isinstance(ack_seq, int) else 0)
            try:
                _, t_reply = await asyncio.wait_for(reply, max(0.0, deadline - time.perf_counter()))
            except TimeoutError:
                self.reply_waiter = None
                self.timed_out_reply_after.append(ack_seq)
                STATS.unanswered += 1
                continue
            except ConnectionError:
                STATS.unanswered += 1
                return
            STATS.replies_received += 1
            STATS.reply_latencies.append(t_reply - t0)


class ServerError(Exception):
    def __init__(self, code: str, message: object):
        super().__init__(f"{code}: {message}")
        self.code = code


# --------------------------------------------------------------------------- verification


async def verify_one(visitor: Visitor, args: argparse.Namespace) -> tuple[bool, str | None]:
    """Reconnect with the visitor's token, replay from 0, compare with what was sent."""
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

    seqs = [e.get("seq") for e in events]
    if seqs != list(range(1, len(seqs) + 1)):
        return False, f"replay seqs not 1..n: {seqs[:20]}"
    messages = [
        e for e in events if e.get("kind") == "message" and e.get("author") in ("visitor", "bot")
    ]
    visitor_msgs = [
        (e.get("client_id"), e.get("text")) for e in messages if e["author"] == "visitor"
    ]
    if visitor_msgs != visitor.sent:
        sent_ids = [cid for cid, _ in visitor.sent]
        got_ids = [cid for cid, _ in visitor_msgs]
        if sorted(got_ids) == sorted(sent_ids) and got_ids != sent_ids:
            return False, "visitor messages stored out of order"
        missing = len(set(sent_ids) - set(got_ids))
        extra = len(got_ids) - len(set(got_ids))
        return False, (
            f"visitor messages differ: sent {len(sent_ids)}, stored {len(got_ids)} "
            f"(missing {missing}, repeated {extra}, text/order mismatch otherwise)"
        )
    # Every visitor message is answered before the next one: by one bot message or more (a
    # tentative answer sends its other options as a second one). A bot greeting before the
    # first visitor message is allowed and ignored.
    first_visitor = next(
        (k for k, e in enumerate(messages) if e["author"] == "visitor"), len(messages)
    )
    tail = messages[first_visitor:]
    pattern = "".join(e["author"][0] for e in tail)
    if not re.fullmatch(r"(vb+)*", pattern) or pattern.count("v") != len(visitor.sent):
        return False, (
            f"expected each of {len(visitor.sent)} visitor messages answered before the next, "
            f"pattern {pattern[:60]}"
        )
    # And the stored replies are those the visitor saw live. Only the last answer may hold more
    # than was seen: the client stops listening at its first message, and a tentative answer's
    # options follow it.
    stored_bot = [e.get("seq") for e in tail if e["author"] == "bot"]
    first_seq = tail[0].get("seq") if tail else 0
    seen_bot = sorted(seq for seq in visitor.bot_events if seq > first_seq)
    last_visitor_seq = max((e.get("seq") for e in tail if e["author"] == "visitor"), default=0)
    unseen = [seq for seq in stored_bot if seq not in set(seen_bot)]
    if set(seen_bot) - set(stored_bot) or any(seq < last_visitor_seq for seq in unseen):
        return False, (
            f"stored bot messages differ from those received live: stored {len(stored_bot)}, "
            f"received {len(seen_bot)}"
        )
    return True, None


async def verify(visitors: list[Visitor], args: argparse.Namespace) -> dict:
    candidates = [v for v in visitors if v.token and v.sent]
    if args.verify_sample is not None and args.verify_sample < len(candidates):
        candidates = random.Random(args.seed).sample(candidates, args.verify_sample)
    sem = asyncio.Semaphore(args.verify_concurrency)
    failures: collections.Counter = collections.Counter()
    examples: list[dict] = []
    ok = 0

    async def one(v: Visitor) -> None:
        nonlocal ok
        async with sem:
            good, why = await verify_one(v, args)
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
            f"acked {STATS.messages_acked} replies {STATS.replies_received} errors {n_err} "
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


async def amain(args: argparse.Namespace) -> dict:
    visitors: list[Visitor] = []
    t_start = time.perf_counter()
    stop = asyncio.Event()
    prog = asyncio.ensure_future(progress(t_start, stop))

    async def start(i: int) -> None:
        if args.ramp_seconds > 0 and args.clients > 1:
            await asyncio.sleep(args.ramp_seconds * i / args.clients)
        v = Visitor(i, args)
        visitors.append(v)
        await v.run()

    await asyncio.gather(*(start(i) for i in range(args.clients)))
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

    never_sent = args.clients * args.messages - STATS.messages_sent
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
    result = {
        "config": {
            "url": args.url,
            "origin": args.origin,
            "clients": args.clients,
            "messages": args.messages,
            "ramp_seconds": args.ramp_seconds,
            "timeout": args.timeout,
            "think_ms": args.think_ms,
            "compression": not args.no_compression,
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
        "lost_messages": lost,
        "duplicated_messages": duplicated,
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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--url", default="ws://127.0.0.1:8000/ws/chat/", help="websocket URL")
    p.add_argument("--origin", default=None, help="Origin header (default: derived from --url)")
    p.add_argument("--clients", type=int, default=200, help="simultaneous visitors")
    p.add_argument("--messages", type=int, default=10, help="messages per visitor")
    p.add_argument(
        "--ramp-seconds", type=float, default=2.0, help="spread connection opens over this time"
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
        "--think-ms", type=float, default=0.0, help="pause between a reply and the next message"
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
    p.add_argument("--seed", type=int, default=1, help="seed for the verification sample")
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
        f"ws_roundtrip: {args.clients} clients x {args.messages} messages -> {args.url} "
        f"(origin {args.origin}, nofile {soft}, loop {loop_name})"
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

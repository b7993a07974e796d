"""The websocket benchmark's own logic, without a chat server: what visitors say, the CPU read
from /proc, the stored-replay check, and the client's answers to "busy" against a small fake
server written here."""

import asyncio
import concurrent.futures
import itertools
import json
import os
import sys
import uuid
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import ws_roundtrip as bench  # noqa: E402

# --------------------------------------------------------------------------- what visitors say


@pytest.fixture(scope="module")
def texts():
    return bench.ConversationTexts.from_files(bench.DEFAULT_QUESTIONS, bench.DEFAULT_GRAPH, seed=5)


def test_visitor_i_plays_conversation_i_in_order(texts):
    for index in (0, 3, 17):
        turns = texts.conversation(index).turns

        script = texts.for_visitor(index, len(turns))

        assert script == [(turn.text, turn.pattern) for turn in turns]


def test_a_visitor_with_more_messages_than_turns_goes_on_with_the_next_conversation(texts):
    first, second = texts.conversation(4).turns, texts.conversation(5).turns

    script = texts.for_visitor(4, len(first) + 2)

    assert [text for text, _ in script] == [t.text for t in first] + [t.text for t in second[:2]]


def test_the_same_seed_gives_the_same_words_however_many_visitors_asked():
    one = bench.ConversationTexts.from_files(bench.DEFAULT_QUESTIONS, bench.DEFAULT_GRAPH, seed=9)
    other = bench.ConversationTexts.from_files(bench.DEFAULT_QUESTIONS, bench.DEFAULT_GRAPH, seed=9)
    one.conversation(150)  # generated in batches in a different order of requests

    assert [other.for_visitor(i, 6) for i in range(120, 0, -7)] == [
        one.for_visitor(i, 6) for i in range(120, 0, -7)
    ]
    assert bench.ConversationTexts.from_files(
        bench.DEFAULT_QUESTIONS, bench.DEFAULT_GRAPH, seed=10
    ).for_visitor(0, 6) != one.for_visitor(0, 6)


def test_synthetic_text_is_the_old_made_up_message():
    assert bench.synthetic_texts(7, 2) == [
        ("bench message 0 from client 7", "synthetic"),
        ("bench message 1 from client 7", "synthetic"),
    ]


# --------------------------------------------------------------------------- options


def test_role_lists_are_parsed_and_checked():
    assert bench.parse_role_list("server=12, worker=13,worker=14,", int) == {
        "server": [12],
        "worker": [13, 14],
    }
    assert bench.parse_role_list("") == {}
    assert bench.parse_server_info("mode=services,web_workers=2") == {
        "mode": "services",
        "web_workers": 2,
    }
    for bad in ("server", "=12", "server="):
        with pytest.raises(ValueError):
            bench.parse_role_list(bad, int)
    with pytest.raises(ValueError):
        bench.parse_role_list("server=abc", int)


def test_a_role_given_by_pid_and_by_name_is_refused():
    with pytest.raises(SystemExit):
        bench.parse_args(["--cpu-pids", "redis=1", "--cpu-names", "redis=redis-server"])


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        ({"retry_after": 2}, 2.0),
        ({"retry_after": 0.5}, 0.5),
        ({"retry_after": 0}, 0.0),
        ({}, None),
        ({"retry_after": "2"}, None),
        ({"retry_after": True}, None),
        ({"retry_after": -1}, None),
        ({"retry_after": float("nan")}, None),
    ],
)
def test_retry_after_must_be_a_number_of_seconds(frame, expected):
    assert bench.retry_after_of(frame) == expected


# --------------------------------------------------------------------------- CPU from /proc


def stat_line(pid: int, comm: str, ppid: int, utime: int, stime: int) -> str:
    # pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
    return f"{pid} ({comm}) S {ppid} 1 1 0 -1 4194560 10 0 0 0 {utime} {stime} 0 0 20 0 1 0\n"


def test_a_stat_line_is_read_past_a_command_name_with_spaces_and_parentheses():
    line = stat_line(42, "odd ) name (x", 7, 123, 45)

    assert bench.parse_proc_stat(line) == (7, 123, 45, "odd ) name (x")


def test_the_process_table_skips_what_is_not_a_process_or_is_gone(tmp_path):
    for pid, comm, ppid in ((10, "uvicorn", 1), (11, "python", 10)):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "stat").write_text(stat_line(pid, comm, ppid, pid, 1))
    (tmp_path / "12").mkdir()  # exited between listing and reading: no stat
    (tmp_path / "self").mkdir()

    assert bench.read_processes(tmp_path) == {10: (1, 10, 1, "uvicorn"), 11: (10, 11, 1, "python")}


def test_a_role_holds_its_roots_and_all_their_descendants():
    parent_of = {1: 0, 10: 1, 11: 10, 12: 11, 13: 10, 20: 1, 21: 20}

    assert bench.with_descendants([10], parent_of) == {10, 11, 12, 13}
    assert bench.with_descendants([10, 11, 99], parent_of) == {10, 11, 12, 13}
    table = {pid: (ppid, 0, 0, "postgres" if pid >= 20 else "x") for pid, ppid in parent_of.items()}
    assert bench.pids_by_role(table, {"server": [11]}, {"postgres": ["postgres"]}) == {
        "server": {11, 12},
        "postgres": {20, 21},
    }


def test_ticks_count_survivors_and_newborns_but_not_the_dead():
    start = {1: (100, 10), 2: (50, 5), 3: (70, 7)}
    end = {1: (130, 12), 3: (5, 1), 4: (20, 2)}  # 2 exited; 3 is a reused pid; 4 was born

    assert bench.ticks_used(start, end) == (30 + 5 + 20, 2 + 1 + 2)


def test_the_cpu_report_totals_server_and_workers_and_leaves_shared_roles_out():
    start = {"server": {1: (100, 0)}, "worker": {2: (0, 0)}, "redis": {3: (0, 0)}}
    end = {"server": {1: (300, 100)}, "worker": {2: (80, 20), 5: (100, 0)}, "redis": {3: (50, 50)}}

    report = bench.cpu_report(start, end, 2.0, 100, 100, ["redis"])

    assert report["server_and_workers_cpu_seconds"] == 5.0
    assert report["cpu_ms_per_answered_message"] == 50.0
    assert report["roles"]["server"] == {
        "cpu_seconds": 3.0,
        "user_seconds": 2.0,
        "system_seconds": 1.0,
        "cores_busy": 1.5,
        "cpu_ms_per_answered_message": 30.0,
        "processes_at_start": 1,
        "processes_at_end": 1,
    }
    assert report["roles"]["worker"]["cpu_seconds"] == 2.0
    assert report["roles"]["redis"]["shared"] is True
    assert report["roles"]["redis"]["cpu_seconds"] == 1.0
    assert bench.cpu_report(start, end, 2.0, 0, 100)["cpu_ms_per_answered_message"] is None


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs Linux's /proc")
def test_the_sampler_reads_what_the_kernel_counted_for_a_process():
    sampler = bench.CpuSampler({"server": [os.getpid()]}, {})
    sampler.start()
    before = os.times()
    while os.times().user - before.user < 0.2:
        pass
    sampler.stop()
    after = os.times()

    report = sampler.report(answered=10)

    # The sampler's reads of /proc cost this process CPU of their own, and other threads of the
    # test run may burn some meanwhile: what it reads lies between what the busy loop alone took
    # and what the sampler's own clock saw from before its first read to after its last.
    busy_loop = (after.user - before.user) + (after.system - before.system)
    sampled = report["roles"]["server"]["cpu_seconds"]
    one_tick_each_end = 2 / os.sysconf("SC_CLK_TCK")
    assert busy_loop - one_tick_each_end <= sampled
    assert sampled <= report["bench_client_cpu_seconds"] + one_tick_each_end
    assert report["notes"] and "children that exit mid-run" in report["notes"][0]


# --------------------------------------------------------------------------- the stored replay


def event(seq, author, kind="message", client_id=None, text="", data=None):
    frame = {"seq": seq, "kind": kind, "author": author, "client_id": client_id, "text": text}
    if data:
        frame["data"] = data
    return frame


def test_a_replay_of_acked_messages_each_answered_holds():
    sent = [("a", "hi"), ("b", "bye")]
    events = [event(1, "visitor", client_id="a", text="hi"), event(2, "bot")]
    events += [event(3, "visitor", client_id="b", text="bye"), event(4, "bot"), event(5, "bot")]

    assert bench.check_replay(events, sent, {"a", "b"}, set(), [2, 4]) is None


def test_a_message_refused_as_busy_must_not_be_stored():
    sent = [("a", "hi"), ("b", "again")]
    events = [event(1, "visitor", client_id="a", text="hi"), event(2, "bot")]

    assert bench.check_replay(events, sent, {"a"}, {"b"}, [2]) is None
    stored = events + [event(3, "visitor", client_id="b", text="again"), event(4, "bot")]
    assert "refused as busy were stored" in bench.check_replay(stored, sent, {"a"}, {"b"}, [2])


def test_an_acked_message_must_be_stored_and_one_never_acked_may_be():
    sent = [("a", "hi"), ("b", "lost ack")]
    answered = [event(1, "visitor", client_id="a", text="hi"), event(2, "bot")]
    with_b = answered + [event(3, "visitor", client_id="b", text="lost ack"), event(4, "bot")]

    assert bench.check_replay(answered, sent, {"a"}, set(), [2]) is None
    assert bench.check_replay(with_b, sent, {"a"}, set(), [2, 4]) is None
    assert "visitor messages differ" in bench.check_replay(answered, sent, {"a", "b"}, set(), [2])


def test_the_bot_must_answer_each_message_until_a_person_has_the_conversation():
    sent = [("a", "a person please"), ("b", "hello?")]
    events = [event(1, "visitor", client_id="a", text="a person please"), event(2, "bot")]
    events.append(event(3, "system", kind="handoff", data={"status": "waiting"}))
    events.append(event(4, "visitor", client_id="b", text="hello?"))

    assert bench.check_replay(events, sent, {"a", "b"}, set(), [2]) is None
    events[2] = event(3, "system", kind="handoff", data={"status": "unavailable"})
    assert "answered before the next" in bench.check_replay(events, sent, {"a", "b"}, set(), [2])


def test_a_replay_with_a_gap_in_its_seqs_fails():
    events = [event(1, "visitor", client_id="a"), event(3, "bot")]

    assert "not 1..n" in bench.check_replay(events, [("a", "")], {"a"}, set(), [3])


# --------------------------------------------------------------------------- busy, end to end


class FakeServer:
    """Speaks just enough of docs/protocol.md; refuses what it is told to with `busy`."""

    def __init__(self, refuse_connection, refusals_for):
        self.refuse_connection = refuse_connection  # connection number -> refuse it?
        self.refusals_for = refusals_for  # (visitor message index) -> refusals before accepting
        self.conversations: dict[str, list[dict]] = {}
        self.sends_by_client_id: dict[str, int] = {}
        self.numbers = itertools.count()

    async def handle(self, ws):
        number, events = next(self.numbers), None
        async for raw in ws:
            frame = json.loads(raw)
            if frame["type"] == "hello":
                if frame["token"] is None and self.refuse_connection(number):
                    busy = {"type": "error", "code": "busy", "message": "full", "retry_after": 5}
                    await ws.send(json.dumps(busy))
                    await ws.close(1013, "busy")
                    return
                token = frame["token"] or str(uuid.uuid4())
                events = self.conversations.setdefault(token, [])
                welcome = {"type": "welcome", "token": token, "conversation_id": token}
                await ws.send(json.dumps(welcome | {"last_seq": len(events)}))
                for stored in events:
                    await ws.send(json.dumps({"type": "event", **stored}))
                await ws.send(json.dumps({"type": "synced", "last_seq": len(events)}))
                await ws.send(json.dumps({"type": "handoff", "status": "bot"}))
            elif frame["type"] == "message":
                cid = frame["client_id"]
                self.sends_by_client_id[cid] = self.sends_by_client_id.get(cid, 0) + 1
                index = sum(1 for e in events if e["author"] == "visitor")
                if self.sends_by_client_id[cid] <= self.refusals_for(index):
                    busy = {"type": "error", "code": "busy", "message": "busy", "client_id": cid}
                    await ws.send(json.dumps(busy | {"retry_after": 0.01}))
                    continue
                mine = {"seq": len(events) + 1, "kind": "message", "author": "visitor"}
                events.append(mine | {"text": frame["text"], "client_id": cid})
                await ws.send(json.dumps({"type": "ack", "client_id": cid, "seq": mine["seq"]}))
                await ws.send(json.dumps({"type": "event", **events[-1]}))
                text = "Sorry, I didn't catch that. Could you say it again?" if index == 0 else "ok"
                reply = {"seq": len(events) + 1, "kind": "message", "author": "bot", "text": text}
                events.append(reply | {"client_id": None})
                end = {"type": "stream_end", "stream_id": "s", "event": {"type": "event", **reply}}
                await ws.send(json.dumps(end))


def run_against(server: FakeServer, monkeypatch, *options: str) -> dict:
    """Run the benchmark against the fake server on a loop of its own, in a thread of its own.

    As the benchmark itself runs: its own event loop, whatever loop this test process holds.
    """
    from websockets.asyncio.server import serve

    monkeypatch.setattr(bench, "STATS", bench.Stats())

    async def run() -> dict:
        async with serve(server.handle, "127.0.0.1", 0) as listening:
            port = listening.sockets[0].getsockname()[1]
            args = bench.parse_args(["--url", f"ws://127.0.0.1:{port}/ws/chat/", *options])
            return await asyncio.wait_for(bench.amain(args), 30)

    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, run()).result(60)


def test_a_refused_message_is_resent_with_its_client_id_until_accepted(monkeypatch):
    # The second message of each visitor is refused twice, the third one every time.
    server = FakeServer(lambda n: False, lambda index: {1: 2, 2: 99}.get(index, 0))

    result = run_against(
        server, monkeypatch, "--clients", "3", "--messages", "4", "--busy-retries", "2"
    )

    assert result["messages_sent"] == 12 and result["messages_acked"] == 6
    assert result["messages_refused_busy"] == 3 * 2 + 2 * 3 * 3
    assert result["refused_for_good"] == 6  # the third message and the fourth, refused alike
    assert result["load_outcomes"]["acked_after_busy"] == 3
    assert result["lost_messages"] == 0 and result["stored_mismatches"] == 0
    assert result["verified_conversations"] == 3
    # One client id per message, resent as it was: 3 visitors x 4 messages.
    assert len(server.sends_by_client_id) == 12
    assert sorted(server.sends_by_client_id.values()) == [1] * 3 + [3] * 9
    assert result["fallbacks_not_caught"] == 3 and result["share_not_caught"] == 0.5


def test_a_connection_refused_for_capacity_is_counted_not_retried(monkeypatch):
    server = FakeServer(lambda n: n % 2 == 1, lambda index: 0)

    result = run_against(server, monkeypatch, "--clients", "4", "--messages", "2")

    assert result["connections_refused_busy"] == 2
    assert result["load_outcomes"]["connection_refusal_close_codes"] == {"1013": 2}
    assert result["load_outcomes"]["messages_not_sent_connection_refused"] == 4
    assert result["messages_sent"] == 4 and result["replies_received"] == 4
    assert result["checks"]["never_sent"] == 0 and result["checks"]["handshake_failures"] == 0
    assert result["checks"]["unexpected_closes"] == 0
    assert result["config"]["text"]["source"] == "conversations"

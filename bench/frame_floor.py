#!/usr/bin/env python3
"""The least CPU a chat message can cost on this stack: uvicorn, Channels, websockets frames.

Starts uvicorn on `bench/frame_floor_app.py` (a consumer that sends a real turn's five frames
per message, with no database, model or lock), drives it with CLIENTS websockets each sending
MESSAGES BANKING77 questions one after another (with permessage-deflate, as the chat benchmark
and browsers do), and prints one JSON object: messages a second, and the server's and this
client's CPU milliseconds per message, from /proc. Compare the server's figure with
`cpu.roles.server` of `bench/ws_roundtrip.py`: the difference is what the turn's own path adds.

    .venv/bin/python bench/frame_floor.py [--clients 100] [--messages 20]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from websockets.asyncio.client import connect

REPO = Path(__file__).resolve().parent.parent
QUESTIONS = REPO / "chatbot" / "nlu" / "data" / "banking77" / "test.csv"
FRAMES_PER_MESSAGE = 5


def process_cpu_seconds(pid: int) -> float:
    """User+system CPU seconds a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "frame_floor_app:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=Path(__file__).resolve().parent,
    )
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return server
        except OSError:
            if server.poll() is not None:
                raise SystemExit("frame_floor: the server did not start") from None
            time.sleep(0.1)
    server.kill()
    raise SystemExit("frame_floor: the server is not listening after 30 s")


async def visitor(url: str, texts: list[str], started: asyncio.Event) -> int:
    """Sends each text and waits for its five frames; returns how many messages were answered."""
    async with connect(url, compression="deflate", ping_interval=None) as socket_:
        await started.wait()
        answered = 0
        for index, text in enumerate(texts):
            await socket_.send(
                json.dumps({"type": "message", "client_id": f"c-{index}", "text": text})
            )
            for _ in range(FRAMES_PER_MESSAGE):
                await socket_.recv()
            answered += 1
        return answered


async def drive(url: str, clients: int, messages: int, server_pid: int) -> dict:
    with QUESTIONS.open(newline="") as questions:
        texts = [row["text"] for row in csv.DictReader(questions)]
    started = asyncio.Event()
    tasks = [
        asyncio.ensure_future(
            visitor(url, [texts[(c * messages + m) % len(texts)] for m in range(messages)], started)
        )
        for c in range(clients)
    ]
    await asyncio.sleep(1.0 + clients / 200)  # every socket open before the clock starts
    server_before, client_before = process_cpu_seconds(server_pid), os.times()
    t0 = time.perf_counter()
    started.set()
    answered = sum(await asyncio.gather(*tasks))
    seconds = time.perf_counter() - t0
    server_cpu = process_cpu_seconds(server_pid) - server_before
    client_after = os.times()
    client_cpu = sum(client_after[:2]) - sum(client_before[:2])  # user + system
    return {
        "clients": clients,
        "messages_answered": answered,
        "frames_per_message": FRAMES_PER_MESSAGE,
        "seconds": round(seconds, 3),
        "messages_per_second": round(answered / seconds, 1),
        "server_cpu_ms_per_message": round(1000 * server_cpu / answered, 3),
        "server_cores_busy": round(server_cpu / seconds, 3),
        "bench_client_cpu_ms_per_message": round(1000 * client_cpu / answered, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--messages", type=int, default=20, help="per client, one after another")
    arguments = parser.parse_args()
    port = free_port()
    server = start_server(port)
    try:
        result = asyncio.run(
            drive(
                f"ws://127.0.0.1:{port}/ws/floor/",
                arguments.clients,
                arguments.messages,
                server.pid,
            )
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""The GPU host's check script, run against the fake server at small concurrency."""

import importlib.util
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from chatbot.llm.prompts import build_messages
from tests.llm.fake_openai_server import Status, Stream

CHECK_SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "vllm" / "check.py"


@pytest.fixture(scope="module")
def check():
    spec = importlib.util.spec_from_file_location("vllm_check", CHECK_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def run_main(check, arguments: list[str]) -> int:
    """Run the script's main in a thread of its own: it starts its own event loop, and a browser
    test's loop may still be running on this thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(check.main, arguments).result()


def test_it_prints_latency_and_throughput_for_each_level(check, fake_server, capsys):
    fake_server.default = Stream(
        ["A new card ", "arrives ", "in 5 days."], token_delay_seconds=0.01
    )
    arguments = ["--base-url", fake_server.base_url, "--model", "kestrel-chat"]

    exit_code = run_main(check, [*arguments, "--concurrency", "1,3", "--requests-per-level", "4"])

    figures = json.loads(capsys.readouterr().out)
    assert exit_code == 0
    assert figures["model"] == "kestrel-chat"
    assert [level["concurrency"] for level in figures["levels"]] == [1, 3]
    for level in figures["levels"]:
        assert (level["requests"], level["failures"], level["errors"]) == (4, 0, {})
        assert level["completion_tokens"] == 4 * 3
        assert level["tokens_counted_by"] == "usage"
        assert level["ttft_p50_s"] <= level["ttft_p95_s"]
        assert level["stream_tokens_per_s_p50"] > 0
        assert level["aggregate_tokens_per_s"] > 0
    assert len(fake_server.requests) == 1 + 4 + 4  # the warm-up, then each level


def test_it_sends_the_platforms_prompts_streamed_with_usage(check, fake_server, capsys):
    run_main(check, ["--base-url", fake_server.base_url, "--model", "m", "--concurrency", "1"])

    body = fake_server.requests[1].body
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    scenario = check.SCENARIOS[0]
    assert body["messages"][0] == build_messages(scenario)[0]
    assert body["messages"][-1]["content"].startswith("<visitor_message>\n" + scenario.question)


def test_a_level_at_least_as_many_requests_as_conversations(check, fake_server, capsys):
    run_main(check, ["--base-url", fake_server.base_url, "--model", "m", "--concurrency", "5"])

    [level] = json.loads(capsys.readouterr().out)["levels"]
    assert level["requests"] == 64

    run_main(
        check,
        ["--base-url", fake_server.base_url, "--concurrency", "5", "--requests-per-level", "2"],
    )

    [level] = json.loads(capsys.readouterr().out)["levels"]
    assert level["requests"] == 5


def test_failed_answers_are_counted_by_reason_and_fail_the_run(check, fake_server, capsys):
    fake_server.respond(Stream(), Status(503), Stream(), Status(503))
    arguments = ["--base-url", fake_server.base_url, "--model", "m", "--concurrency", "1"]

    exit_code = run_main(check, [*arguments, "--requests-per-level", "3"])

    [level] = json.loads(capsys.readouterr().out)["levels"]
    assert exit_code == 1
    assert (level["failures"], level["errors"]) == (2, {"http_503": 2})


def test_percentiles_interpolate_between_ranks(check):
    assert check.percentile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.5
    assert check.percentile([1.0, 2.0], 0.95) == pytest.approx(1.95)
    assert check.percentile([], 0.5) is None

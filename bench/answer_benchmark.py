"""Answer benchmark: how often the bot answers right, on words nobody wrote for it.

Two measures, through the same turn function the websocket uses (understanding, tracking,
policy, escalation rules, answer), with the promoted intent model and the demo knowledge graph:

- single turns: each of BANKING77's 3,080 test questions as the first message of a new
  conversation;
- multi-turn: conversations that `conversation_generator.py` builds from the same real questions
  and the graph's entities (follow-ups, switches, returns, small talk, tasks, asking for a
  person), each turn with its expectation from the generator, never from the bot.

Each bot turn is scored right, clarified (the expected intent is among the options offered),
fallback ("not sure", out of scope), handoff, or wrong. Prints one JSON object: rates by class
and by pattern, the targets and whether they are met, and the most frequent failures with an
example each.

    .venv/bin/python bench/answer_benchmark.py --var-dir var            # the promoted model in var/
    .venv/bin/python bench/answer_benchmark.py --var-dir var --conversations 1000 --out answers.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BANKING77_TEST = REPO_ROOT / "chatbot" / "nlu" / "data" / "banking77" / "test.csv"
CLASSES = ("right", "clarified", "fallback", "handoff", "wrong")
# A clarified turn where the bot answered its best guess and offered the right topic as a button.
GUESSED = "guessed, offered"
# The bot's decisions that say it did not understand.
FALLBACK_DECISIONS = {"unsure", "out_of_scope", "not_caught", "acknowledged", "understood"}
# What a conversational act expects of the bot's decision.
ACT_DECISIONS = {
    "greet": {"greeting"},
    # "thanks, that's all" is answered as well by a goodbye.
    "thank": {"thanks", "goodbye"},
    "bye": {"goodbye"},
    "bot_challenge": {"bot_challenge"},
    "chitchat": {"chitchat"},
    "correct": {"flow_corrected"},
    "task_done": {"flow_done"},
    "task_cancelled": {"flow_cancelled"},
}
TARGETS = {
    "single_right": 0.93,
    "single_right_or_clarified": 0.97,
    "single_fallback_at_most": 0.02,
    "single_wrong_at_most": 0.03,
    "multi_right": 0.90,
    "multi_every_pattern_right": 0.80,
}


def main() -> None:
    from embedded_bank import start_demo_bank

    arguments = parse_arguments()
    start_demo_bank("answer-bench-", arguments.var_dir)
    from django.conf import settings

    if arguments.operating_point:
        serve_at_operating_point(arguments.operating_point)

    figures = run(arguments, Path(settings.DEMO_KNOWLEDGE_FILE))
    output = json.dumps(figures, indent=2, ensure_ascii=False)
    print(output)
    if arguments.out:
        Path(arguments.out).write_text(output + "\n")


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--var-dir", required=True, help="a VAR_DIR whose models/ holds a promoted model"
    )
    parser.add_argument("--test", type=Path, default=BANKING77_TEST)
    parser.add_argument(
        "--conversation-questions",
        type=Path,
        help="real questions the conversations start from (default: --test); the training "
        "split makes a development set that leaves the test questions unseen",
    )
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=77)
    parser.add_argument("--single-limit", type=int, help="only the first N test questions")
    parser.add_argument("--failures", type=int, default=20, help="how many failure kinds to list")
    parser.add_argument("--pattern", help="list failures of this pattern only")
    parser.add_argument(
        "--operating-point",
        help="serve the promoted model at this rule (open, balanced, precise) instead of its "
        "own, replayed on its validation scores in the benchmark's copy of the models",
    )
    parser.add_argument("--out", help="also write the JSON here")
    return parser.parse_args()


def serve_at_operating_point(rule: str) -> None:
    """Promote, in the benchmark's own copy of the models, the served model at `rule`."""
    from chatbot.nlu import artefacts
    from chatbot.nlu.scope_selection import rescoped

    version = artefacts.promoted_version()
    metadata = rescoped(artefacts.read_metadata(version), artefacts.models_root() / version, rule)
    artefacts.promote(artefacts.derive(version, metadata))


def run(arguments: argparse.Namespace, graph_file: Path) -> dict:
    from bot_under_test import BotUnderTest
    from conversation_generator import (
        ConversationGenerator,
        GraphFacts,
        phrasings_overlap,
        read_questions,
    )

    bot = BotUnderTest()
    graph = GraphFacts(graph_file)
    questions = read_questions(arguments.test)
    single = [(intent, text) for intent in sorted(questions) for text in questions[intent]][
        : arguments.single_limit
    ]
    conversation_questions = (
        read_questions(arguments.conversation_questions)
        if arguments.conversation_questions
        else questions
    )
    generator = ConversationGenerator(conversation_questions, graph, arguments.seed)
    conversations = generator.conversations(arguments.conversations)
    scorer = Scorer(graph)

    single_scores = [
        scorer.single(bot, intent, text) for intent, text in progress(single, "single turns")
    ]
    multi_scores = []
    for conversation in progress(conversations, "conversations"):
        multi_scores += scorer.conversation(bot, conversation)
    single_figures = class_rates(single_scores)
    multi_figures = class_rates(multi_scores)
    by_pattern = {
        pattern: class_rates([s for s in multi_scores if s["pattern"] == pattern])
        for pattern in sorted({s["pattern"] for s in multi_scores})
    }
    return {
        "config": {
            "model_version": bot.model_version,
            "seed": arguments.seed,
            "single_turns": len(single_scores),
            "conversations": len(conversations),
            "multi_turns": len(multi_scores),
            "generator_phrasings_in_training_data": phrasings_overlap(bot.training_texts()),
        },
        "single_turn": single_figures,
        "multi_turn": {**multi_figures, "by_pattern": by_pattern},
        "targets": targets_met(single_figures, multi_figures, by_pattern),
        "turn_latency_ms": percentiles([s["seconds"] for s in single_scores + multi_scores]),
        "top_failures": top_failures(
            [
                score
                for score in single_scores + multi_scores
                if arguments.pattern in (None, score["pattern"])
            ],
            arguments.failures,
        ),
    }


class Scorer:
    """Plays turns through the bot and scores each against its expectation."""

    def __init__(self, graph) -> None:
        self.graph = graph

    def single(self, bot, intent: str, text: str) -> dict:
        conversation = bot.new_conversation()
        reply = conversation.say(text)
        return self._scored("single", "question", {"topics": [intent]}, text, reply, [])

    def conversation(self, bot, generated) -> list[dict]:
        conversation = bot.new_conversation()
        scores, history = [], []
        for turn in generated.turns:
            reply = conversation.say(turn.text)
            scores.append(
                self._scored("multi", turn.pattern, turn.expect, turn.text, reply, history)
            )
            history = [*history, (turn.text, reply.text)][-4:]
        return scores

    def _scored(self, run: str, pattern: str, expect: dict, text: str, reply, history) -> dict:
        verdict, got = self.classify(expect, reply)
        return {
            "run": run,
            "pattern": pattern,
            "class": verdict,
            "expected": describe_expectation(expect),
            "got": got,
            "text": text,
            "reply": reply.text,
            "history": history,
            "seconds": reply.seconds,
        }

    def classify(self, expect: dict, reply) -> tuple[str, str]:
        """Return the turn's class and, in a few words, what the bot did."""
        topics_answered = [
            self.graph.intent_of_topic[s] for s in reply.sources if s in self.graph.intent_of_topic
        ]
        got = ",".join(topics_answered) or reply.decision or "nothing"
        if "topics" in expect:
            nodes = set(expect.get("nodes") or ())
            if set(expect["topics"]) & set(topics_answered) and (
                not nodes or nodes & set(reply.sources)
            ):
                return "right", got
            if set(expect["topics"]) & set(topics_answered):
                return "wrong", f"{got} without {'/'.join(sorted(nodes))}"
            offered = ",".join(reply.offered)
            if set(expect["topics"]) & set(reply.offered):
                # Asked which was meant, or guessed and offered the others as buttons: the
                # right topic is one click away. Counted apart as well (GUESSED).
                how = "clarify" if reply.decision == "clarify" else GUESSED
                return "clarified", f"{how} {offered}"
            if reply.decision == "clarify":
                return "wrong", f"clarify {offered}"
            return self._otherwise(reply, got)
        if self._act_done(expect, reply):
            return "right", got
        return self._otherwise(reply, got)

    def _act_done(self, expect: dict, reply) -> bool:
        act = expect["act"]
        if act == "handoff":
            return reply.handoff == "requested"
        if act == "task_start":
            return reply.flow == expect["task"]
        if act == "slot":
            return reply.flow is not None and slot_holds(
                reply.slots.get(expect["slot"]), expect.get("value")
            )
        if act == "correct":
            return reply.decision in ACT_DECISIONS[act] and slot_holds(
                reply.slots.get(expect["slot"]), expect["value"]
            )
        return reply.decision in ACT_DECISIONS.get(act, ())

    def _otherwise(self, reply, got: str) -> tuple[str, str]:
        if reply.handoff:
            return "handoff", f"handoff {reply.handoff}"
        if reply.decision in FALLBACK_DECISIONS:
            return "fallback", reply.decision
        return "wrong", got


def slot_holds(slot: dict | None, value: str | None) -> bool:
    if not slot:
        return False
    return value is None or value in json.dumps(slot.get("value"))


def describe_expectation(expect: dict) -> str:
    if "topics" in expect:
        nodes = f" using {'/'.join(expect['nodes'])}" if expect.get("nodes") else ""
        return "/".join(expect["topics"]) + nodes
    return f"act {expect['act']}"


def class_rates(scores: list[dict]) -> dict:
    counts = Counter(score["class"] for score in scores)
    total = len(scores) or 1
    rates = {name: round(counts[name] / total, 4) for name in CLASSES}
    guessed = sum(score["got"].startswith(GUESSED) for score in scores)
    return {
        "turns": len(scores),
        "rates": rates,
        "right_or_clarified": round((counts["right"] + counts["clarified"]) / total, 4),
        "counts": {name: counts[name] for name in CLASSES},
        # Of the clarified: the bot answered another topic as a guess and offered this one.
        "clarified_after_a_guess": round(guessed / total, 4),
    }


def targets_met(single: dict, multi: dict, by_pattern: dict) -> dict:
    worst_pattern = min(
        by_pattern.items(), key=lambda item: item[1]["rates"]["right"], default=None
    )
    return {
        "single_right >= 0.93": single["rates"]["right"] >= TARGETS["single_right"],
        "single_right_or_clarified >= 0.97": single["right_or_clarified"]
        >= TARGETS["single_right_or_clarified"],
        "single_fallback <= 0.02": single["rates"]["fallback"]
        <= TARGETS["single_fallback_at_most"],
        "single_wrong <= 0.03": single["rates"]["wrong"] <= TARGETS["single_wrong_at_most"],
        "multi_right >= 0.90": multi["rates"]["right"] >= TARGETS["multi_right"],
        "every_pattern_right >= 0.80": bool(worst_pattern)
        and worst_pattern[1]["rates"]["right"] >= TARGETS["multi_every_pattern_right"],
        "worst_pattern": worst_pattern[0] if worst_pattern else None,
    }


def top_failures(scores: list[dict], limit: int) -> list[dict]:
    """Return the most frequent kinds of failure, with an example each."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for score in scores:
        if score["class"] not in ("right", "clarified"):
            groups[
                (score["run"], score["pattern"], score["expected"], score["class"], score["got"])
            ].append(score)
    ranked = sorted(groups.items(), key=lambda item: -len(item[1]))[:limit]
    return [
        {
            "count": len(examples),
            "run": key[0],
            "pattern": key[1],
            "expected": key[2],
            "class": key[3],
            "got": key[4],
            "example": {
                "before": examples[0]["history"],
                "visitor": examples[0]["text"],
                "bot": examples[0]["reply"],
            },
        }
        for key, examples in ranked
    ]


def percentiles(seconds: list[float]) -> dict:
    milliseconds = sorted(value * 1000 for value in seconds)
    cuts = statistics.quantiles(milliseconds, n=100)
    return {"p50": round(cuts[49], 3), "p95": round(cuts[94], 3)}


def progress(items: list, description: str):
    from tqdm import tqdm

    return tqdm(items, desc=description, file=sys.stderr, mininterval=2)


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"took {time.monotonic() - started:.0f} s", file=sys.stderr)

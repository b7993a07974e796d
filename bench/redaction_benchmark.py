"""Redaction benchmark: how well the personal-data detector finds what it should, and only that.

Three figures, printed as one JSON object:

- precision and recall, span by span and per kind, on a labelled corpus made by a program
  (`personal_data_corpus.py`: checksummed card numbers and IBANs, invalid ones as negatives,
  sort codes, emails, phones, dates of birth, postcodes, amounts, dates of transactions);
- how many of BANKING77's real customer questions (train and test, shipped in
  chatbot/nlu/data/banking77/) it flags, by kind, with examples: those questions hold no personal
  data, so every one flagged is a false positive;
- microseconds per message to mask, on the BANKING77 questions.

    .venv/bin/python bench/redaction_benchmark.py
    .venv/bin/python bench/redaction_benchmark.py --samples 20000 --out redaction.json
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))

from personal_data_corpus import generate  # noqa: E402

from chatbot import personal_data  # noqa: E402

BANKING77 = REPO_ROOT / "chatbot" / "nlu" / "data" / "banking77"
EXAMPLES_PER_KIND = 5


def corpus_scores(samples) -> dict:
    """Return precision and recall over every span, and per kind."""
    counts: dict[str, Counter] = defaultdict(Counter)
    misses: dict[str, list] = defaultdict(list)
    for sample in samples:
        found = {(span.kind, span.start, span.end) for span in personal_data.find(sample.text)}
        expected = set(sample.spans)
        for kind, start, end in found | expected:
            outcome = (
                "true"
                if (kind, start, end) in found & expected
                else "false_positive"
                if (kind, start, end) in found
                else "false_negative"
            )
            counts[kind][outcome] += 1
            counts["all"][outcome] += 1
            if outcome != "true" and len(misses[outcome]) < EXAMPLES_PER_KIND:
                misses[outcome].append({"kind": kind, "text": sample.text})
    return {
        "messages": len(samples),
        "with_personal_data": sum(1 for sample in samples if sample.spans),
        "spans": sum(len(sample.spans) for sample in samples),
        "overall": _rates(counts.pop("all")),
        "by_kind": {kind: _rates(counts[kind]) for kind in sorted(counts)},
        "mistakes": dict(misses),
    }


def _rates(count: Counter) -> dict:
    true, false_positives, misses = count["true"], count["false_positive"], count["false_negative"]
    return {
        "precision": round(true / (true + false_positives), 4) if true + false_positives else None,
        "recall": round(true / (true + misses), 4) if true + misses else None,
        "true_positives": true,
        "false_positives": false_positives,
        "false_negatives": misses,
    }


def banking77_questions() -> list[str]:
    questions = []
    for name in ("train.csv", "test.csv"):
        with (BANKING77 / name).open(newline="", encoding="utf-8") as handle:
            questions += [row["text"] for row in csv.DictReader(handle)]
    return questions


def banking77_flags(questions: list[str]) -> dict:
    """Return how many real questions the detector flags, by kind, with examples."""
    flagged, by_kind, examples = 0, Counter(), defaultdict(list)
    for question in questions:
        spans = personal_data.find(question)
        if not spans:
            continue
        flagged += 1
        for span in spans:
            by_kind[span.kind] += 1
            if len(examples[span.kind]) < EXAMPLES_PER_KIND:
                examples[span.kind].append(
                    {"question": question, "flagged": question[span.start : span.end]}
                )
    return {
        "questions": len(questions),
        "flagged": flagged,
        "false_positive_rate": round(flagged / len(questions), 5),
        "by_kind": dict(by_kind),
        "examples": dict(examples),
    }


def microseconds_per_message(messages: list[str], rounds: int) -> dict:
    """Return the median and the slowest round's microseconds per message to mask them all."""
    per_message = []
    for _ in range(rounds):
        started = time.perf_counter()
        for message in messages:
            personal_data.mask(message)
        per_message.append((time.perf_counter() - started) / len(messages) * 1e6)
    per_message.sort()
    return {
        "messages": len(messages),
        "rounds": rounds,
        "median": round(per_message[len(per_message) // 2], 2),
        "slowest_round": round(per_message[-1], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000, help="generated messages")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=5, help="timing rounds")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    arguments = parser.parse_args()
    samples = generate(arguments.samples, arguments.seed)
    questions = banking77_questions()
    result = {
        "corpus": corpus_scores(samples),
        "banking77": banking77_flags(questions),
        "microseconds_per_message": {
            "banking77": microseconds_per_message(questions, arguments.rounds),
            "generated": microseconds_per_message([s.text for s in samples], arguments.rounds),
        },
    }
    text = json.dumps(result, indent=2, ensure_ascii=False)
    print(text)
    if arguments.out:
        arguments.out.write_text(text + "\n")


if __name__ == "__main__":
    main()

"""Intent benchmark: train on BANKING77 train, evaluate on BANKING77 test, measure serving speed.

Three protocols, each printing one JSON object:

- `plain` (the default): top-1 accuracy, accuracy when a refusal counts as wrong, coverage,
  accepted accuracy, macro-F1 at the model's operating point and under every rule replayed,
  training time, batch-1 latency through the model API, throughput at batch 32, and the
  end-to-end latency of a classification through a real Celery worker over the local Redis.
  With several `--seeds`, the mean and the spread of the accuracy figures over them.
- `unknown-intents`: a quarter of the intents held out as unknown over 3 fixed random splits;
  train on the rest, ask every test question, and report in-scope accuracy (refusals wrong) and
  out-of-scope recall, precision, F1 and AUROC, against a frozen-encoder logistic-regression
  baseline with a top-probability threshold, in the same run.
- `retrain`: `train_intents --fast` cold, then again after adding 10 examples.

    .venv/bin/python bench/intent_benchmark.py                 # fine-tuned model (best mode)
    .venv/bin/python bench/intent_benchmark.py --fast --seeds 13,14,15 --skip-celery
    .venv/bin/python bench/intent_benchmark.py --model-dir var/models/intents/VERSION  # no training
    .venv/bin/python bench/intent_benchmark.py --protocol unknown-intents --modes fast,finetune
    .venv/bin/python bench/intent_benchmark.py --protocol retrain

The test split is only ever used here, after training: nothing is chosen on it.
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import intent_protocols
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
BANKING77 = REPO_ROOT / "chatbot" / "nlu" / "data" / "banking77"


def main() -> None:
    arguments = parse_arguments()
    work = arguments.var_dir or Path(tempfile.mkdtemp(prefix="intent-bench-"))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "chatbot.settings",
            "VAR_DIR": str(work),
            "DATABASE_URL": f"sqlite:///{work / 'bench.sqlite3'}",
            "REDIS_URL": arguments.redis_url,
            "REDIS_KEY_PREFIX": f"intent-bench-{uuid.uuid4().hex[:8]}",
        }
    )
    sys.path.insert(0, str(REPO_ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    config = {
        key: str(value) if isinstance(value, Path) else value
        for key, value in vars(arguments).items()
    }
    figures = {"config": config}
    if arguments.protocol == "unknown-intents":
        figures["unknown_intents"] = intent_protocols.unknown_intents(arguments, test_report)
    elif arguments.protocol == "retrain":
        figures["retrain"] = intent_protocols.retrain_timing(arguments)
    else:
        plain(arguments, figures, work)
    output = json.dumps(figures, indent=2)
    print(output)
    if arguments.out:
        Path(arguments.out).write_text(output)


def plain(arguments: argparse.Namespace, figures: dict, work: Path) -> None:
    """Train (once per seed) or take a model, evaluate on the test split, time serving."""
    from chatbot.nlu.classifier import IntentClassifier
    from chatbot.nlu.importing import read_examples

    model_dir = arguments.model_dir or train(arguments, figures, arguments.seeds[0])
    if arguments.model_dir:
        figures["model"] = trained_model_figures(
            json.loads((model_dir / "metadata.json").read_text())
        )
    figures |= evaluate(model_dir, arguments)
    if len(arguments.seeds) > 1 and not arguments.model_dir:
        runs = [{"seed": arguments.seeds[0], **figures["summary"]}]
        for seed in arguments.seeds[1:]:
            seeded: dict = {}
            directory = train(arguments, seeded, seed)
            classifier = IntentClassifier(directory, threads=arguments.threads)
            examples = read_examples(arguments.test)
            report = test_report(
                classifier, [e.intent for e in examples], [e.text for e in examples], None
            )
            runs.append({"seed": seed, **report["summary"]})
        figures["seeds"] = runs
        figures["mean_and_spread_over_seeds"] = intent_protocols.mean_and_spread(
            runs,
            (
                "top1_accuracy",
                "accuracy_rejections_wrong",
                "coverage",
                "accepted_accuracy",
                "macro_f1",
            ),
        )
    if not arguments.skip_celery:
        figures["celery"] = asyncio.run(celery_round_trips(model_dir, work, arguments))


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=Path, default=BANKING77 / "train.csv")
    parser.add_argument("--test", type=Path, default=BANKING77 / "test.csv")
    parser.add_argument(
        "--protocol", choices=("plain", "unknown-intents", "retrain"), default="plain"
    )
    parser.add_argument("--fast", action="store_true", help="frozen encoder instead of fine-tuning")
    parser.add_argument(
        "--seeds", type=_integers, default=[13], help="plain: train once per seed (13,14,15)"
    )
    parser.add_argument(
        "--modes",
        type=lambda value: value.split(","),
        default=["fast", "finetune"],
        help="unknown-intents: the training modes to compare",
    )
    parser.add_argument("--splits", type=int, default=3, help="unknown-intents: random splits")
    parser.add_argument(
        "--unknown-share", type=float, default=0.25, help="unknown-intents: intents held out"
    )
    parser.add_argument(
        "--var-dir", type=Path, help="work here (keeps the vector cache between runs)"
    )
    parser.add_argument(
        "--reuse-trained",
        action="store_true",
        help="unknown-intents: evaluate the models --var-dir holds for each split and mode "
        "(same examples, same mode) instead of training them again",
    )
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--encoder-learning-rate", type=float, default=None)
    parser.add_argument("--time-budget-minutes", type=float, default=None, help="0: no limit")
    parser.add_argument("--model-dir", type=Path, help="evaluate this trained model, skip training")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--latency-samples", type=int, default=1000)
    parser.add_argument("--celery-messages", type=int, default=300)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/5")
    parser.add_argument("--skip-celery", action="store_true")
    parser.add_argument("--out", help="also write the JSON here")
    return parser.parse_args()


def _integers(value: str) -> list[int]:
    return [int(part) for part in value.split(",")]


def train(arguments: argparse.Namespace, figures: dict, seed: int) -> Path:
    from chatbot.nlu.importing import read_examples
    from chatbot.nlu.training import TrainingSettings, train_and_store

    settings = TrainingSettings(
        mode="fast" if arguments.fast else "finetune", threads=arguments.threads, seed=seed
    )
    if arguments.epochs:
        settings.epochs = arguments.epochs
    if arguments.encoder_learning_rate:
        settings.encoder_learning_rate = arguments.encoder_learning_rate
    if arguments.time_budget_minutes is not None:
        settings.time_budget_minutes = arguments.time_budget_minutes or None
    started = time.monotonic()
    outcome = train_and_store(
        read_examples(arguments.train), settings, force=True, show_progress=True
    )
    figures["training_seconds"] = round(time.monotonic() - started, 1)
    figures["model"] = trained_model_figures(outcome.metadata)
    return outcome.directory


def trained_model_figures(metadata: dict) -> dict:
    return {
        "version": metadata["version"],
        "mode": metadata["settings"]["mode"],
        "training_seconds_as_stored": metadata["training_seconds"],
        "validation": metadata["validation"]["summary"],
        "history": metadata["history"],
        "calibration": metadata["calibration"],
        "scope": {
            key: value for key, value in metadata["scope"].items() if key != "standardisation"
        },
        "onnx_max_abs_difference": metadata["onnx_max_abs_difference"],
        "quantization": metadata.get("quantization"),
    }


def evaluate(model_dir: Path, arguments: argparse.Namespace) -> dict:
    """Evaluate a trained model on the test split at its operating point and under every rule."""
    from chatbot.nlu.classifier import IntentClassifier
    from chatbot.nlu.importing import read_examples

    classifier = IntentClassifier(model_dir, threads=arguments.threads)
    examples = read_examples(arguments.test)
    texts = [e.text for e in examples]
    report = test_report(classifier, [e.intent for e in examples], texts, None)
    return {
        "test_examples": len(examples),
        **report,
        "batch1_latency_ms": batch_one_latency(classifier, texts, arguments.latency_samples),
        "batch32_throughput_per_second": batch_throughput(classifier, texts, 32),
    }


def test_report(classifier, truth: list[str], texts: list[str], unknown_label: str | None) -> dict:
    """Return the summary at the model's own operating point, and at each rule replayed."""
    from chatbot.nlu.evaluation import evaluate_predictions
    from chatbot.nlu.operating_points import RULES, threshold_for
    from chatbot.nlu.scope_selection import load_scores

    logits, scores = [], []
    for start in range(0, len(texts), 32):
        batch = classifier.scope_scores(texts[start : start + 32])
        logits.append(batch.pop("logits"))
        scores.append(batch)
    guesses = [classifier.labels[i] for i in np.concatenate(logits).argmax(axis=-1)]
    by_detector = {name: np.concatenate([s[name] for s in scores]) for name in scores[0]}

    def summary_at(detector: str, threshold: float) -> dict:
        values = by_detector[detector]
        return evaluate_predictions(
            truth, guesses, list(values < threshold), unknown_label, list(values)
        )["summary"]

    served = evaluate_predictions(
        truth,
        guesses,
        list(by_detector[classifier.detector] < classifier.threshold),
        unknown_label,
        list(by_detector[classifier.detector]),
    )
    replayed = {}
    for detector in by_detector:
        stored = load_scores(classifier.directory, detector)
        replayed[detector] = {
            rule: summary_at(detector, threshold_for(rule, stored)) for rule in RULES
        }
    return {
        "operating_point": {
            "detector": classifier.detector,
            "rule": classifier.metadata["scope"]["rule"],
            "threshold": classifier.threshold,
        },
        "summary": served["summary"],
        "most_confused": served["most_confused"][:5],
        "every_detector_and_rule": replayed,
    }


def batch_one_latency(classifier, texts: list[str], samples: int) -> dict:
    """Time classify([text]) end to end: tokenizer, network, calibration."""
    for text in texts[:50]:
        classifier.classify([text])
    timings = []
    for text in (texts * (samples // len(texts) + 1))[:samples]:
        started = time.perf_counter()
        classifier.classify([text])
        timings.append((time.perf_counter() - started) * 1000)
    return percentiles(timings)


def batch_throughput(classifier, texts: list[str], batch_size: int) -> float:
    started = time.perf_counter()
    for start in range(0, len(texts), batch_size):
        classifier.classify(texts[start : start + batch_size])
    return round(len(texts) / (time.perf_counter() - started), 1)


async def celery_round_trips(model_dir: Path, work: Path, arguments: argparse.Namespace) -> dict:
    """Classify stored messages on a real worker, through the consumer's own client code.

    The request goes out as the consumer sends it (batcher, publishing thread) and the result
    comes back over the channel layer to a future, as the consumer's `nlu_result` resolves it.
    The same messages understood in this process give the cost the round trip adds.
    """
    from asgiref.sync import sync_to_async
    from channels.layers import get_channel_layer

    from chatbot import actions
    from chatbot.nlu import artefacts
    from chatbot.nlu.client import PendingClassifications
    from chatbot.nlu.understanding import understand_texts

    served = work / "models" / "intents" / model_dir.name
    if not served.exists():
        served.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(model_dir.resolve(), served)
    artefacts.promote(model_dir.name)
    texts = [line.split(",")[0] for line in arguments.test.read_text().splitlines()[1:]]
    count = arguments.celery_messages

    def understood_here() -> list[float]:
        timings = []
        for text in texts[: count + 10]:
            started = time.perf_counter()
            understand_texts([text], arguments.threads)
            timings.append((time.perf_counter() - started) * 1000)
        return timings

    in_process = await sync_to_async(understood_here)()
    worker = start_worker(work)
    try:
        channel_layer = get_channel_layer()
        reply_channel = await channel_layer.new_channel()
        pending = PendingClassifications(reply_channel)

        async def deliver_results() -> None:
            while True:
                message = await channel_layer.receive(reply_channel)
                pending.resolve(message["request_id"], message["result"])

        delivering = asyncio.create_task(deliver_results())
        conversation = await sync_to_async(actions.open_conversation)(
            (await sync_to_async(actions.create_visitor)()).pk
        )
        timings = []
        for index, text in enumerate(texts[: count + 10]):
            event, _ = await sync_to_async(actions.record_visitor_message)(
                conversation.pk, f"bench-{index}", text
            )
            started = time.perf_counter()
            result = await pending.classify(event.pk, text)
            elapsed = (time.perf_counter() - started) * 1000
            assert result["status"] == "ok", result
            if index >= 10:  # the first ones warm the connections up
                timings.append(elapsed)
        delivering.cancel()
        end_to_end = percentiles(timings)
        here = percentiles(in_process[10:])
        return {
            "end_to_end_latency_ms": end_to_end,
            "understood_in_process_ms": here,
            "added_by_the_round_trip_ms_p50": round(end_to_end["p50"] - here["p50"], 3),
            "messages": len(timings),
        }
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def start_worker(
    work: Path, app: str = "chatbot", pool: str = "prefork", environment: dict | None = None
) -> subprocess.Popen:
    """Start one Celery worker process on the `nlu` queue; return it once it answers a ping."""
    log_path = work / "worker.log"
    with log_path.open("w") as log:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                app,
                "worker",
                "-Q",
                "nlu",
                "--concurrency",
                "1",
                "--pool",
                pool,
                "--loglevel",
                "WARNING",
            ],
            cwd=REPO_ROOT,
            env={**os.environ, "NLU_THREADS": "2", **(environment or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    from chatbot.celery import app as celery_app

    deadline = time.monotonic() + 60
    while not celery_app.control.ping(timeout=0.5):
        if worker.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the worker did not start:\n{log_path.read_text()}")
    return worker


def percentiles(timings: list[float]) -> dict:
    ordered = sorted(timings)

    def at(share: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 3)

    return {
        "p50": round(statistics.median(ordered), 3),
        "p95": at(0.95),
        "p99": at(0.99),
        "samples": len(ordered),
    }


if __name__ == "__main__":
    main()

"""The intent benchmark's protocols beyond plain BANKING77: intents held out as unknown, the
frozen-encoder baseline they are compared with, and the time a retrain takes."""

import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
UNKNOWN = "__unknown__"


def unknown_intents(arguments, test_report) -> dict:
    """Hold out a share of the intents as unknown over fixed random splits; train on the rest.

    Every test question is asked; those of held-out intents should be refused. Each split
    reports each mode at its default operating point, every detector and rule replayed, and the
    baseline at equal in-scope accuracy.
    """
    from chatbot.nlu.classifier import IntentClassifier
    from chatbot.nlu.importing import read_examples
    from chatbot.nlu.training import TrainingSettings, train_and_store

    train = read_examples(arguments.train)
    test = read_examples(arguments.test)
    intents = sorted({e.intent for e in train})
    count = round(len(intents) * arguments.unknown_share)
    texts = [e.text for e in test]
    splits = []
    for split in range(arguments.splits):
        unknown = set(random.Random(split).sample(intents, count))
        known_train = [e for e in train if e.intent not in unknown]
        truth = [UNKNOWN if e.intent in unknown else e.intent for e in test]
        row = {"split": split, "unknown_intents": sorted(unknown), "modes": {}}
        for mode in arguments.modes:
            settings = TrainingSettings(mode=mode, threads=arguments.threads)
            if arguments.time_budget_minutes is not None:
                settings.time_budget_minutes = arguments.time_budget_minutes or None
            directory = arguments.reuse_trained and _stored_model(known_train, mode)
            if directory:
                print(f"split {split}, {mode}: reusing {directory.name}", file=sys.stderr)
            else:
                print(f"split {split}, {mode}: training", file=sys.stderr)
                directory = train_and_store(known_train, settings, force=True).directory
            classifier = IntentClassifier(_at_default_rule(directory), threads=arguments.threads)
            report = test_report(classifier, truth, texts, UNKNOWN)
            report["version"] = classifier.version
            report["training_seconds"] = classifier.metadata["training_seconds"]
            report["validation_scope"] = classifier.metadata["scope"]["detectors"]
            row["modes"][mode] = report
        row["baseline"] = baseline(known_train, truth, texts, row["modes"], arguments)
        splits.append(row)
        print(json.dumps(_split_line(row)), file=sys.stderr)
    return {
        "unknown_share": arguments.unknown_share,
        "unknown_intents_per_split": count,
        "splits": splits,
        "mean_and_spread": _mean_and_spread(splits, arguments.modes),
    }


def _stored_model(examples, mode: str) -> Path | None:
    """Return the newest stored model trained in `mode` on exactly `examples`, if any."""
    from chatbot.nlu import artefacts
    from chatbot.nlu.training import data_hash

    wanted = data_hash(examples)
    for directory in sorted(artefacts.models_root().iterdir(), reverse=True):
        try:
            metadata = json.loads((directory / "metadata.json").read_text())
        except (OSError, ValueError):
            continue
        if (
            metadata.get("data_hash") == wanted
            and metadata["settings"]["mode"] == mode
            and "derived_from" not in metadata
        ):
            return directory
    return None


def _at_default_rule(directory: Path) -> Path:
    """Return the model at the default operating point: itself, or a version derived from it."""
    from chatbot.nlu import artefacts
    from chatbot.nlu.operating_points import DEFAULT_RULE
    from chatbot.nlu.scope_selection import rescoped

    metadata = json.loads((directory / "metadata.json").read_text())
    if metadata["scope"]["rule"] == DEFAULT_RULE:
        return directory
    derived = artefacts.derive(directory.name, rescoped(metadata, directory, DEFAULT_RULE))
    return artefacts.models_root() / derived


def baseline(known_train, truth, texts, modes: dict, arguments) -> dict:
    """A frozen encoder, logistic regression, and a top-probability threshold from validation.

    Reported at the threshold the default rule chooses on its validation split, and, for each
    mode, at the thresholds that give it the mode's in-scope accuracy (refusals wrong) and the
    mode's coverage of in-scope questions on test.
    """
    from chatbot.nlu.evaluation import evaluate_predictions
    from chatbot.nlu.operating_points import DEFAULT_RULE, ValidationScores, threshold_for
    from chatbot.nlu.out_of_scope import softmax
    from chatbot.nlu.training import frozen_sentence_vectors, stratified_split

    training, validation = stratified_split(known_train, 0.1, 13)
    labels = sorted({e.intent for e in training})
    index = {label: i for i, label in enumerate(labels)}
    weights = logistic_regression(
        frozen_sentence_vectors([e.text for e in training], description="Baseline vectors"),
        np.array([index[e.intent] for e in training]),
        len(labels),
    )
    validation_logits = _affine(frozen_sentence_vectors([e.text for e in validation]), weights)
    validation_truth = np.array([index[e.intent] for e in validation])
    without_own = validation_logits.copy()
    without_own[np.arange(len(validation)), validation_truth] = -np.inf
    scores = ValidationScores(
        in_scope=softmax(validation_logits).max(axis=-1),
        is_right=validation_logits.argmax(axis=-1) == validation_truth,
        out_of_scope=np.zeros(0),
        unknown=softmax(without_own).max(axis=-1),
    )
    probabilities = softmax(_affine(frozen_sentence_vectors(texts), weights))
    confidence = probabilities.max(axis=-1)
    guesses = [labels[i] for i in probabilities.argmax(axis=-1)]

    def at(threshold: float) -> dict:
        return evaluate_predictions(
            truth, guesses, list(confidence < threshold), UNKNOWN, list(confidence)
        )["summary"]

    chosen = threshold_for(DEFAULT_RULE, scores)
    figures = {"rule": DEFAULT_RULE, "threshold": round(chosen, 6), "summary": at(chosen)}
    candidates = np.unique(np.concatenate([[0.0], np.quantile(confidence, np.linspace(0, 1, 801))]))
    sweep = [(float(t), at(t)) for t in candidates]
    for mode, report in modes.items():
        # Where the baseline cannot reach the mode's in-scope accuracy (its top-1 is lower),
        # the nearest it gets is shown; the refusal-rate match compares like with like.
        for match in ("accuracy_rejections_wrong", "coverage"):
            wanted = report["summary"][match]
            threshold, summary = min(sweep, key=lambda pair: abs(pair[1][match] - wanted))
            figures[f"at_{mode}_{match}"] = {
                "threshold": round(threshold, 6),
                **{key: summary[key] for key in FIGURES[1:]},
            }
    return figures


def logistic_regression(vectors: np.ndarray, targets: np.ndarray, classes: int) -> dict:
    """Fit multinomial logistic regression (L2 1e-4) with L-BFGS; return weights and bias."""
    import torch

    inputs = torch.from_numpy(vectors.astype(np.float32))
    labels = torch.from_numpy(targets)
    linear = torch.nn.Linear(inputs.shape[1], classes)
    optimiser = torch.optim.LBFGS(linear.parameters(), max_iter=300, line_search_fn="strong_wolfe")

    def closure():
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(linear(inputs), labels) + 1e-4 * (
            linear.weight.pow(2).sum()
        )
        loss.backward()
        return loss

    optimiser.step(closure)
    return {
        "weight": linear.weight.detach().numpy().copy(),
        "bias": linear.bias.detach().numpy().copy(),
    }


def _affine(vectors: np.ndarray, weights: dict) -> np.ndarray:
    return vectors @ weights["weight"].T + weights["bias"]


FIGURES = (
    "top1_accuracy",
    "coverage",
    "accuracy_rejections_wrong",
    "out_of_scope_recall",
    "out_of_scope_precision",
    "out_of_scope_f1",
    "out_of_scope_auroc",
)


def _split_line(row: dict) -> dict:
    line = {"split": row["split"]}
    for mode, report in row["modes"].items():
        line[mode] = {key: report["summary"][key] for key in FIGURES}
    line["baseline"] = {key: row["baseline"]["summary"][key] for key in FIGURES}
    return line


def _mean_and_spread(splits: list[dict], modes: list[str]) -> dict:
    """Return the mean and the standard deviation over splits of the headline figures."""
    rows = {mode: [s["modes"][mode]["summary"] for s in splits] for mode in modes}
    rows["baseline"] = [s["baseline"]["summary"] for s in splits]
    for mode in modes:
        for match in ("accuracy_rejections_wrong", "coverage"):
            rows[f"baseline_at_{mode}_{match}"] = [
                s["baseline"][f"at_{mode}_{match}"] for s in splits
            ]
    return {name: mean_and_spread(summaries, FIGURES) for name, summaries in rows.items()}


def mean_and_spread(rows: list[dict], keys) -> dict:
    """Return each key's mean and population standard deviation over rows that all have it."""
    return {
        key: {
            "mean": round(statistics.fmean(row[key] for row in rows), 4),
            "spread": round(statistics.pstdev(row[key] for row in rows), 4),
        }
        for key in keys
        if all(row.get(key) is not None for row in rows)
    }


def retrain_timing(arguments) -> dict:
    """Time `train_intents --fast` as a user runs it: cold, then after adding 10 examples.

    Both runs are the command in a new process on a new VAR_DIR (no cached vectors, no cached
    encoder export before the first run); the second adds 10 test questions as new examples and
    starts from the first model's directions. Each model is then scored on the test split minus
    those 10, so a fast retrain is seen to cost no accuracy.
    """
    work = Path(tempfile.mkdtemp(prefix="retrain-bench-"))
    lines = arguments.train.read_text().splitlines()
    base = work / "train.csv"
    base.write_text("\n".join(lines) + "\n")
    added = work / "train_plus_10.csv"
    added.write_text("\n".join(lines + arguments.test.read_text().splitlines()[1:11]) + "\n")
    runs = {}
    for name, data in (("cold", base), ("after_adding_10_examples", added)):
        started = time.monotonic()
        completed = subprocess.run(
            [
                sys.executable,
                "manage.py",
                "train_intents",
                "--fast",
                "--force",
                "--data",
                str(data),
                "--json",
                "--threads",
                str(arguments.threads),
            ],
            cwd=REPO_ROOT,
            env={**_environment(work)},
            capture_output=True,
            text=True,
            check=True,
        )
        seconds = round(time.monotonic() - started, 2)
        metadata = json.loads(completed.stdout)
        runs[name] = {
            "command_seconds": seconds,
            "training_seconds_as_stored": metadata["training_seconds"],
            "sentence_vector_cache": metadata["sentence_vector_cache"],
            "classifier_training": metadata["history"][-1],
            "served_graph": metadata["quantization"]["served"],
            "validation_top1_accuracy": metadata["validation"]["summary"]["top1_accuracy"],
            "test_top1_accuracy": _test_accuracy(
                work / "models" / "intents" / metadata["version"], arguments, skip=10
            ),
        }
    return {
        **runs,
        "ratio": round(
            runs["after_adding_10_examples"]["command_seconds"] / runs["cold"]["command_seconds"],
            4,
        ),
    }


def _test_accuracy(directory: Path, arguments, skip: int) -> float:
    """Return a stored model's top-1 accuracy on the test split after its first `skip` rows."""
    from chatbot.nlu.classifier import IntentClassifier
    from chatbot.nlu.importing import read_examples

    examples = read_examples(arguments.test)[skip:]
    classifier = IntentClassifier(directory, threads=arguments.threads)
    right = 0
    for start in range(0, len(examples), 64):
        batch = examples[start : start + 64]
        predictions = classifier.classify([e.text for e in batch])
        right += sum(p.intent == e.intent for p, e in zip(predictions, batch, strict=True))
    return round(right / len(examples), 6)


def _environment(work: Path) -> dict:
    import os

    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "chatbot.settings",
        "VAR_DIR": str(work),
        "DATABASE_URL": f"sqlite:///{work / 'bench.sqlite3'}",
    }

"""Trained intent models on disk: one versioned folder each, and a pointer to the promoted one."""

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

PROMOTED_FILE = "promoted.json"
# Format 2: model.onnx ends at the sentence vector; head.npy holds the intent directions,
# reference.npz the vectors of a sample of training examples, validation_scores.npz every
# out-of-scope detector's validation scores. Format 1 (no "format" key): model.onnx gives logits.
FORMAT = 2
HEAD_FILE = "head.npy"
REFERENCE_FILE = "reference.npz"

# The promoted pointer last read: (its path and file identity, the version it named).
_promoted_seen: tuple[tuple, str] | None = None


def models_root() -> Path:
    """Return the folder that holds every trained intent model."""
    root = Path(settings.VAR_DIR) / "models" / "intents"
    root.mkdir(parents=True, exist_ok=True)
    return root


def new_version(data_hash: str) -> str:
    """Return a fresh, sortable version name whose folder this call has created."""
    return _claim(f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{data_hash[:8]}")


def _claim(base: str) -> str:
    """Create the folder `base`, or `base-2`, `base-3`... if taken; return the name created.

    A cached retrain can finish within the second of the last one. Creating the folder claims
    the name, even against another trainer.
    """
    for attempt in range(1000):
        version = base if attempt == 0 else f"{base}-{attempt + 1}"
        try:
            (models_root() / version).mkdir()
        except FileExistsError:
            continue
        return version
    raise RuntimeError(f"No free version name after {base}")


def read_metadata(version: str) -> dict:
    """Return a trained model's metadata."""
    return json.loads((models_root() / version / "metadata.json").read_text())


def write_metadata(version: str, metadata: dict) -> None:
    """Write a trained model's metadata next to its weights."""
    (models_root() / version / "metadata.json").write_text(json.dumps(metadata, indent=2))


def promoted_version() -> str | None:
    """Return the version the classifier serves, or None before any training.

    Asked for every message, so the pointer is read again only when its file changed:
    `promote` replaces the file, which gives it a new inode.
    """
    global _promoted_seen
    path = Path(settings.VAR_DIR) / "models" / "intents" / PROMOTED_FILE
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    key = (str(path), status.st_ino, status.st_mtime_ns, status.st_size)
    seen = _promoted_seen
    if seen is not None and seen[0] == key:
        return seen[1]
    version = json.loads(path.read_text())["version"]
    _promoted_seen = (key, version)
    return version


def promote(version: str) -> None:
    """Make `version` the served model; atomic, so a reader sees the old or the new one.

    The pointer keeps the version it replaced, so that a promotion can be rolled back.
    """
    if not (models_root() / version / "metadata.json").exists():
        raise FileNotFoundError(f"no trained model {version!r}")
    replaced = promoted_version()
    temporary = models_root() / f".{PROMOTED_FILE}.{os.getpid()}"
    temporary.write_text(
        json.dumps(
            {
                "version": version,
                "promoted_at": datetime.now(UTC).isoformat(),
                "previous": replaced if replaced != version else previous_version(),
            }
        )
    )
    temporary.replace(models_root() / PROMOTED_FILE)


def previous_version() -> str | None:
    """The version the served one replaced, or None: what a rollback would serve again."""
    try:
        return json.loads((models_root() / PROMOTED_FILE).read_text()).get("previous")
    except FileNotFoundError:
        return None


def roll_back() -> str:
    """Serve the version the current one replaced again; return it. Twice goes back and forth."""
    previous = previous_version()
    if previous is None:
        raise FileNotFoundError("no earlier promoted model to go back to")
    promote(previous)
    return previous


def derive(version: str, metadata: dict) -> str:
    """Store a new version with `version`'s files and new metadata; return its name.

    Models never change once stored: a new operating point is a new version, so a process that
    serves the old one keeps a consistent model until it sees the new promotion.
    """
    source = models_root() / version
    derived = _claim(f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{version.split('-')[2]}-op")
    target = models_root() / derived
    for path in source.iterdir():
        if path.name == "metadata.json" or not path.is_file():
            continue
        try:
            os.link(path, target / path.name)
        except OSError:
            shutil.copy2(path, target / path.name)
    write_metadata(derived, {**metadata, "version": derived, "derived_from": version})
    return derived

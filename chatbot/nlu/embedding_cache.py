"""The frozen encoder's sentence vectors, kept on disk so that retraining reuses them.

Vectors live in `VAR_DIR/models/sentence-vectors/IDENTITY/`, where IDENTITY hashes everything
that decides a vector: every file of the packaged encoder, the pooling, the attention
implementation, the maximum length and the library versions. Within it, each vector is found by
its text's SHA-256. A vector of another encoder, or of other settings, is never served: it lives
in another folder, and every file also records the identity it was made with.

A run that embeds new texts adds them as one segment file, written under a temporary name and
renamed, so a reader never sees a half-written file and concurrent trainers never overwrite each
other's vectors. A file that cannot be read is reported, deleted and its texts embedded again.
When segments pile up or the vectors exceed `MAX_VECTORS`, they are merged into one, keeping
the vectors the current run used first; only the four most recently used identities are kept.
Deleting the folder is always safe: it only costs the next run the embedding.
"""

import contextlib
import hashlib
import json
import logging
import os
import secrets
import shutil
import time
import zipfile
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from django.conf import settings

logger = logging.getLogger(__name__)

# Raised when the stored layout changes, so that older files are never misread.
FORMAT_VERSION = 1
# About 90 MB of all-MiniLM-L6-v2's 384 float32 dimensions; BANKING77 uses 10,000.
MAX_VECTORS = 60_000
MAX_SEGMENTS = 16
# Two encoder settings, each with the float graph's vectors and the int8 graph's.
KEPT_IDENTITIES = 4
# A temporary file this old belongs to a writer that died.
ABANDONED_TEMPORARY_SECONDS = 3600
SEGMENT_SUFFIX = ".npz"
TEMPORARY_SUFFIX = ".tmp"
_KEY_BYTES = 32
# What numpy raises on a truncated, garbled or foreign file (a plain .npy has no `with`).
_UNREADABLE = (
    OSError,
    ValueError,
    EOFError,
    KeyError,
    TypeError,
    AttributeError,
    zipfile.BadZipFile,
)


def cache_root() -> Path:
    """Return the folder that holds the cached sentence vectors of every encoder identity."""
    return Path(settings.VAR_DIR) / "models" / "sentence-vectors"


def encoder_identity(model_dir: Path, encoding_settings: dict) -> str:
    """Return a hash of an encoder's files and of the settings that shape its vectors."""
    digest = hashlib.sha256()
    digest.update(
        json.dumps({"format": FORMAT_VERSION, **encoding_settings}, sort_keys=True).encode()
    )
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        status = path.stat()
        digest.update(path.relative_to(model_dir).as_posix().encode() + b"\0")
        digest.update(_file_digest(str(path), status.st_size, status.st_mtime_ns))
    return digest.hexdigest()


@lru_cache(maxsize=64)
def _file_digest(path: str, size: int, modified_ns: int) -> bytes:
    # Size and modification time are part of the key, so a rewritten file is hashed again.
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").digest()


def text_key(text: str) -> bytes:
    """Return the key a text's vector is stored under."""
    return hashlib.sha256(text.encode("utf-8")).digest()


class EmbeddingCache:
    """One encoder identity's stored vectors, read once and added to by one training run."""

    def __init__(
        self,
        root: Path,
        identity: str,
        max_vectors: int = MAX_VECTORS,
        max_segments: int = MAX_SEGMENTS,
    ) -> None:
        self.root = root
        self.identity = identity
        self.directory = root / identity
        self.max_vectors = max_vectors
        self.max_segments = max_segments
        self._stored: dict[bytes, np.ndarray] | None = None
        self._segments_read: list[Path] = []
        self._loaded_keys: set[bytes] = set()
        self._used: dict[bytes, None] = {}
        self._added: set[bytes] = set()

    @property
    def reused_count(self) -> int:
        """Return how many distinct texts of this run were served from earlier runs' vectors."""
        return sum(key in self._loaded_keys for key in self._used)

    @property
    def embedded_count(self) -> int:
        """Return how many distinct texts this run embedded and added."""
        return len(self._added)

    def cached(self, texts: Iterable[str]) -> dict[str, np.ndarray]:
        """Return the stored vector of each of `texts` that has one."""
        stored = self._read()
        found = {}
        for text in texts:
            key = text_key(text)
            self._used[key] = None
            if key in stored:
                found[text] = stored[key]
        return found

    def add(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store the vectors of `texts` (one row each) for the next runs."""
        if not texts:
            return
        stored = self._read()
        keys = [text_key(text) for text in texts]
        for key, vector in zip(keys, vectors, strict=True):
            stored[key] = vector
            self._used[key] = None
        self._added.update(keys)
        try:
            written = self._write_segment(keys, np.asarray(vectors, dtype=np.float32))
            self._segments_read.append(written)
            self._keep_bounded()
        except OSError as error:
            logger.warning("Could not store sentence vectors in %s: %s", self.directory, error)

    def _read(self) -> dict[bytes, np.ndarray]:
        if self._stored is not None:
            return self._stored
        self._stored = {}
        # Newest first, so that the merge keeps the most recent vectors when it has to choose.
        for path in sorted(self._segment_paths(), reverse=True):
            segment = self._read_segment(path)
            if segment is None:
                continue
            self._segments_read.append(path)
            for key, vector in zip(segment[0], segment[1], strict=True):
                self._stored.setdefault(key.tobytes(), vector)
        self._loaded_keys = set(self._stored)
        # The folder's time says when its identity was last used (see _remove_other_identities).
        with contextlib.suppress(OSError):
            os.utime(self.directory)
        return self._stored

    def _segment_paths(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return [p for p in self.directory.iterdir() if p.name.endswith(SEGMENT_SUFFIX)]

    def _read_segment(self, path: Path) -> tuple[np.ndarray, np.ndarray] | None:
        """Return a segment's keys and vectors; delete it, with a warning, if it is unusable."""
        try:
            problem, keys, vectors = _load_segment(path, self.identity)
        except FileNotFoundError:
            # Merged and deleted by a concurrent trainer since the folder was listed.
            return None
        if problem is None:
            return keys, vectors
        logger.warning(
            "Ignoring the sentence-vector cache file %s: %s; its texts are embedded again.",
            path,
            problem,
        )
        path.unlink(missing_ok=True)
        return None

    def _write_segment(self, keys: list[bytes], vectors: np.ndarray) -> Path:
        """Write a segment under a temporary name, then rename it: readers see all or nothing."""
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(4)}"
        temporary = self.directory / f".{name}{TEMPORARY_SUFFIX}"
        final = self.directory / f"{name}{SEGMENT_SUFFIX}"
        key_array = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), _KEY_BYTES)
        try:
            with open(temporary, "wb") as file:
                np.savez(file, identity=np.array(self.identity), keys=key_array, vectors=vectors)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, final)
        finally:
            temporary.unlink(missing_ok=True)
        return final

    def _keep_bounded(self) -> None:
        """Merge the segments when there are too many, prune old identities and dead writes."""
        assert self._stored is not None
        if len(self._segments_read) > self.max_segments or len(self._stored) > self.max_vectors:
            self._merge()
        self._remove_abandoned_temporaries()
        self._remove_other_identities()

    def _merge(self) -> None:
        """Replace the segments this run read or wrote by one, at most `max_vectors` long."""
        assert self._stored is not None
        kept = [key for key in self._used if key in self._stored]
        kept += [key for key in self._stored if key not in self._used]
        kept = kept[: self.max_vectors]
        merged = self._write_segment(kept, np.stack([self._stored[key] for key in kept]))
        # Only what this run read goes: a segment a concurrent trainer wrote meanwhile stays.
        for path in self._segments_read:
            path.unlink(missing_ok=True)
        self._segments_read = [merged]

    def _remove_abandoned_temporaries(self) -> None:
        now = time.time()
        for path in self.directory.glob(f".*{TEMPORARY_SUFFIX}"):
            with contextlib.suppress(FileNotFoundError):
                if now - path.stat().st_mtime > ABANDONED_TEMPORARY_SECONDS:
                    path.unlink(missing_ok=True)

    def _remove_other_identities(self) -> None:
        """Keep this identity and the most recently used others, up to `KEPT_IDENTITIES`."""
        others = []
        for path in self.root.iterdir():
            if path.is_dir() and path != self.directory:
                with contextlib.suppress(FileNotFoundError):
                    others.append((path.stat().st_mtime, path))
        for _, path in sorted(others, reverse=True)[KEPT_IDENTITIES - 1 :]:
            shutil.rmtree(path, ignore_errors=True)


def _load_segment(path: Path, expected_identity: str) -> tuple[str | None, np.ndarray, np.ndarray]:
    """Return what makes a segment unusable (None if it is sound), its keys and its vectors."""
    empty = np.zeros((0, _KEY_BYTES), dtype=np.uint8)
    try:
        with np.load(path, allow_pickle=False) as segment:
            identity, keys, vectors = (
                str(segment["identity"]),
                segment["keys"],
                segment["vectors"],
            )
    except FileNotFoundError:
        raise
    except _UNREADABLE as error:
        return f"unreadable ({type(error).__name__}: {error})", empty, empty
    return _segment_problem(identity, keys, vectors, expected_identity), keys, vectors


def _segment_problem(
    identity: str, keys: np.ndarray, vectors: np.ndarray, expected_identity: str
) -> str | None:
    """Return what makes a segment unusable, or None if it is sound."""
    if identity != expected_identity:
        return f"made by another encoder identity ({identity[:12]})"
    if keys.dtype != np.uint8 or keys.ndim != 2 or keys.shape[1] != _KEY_BYTES:
        return "malformed keys"
    if vectors.dtype != np.float32 or vectors.ndim != 2 or len(vectors) != len(keys):
        return "malformed vectors"
    if not np.isfinite(vectors).all():
        return "vectors that are not finite"
    return None

"""Export a sentence encoder to ONNX with fused transformer operators.

The model's graph stops at the sentence vector; the intent directions are applied in numpy
(`out_of_scope.Head`), so the same vector also feeds the out-of-scope scores. The frozen
encoder's export is the same for every fast-mode model: it is made once per encoder identity in
`VAR_DIR/models/encoders/` and hard-linked (copied where links are impossible) into each model.

Served graphs carry int8 weights where that costs no accuracy (`quantize`): a sentence takes
about two thirds of the time, and training checks the accuracy on validation before it serves
them (`training.QUANTIZATION_TOLERANCE`).
"""

import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
VECTOR_OUTPUT = "sentence_vector"
EXPORT_RECORD = "export.json"
# Raised when the exported graph changes, so that an older cached export is never linked.
EXPORT_FORMAT = 3
QUANTIZED_SUFFIX = "-int8"


def encoders_root() -> Path:
    return Path(settings.VAR_DIR) / "models" / "encoders"


def export_encoder(network, tokenizer, directory: Path, sample) -> None:
    """Write `network`'s encoder (token ids in, sentence vector out) and its tokenizer."""
    import torch

    from chatbot.nlu.network import SentenceEncoder

    encoder = SentenceEncoder(network).eval()
    inputs = (sample["input_ids"], sample["attention_mask"])
    with warnings.catch_warnings():
        # The tracer warns about Python branches in transformers' masking code; with an
        # explicit attention mask they take one path, and training compares the outputs.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            encoder,
            inputs,
            str(directory / MODEL_FILE),
            input_names=["input_ids", "attention_mask"],
            output_names=[VECTOR_OUTPUT],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                VECTOR_OUTPUT: {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )
    _fuse_transformer_operators(directory / MODEL_FILE, network.encoder.config)
    tokenizer.backend_tokenizer.save(str(directory / TOKENIZER_FILE))


def quantize(source: Path, target: Path) -> None:
    """Write `source`'s graph to `target` with int8 weights, one scale per output channel.

    Activations are quantized per call (dynamic quantization): no calibration data is needed.
    One scale per channel instead of per matrix keeps BANKING77's accuracy within a few tenths of
    a point of the float graph's; per matrix it lost more than a point.
    """
    import onnx
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from chatbot.nlu.classifier import DYNAMIC_INT8, QUANTIZATION_PROPERTY

    # The quantizer logs every tensor at INFO and advises pre-processing at WARNING; the fused
    # graph is what it should see as it is.
    logging.disable(logging.WARNING)
    try:
        quantize_dynamic(
            str(source),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=True,
            # The fused operators' outputs have no inferred type; they are all float.
            extra_options={"DefaultTensorType": TensorProto.FLOAT},
        )
    finally:
        logging.disable(logging.NOTSET)
    # Serving reads this to run texts one at a time (`classifier.SentenceEncoderSession`).
    graph = onnx.load(str(target))
    onnx.helper.set_model_props(graph, {QUANTIZATION_PROPERTY: DYNAMIC_INT8})
    onnx.save(graph, str(target))


def cached_quantized(float_folder: Path) -> Path:
    """Return the folder of the int8 copy of a cached float export, making it if missing."""

    def build(folder: Path) -> None:
        quantize(float_folder / MODEL_FILE, folder / MODEL_FILE)
        shutil.copy2(float_folder / TOKENIZER_FILE, folder / TOKENIZER_FILE)
        shutil.copy2(float_folder / EXPORT_RECORD, folder / EXPORT_RECORD)

    return _cached(float_folder.name + QUANTIZED_SUFFIX, build)


def export_record(folder: Path) -> dict:
    """Return what was recorded when a cached export was made (its gap to torch's vectors)."""
    return json.loads((folder / EXPORT_RECORD).read_text())


def write_export_record(folder: Path, record: dict) -> None:
    (folder / EXPORT_RECORD).write_text(json.dumps(record))


def cached_encoder(identity: str, build: Callable[[Path], None]) -> Path:
    """Return the folder of the export for `identity`, building it with `build` if missing."""
    return _cached(f"{identity[:32]}-v{EXPORT_FORMAT}", build)


def _cached(name: str, build: Callable[[Path], None]) -> Path:
    folder = encoders_root() / name
    if all((folder / file).exists() for file in (MODEL_FILE, TOKENIZER_FILE, EXPORT_RECORD)):
        return folder
    encoders_root().mkdir(parents=True, exist_ok=True)
    # Built aside and renamed, so a concurrent trainer never links a half-written file.
    staging = Path(tempfile.mkdtemp(prefix=".building-", dir=encoders_root()))
    try:
        build(staging)
        try:
            staging.rename(folder)
        except OSError:
            # Another trainer finished first; its export is the same.
            if not (folder / MODEL_FILE).exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def link_files(source: Path, directory: Path) -> None:
    """Put the exported encoder's files into a model's folder without copying where possible."""
    for name in (MODEL_FILE, TOKENIZER_FILE):
        try:
            os.link(source / name, directory / name)
        except OSError:
            shutil.copy2(source / name, directory / name)


def _fuse_transformer_operators(path: Path, config) -> None:
    """Rewrite the graph with ONNX Runtime's fused attention, layer-norm and GELU operators."""
    from onnxruntime.transformers import optimizer

    # The optimizer logs every pass at INFO; the training's own progress is what people read.
    logging.disable(logging.INFO)
    try:
        optimised = optimizer.optimize_model(
            str(path),
            model_type="bert",
            num_heads=config.num_attention_heads,
            hidden_size=config.hidden_size,
        )
        optimised.save_model_to_file(str(path))
    finally:
        logging.disable(logging.NOTSET)

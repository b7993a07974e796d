"""The intent network: the all-MiniLM-L6-v2 encoder, mean pooling and a cosine classifier.

Torch and transformers are imported here only; the web process never imports this module.
"""

import torch
from torch import nn
from torch.nn import functional

from chatbot.nlu.base_encoder import ATTENTION_IMPLEMENTATION, base_encoder_dir
from chatbot.nlu.head_training import COSINE_SCALE


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average the token vectors of each text, ignoring padding."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


class CosineClassifier(nn.Module):
    """Score a sentence vector against one learned direction per intent."""

    def __init__(self, dimensions: int, label_count: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(label_count, dimensions) * 0.02)

    def forward(self, vectors: torch.Tensor) -> torch.Tensor:
        return (
            COSINE_SCALE
            * functional.normalize(vectors, dim=-1)
            @ functional.normalize(self.weight, dim=-1).T
        )


class IntentNetwork(nn.Module):
    """Token ids in, one logit per intent out."""

    def __init__(self, encoder: nn.Module, label_count: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.classifier = CosineClassifier(encoder.config.hidden_size, label_count)

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return mean_pool(hidden, attention_mask)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.embed(input_ids, attention_mask)))


class SentenceEncoder(nn.Module):
    """The network's encoder and pooling alone: what the exported ONNX graph computes."""

    def __init__(self, network: IntentNetwork) -> None:
        super().__init__()
        self.network = network

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.network.embed(input_ids, attention_mask)


def load_base_network(label_count: int) -> IntentNetwork:
    """Return a network on the packaged encoder with an untrained classifier."""
    from transformers import AutoModel

    encoder = AutoModel.from_pretrained(
        str(base_encoder_dir()), local_files_only=True, attn_implementation=ATTENTION_IMPLEMENTATION
    )
    return IntentNetwork(encoder, label_count)


def load_base_tokenizer():
    """Return the packaged encoder's fast tokenizer."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(base_encoder_dir()), local_files_only=True)

"""[CLS]-only last layer: exact savings for encoders whose vector is the first token's ([CLS]-pooled).

A [CLS]-pooled encoder (DPR's pooler_output, ``pooling: cls``) reads one row of the last layer's output,
yet a plain forward pass computes all of them. In the last layer only the keys and values need every
token; the query, attention output, feed-forward and layer norms can run on the first token alone. The
result is the same computation for that row (attention of the first query over all keys and values), so
vectors equal the full pass up to float rounding. Saved: 10/12 of one layer's matmul FLOPs (Q, output
projection, feed-forward; K and V stay), i.e. 7% of BERT-base (12 layers) and 14% of a 6-layer MiniLM.

Example::

    from dpr_components.fastpaths.cls_only import compute_last_layer_for_cls_only
    changed = compute_last_layer_for_cls_only(model)   # True for BERT-style encoders; last_hidden_state is (B, 1, H)

Private internals: BertLayer's ``attention.self`` / ``attention.output`` / ``feed_forward_chunk`` and
BertSelfAttention's cross-attention arguments. ``DPR_FASTPATHS=-cls_only`` keeps the plain full pass.
"""
from typing import Any, Optional

import torch

from dpr_components.fastpaths import FastPath, enabled

BERT_LAYERS = {"BertLayer"}  # BertSelfAttention / BertSdpaSelfAttention take keys and values from encoder_hidden_states


class FirstTokenLayer(torch.nn.Module):
    """Wraps a BertLayer so that it outputs only the first position, attending over every position."""

    def __init__(self, layer: torch.nn.Module):
        super().__init__()
        self.layer: Any = layer  # a transformers BertLayer: its private parts are read below

    def forward(self, hidden_states: torch.Tensor, attention_mask: Optional[torch.Tensor] = None, *args, **kwargs):
        first = hidden_states[:, :1]
        if attention_mask is not None and attention_mask.dim() == 4:
            attention_mask = attention_mask[:, :, :1, :]  # (B, 1, L, L) sdpa mask -> the first query's row
        attention = self.layer.attention
        # As cross-attention: the query from the first token, keys and values from all tokens.
        context = attention.self(first, None, None, hidden_states, attention_mask)[0]
        attention_output = attention.output(context, first)
        return (self.layer.feed_forward_chunk(attention_output),)


def compute_last_layer_for_cls_only(model: torch.nn.Module) -> bool:
    """Wrap the last layer of every BERT-style encoder stack in ``model``; False when none was found (or the fast
    path is off)."""
    changed = False
    if not enabled(FastPath.CLS_ONLY):
        return changed
    for module in model.modules():
        layers = getattr(module, "layer", None)
        is_decoder = getattr(getattr(module, "config", None), "is_decoder", False)
        if (type(module).__name__.endswith("Encoder") and isinstance(layers, torch.nn.ModuleList) and len(layers)
                and type(layers[-1]).__name__ in BERT_LAYERS and not is_decoder):
            layers[-1] = FirstTokenLayer(layers[-1])
            changed = True
    return changed

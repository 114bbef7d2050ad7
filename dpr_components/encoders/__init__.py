"""Transformer text encoders shared by the retriever nodes."""
from dpr_components.encoders.text_encoder import Pooling, TextEncoder

__all__ = ["Pooling", "TextEncoder"]

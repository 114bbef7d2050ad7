"""Transformer text encoders shared by the retriever nodes, and the signature that identifies them."""
from dpr_components.encoders.signature import EncoderSignature
from dpr_components.encoders.text_encoder import Pooling, TextEncoder

__all__ = ["EncoderSignature", "Pooling", "TextEncoder"]

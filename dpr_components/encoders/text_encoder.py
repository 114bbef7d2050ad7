"""One transformer encoder that turns questions or (title, text) passages into vectors.

Usage::

    from dpr_components.encoders import TextEncoder

    encoder = TextEncoder("facebook/dpr-ctx_encoder-single-nq-base")       # DPR: pooler_output
    vectors = encoder.encode([("Paris", "Paris is the capital of France.")], max_length=256)

    minilm = TextEncoder("sentence-transformers/all-MiniLM-L6-v2", pooling="mean", normalize=True)
    vectors = minilm.encode(["who founded paris?"], max_length=64)        # float32, shape (1, 384)

    on_gpus = TextEncoder("facebook/dpr-ctx_encoder-single-nq-base", devices=["cuda:0", "cuda:1"])
"""
import copy
import logging
from typing import Any, Callable, List, Optional, Sequence, Union

import numpy as np
import torch

from dpr_components.encoders.onnx_runtime import check_settings, onnx_runtime_model
from dpr_components.encoders.signature import fingerprint
from dpr_components.fastpaths.cls_only import compute_last_layer_for_cls_only
from dpr_components.modeling.checkpoints import architecture_name, check_max_length
from dpr_components.modeling.encoders import (
    Pooling,
    TextInput,
    embed_batched,
    is_dpr_encoder,
    load_encoder,
    pool,
    token_ids,
)
from dpr_components.utils.choices import Precision, Runtime
from dpr_components.utils.devices import DeviceSpec, resolve_devices, resolve_precision
from dpr_components.utils.models import prepare_for_inference

logger = logging.getLogger(__name__)
__all__ = ["Pooling", "TextEncoder", "TextInput"]


class TextEncoder:
    """A transformer encoder and its tokenizer, loaded from a hub id or a local directory.

    Loading, pooling (``cls`` | ``mean``; DPR checkpoints: their ``pooler_output``), ``normalize`` and inputs
    (``[CLS] a [SEP]`` or ``[CLS] title [SEP] text [SEP]``) follow :mod:`dpr_components.modeling.encoders`.

    ``precision``: auto (bf16 where the device computes it natively, else fp32), fp32, bf16 or int8 (CPU);
    ``self.precision`` is the resolved one. ``device``: auto | cpu | cuda | cuda:N; ``devices`` (a list)
    puts one copy of the model on each device and spreads the batches of one ``encode`` call over them
    (passage indexing on several GPUs); ``use_gpu=False`` forces the CPU. ``runtime``: torch (default) or
    onnxruntime (CPU, fp32 or int8; ``auto`` means fp32 there): the model is exported to ONNX once and run by
    ONNX Runtime, whose int8 is faster and closer to fp32 on AVX2-only CPUs
    (:mod:`dpr_components.encoders.onnx_runtime`).
    """

    def __init__(
        self,
        model_name_or_path: str,
        pooling: Union[str, Pooling] = Pooling.CLS,
        normalize: bool = False,
        precision: Union[str, Precision] = Precision.AUTO,
        use_auth_token: Optional[Union[str, bool]] = None,
        device: DeviceSpec = "auto",
        devices: Optional[Sequence[DeviceSpec]] = None,
        use_gpu: Optional[bool] = None,
        runtime: Union[str, Runtime] = Runtime.TORCH,
    ):
        self.model_name_or_path = str(model_name_or_path)
        self.runtime = Runtime.from_str(runtime)
        self.pooling = Pooling.from_str(pooling)
        self.normalize = bool(normalize)
        self.devices = resolve_devices(device, devices, use_gpu)
        self.device = self.devices[0]
        if self.runtime is Runtime.ONNXRUNTIME and Precision.from_str(precision) is Precision.AUTO:
            precision = Precision.FP32  # ONNX Runtime's CPU kernels have no fast bf16
        self.precision = resolve_precision(precision, self.device)
        if self.runtime is Runtime.ONNXRUNTIME:
            check_settings(self.precision, self.device)  # before the weights load

        # The checkpoint rules (DPR detection, pooling, what is refused) are modeling.encoders', shared with training.
        # The ONNX exporter traces eager attention; sdpa's mask handling depends on the traced batch.
        attention = {"attn_implementation": "eager"} if self.runtime is Runtime.ONNXRUNTIME else {}
        config, self.tokenizer, model = load_encoder(self.model_name_or_path, self.pooling, use_auth_token,
                                                     self.normalize, **attention)
        self.config, self.uses_dpr_pooler = config, is_dpr_encoder(model)
        self.architecture = architecture_name(config)
        projection_dim = getattr(config, "projection_dim", 0) if self.uses_dpr_pooler else 0
        self.embedding_dim = int(projection_dim or config.hidden_size)
        # Hashed as loaded, before a precision change: fp32, bf16 and int8 runs of one checkpoint are one model.
        self.weights_digest = fingerprint(config, model)
        cls_only = (self.uses_dpr_pooler or self.pooling is Pooling.CLS) and compute_last_layer_for_cls_only(model)
        # Each called like a transformers model: model(input_ids=, attention_mask=).
        self.model: Callable[..., Any]
        self.replicas: List[Callable[..., Any]]
        if self.runtime is Runtime.ONNXRUNTIME:
            output = "pooler_output" if self.uses_dpr_pooler else "last_hidden_state"
            self.model = onnx_runtime_model(model, output, self.precision, self.weights_digest, self.device, cls_only)
            self.replicas = [self.model]
            return
        # One copy per extra device first: prepare_for_inference packs or quantises the model in place.
        extra = [prepare_for_inference(copy.deepcopy(model), self.precision, device) for device in self.devices[1:]]
        self.model = prepare_for_inference(model, self.precision, self.device)
        self.replicas = [self.model, *extra]

    @property
    def pooling_name(self) -> str:
        """How vectors are pooled: ``pooler_output`` for DPR checkpoints, else ``cls`` or ``mean``."""
        return "pooler_output" if self.uses_dpr_pooler else self.pooling.value

    def check_max_length(self, name: str, max_length: int) -> None:
        """Raise :class:`ConfigurationError` if inputs of ``max_length`` tokens exceed the model's positions."""
        check_max_length(self.config, self.model_name_or_path, name, max_length)

    def encode(
        self,
        texts: Sequence[TextInput],
        max_length: int,
        batch_size: int = 16,
        progress_bar: bool = False,
        description: str = "Encoding",
    ) -> np.ndarray:
        """Embed strings, or (title, text) pairs, into a float32 array of shape (len(texts), embedding_dim).

        Inputs are sorted by token length and each batch is padded only to its longest member, so a batch
        of short questions costs what short questions cost. With several devices, each device takes every
        n-th batch. Output rows follow the input order.
        """
        ids = token_ids(self.tokenizer, texts, max_length, self.model_name_or_path)
        forwards = [lambda input_ids, mask, replica=replica: self._embed(input_ids, mask, replica)
                    for replica in range(len(self.replicas))]
        return embed_batched(ids, self.tokenizer.pad_token_id, batch_size, forwards, self.embedding_dim,
                             progress_bar, description)

    def _embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, replica: int = 0) -> torch.Tensor:
        device = self.devices[replica]
        input_ids, attention_mask = input_ids.to(device), attention_mask.to(device)
        output = self.replicas[replica](input_ids=input_ids, attention_mask=attention_mask)
        return pool(output, attention_mask, self.uses_dpr_pooler, self.pooling, self.normalize)

    def __repr__(self) -> str:
        return (f"TextEncoder({self.model_name_or_path!r}, {self.architecture}, pooling="
                f"{self.pooling_name}, normalize={self.normalize}, precision={self.precision.value}, "
                f"devices={[str(d) for d in self.devices]}, dim={self.embedding_dim})")

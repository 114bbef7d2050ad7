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
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from tqdm import tqdm
from transformers import AutoModel, AutoTokenizer, DPRContextEncoder, DPRQuestionEncoder, PreTrainedModel

from dpr_components.encoders.cls_only import compute_last_layer_for_cls_only
from dpr_components.encoders.onnx_runtime import check_settings, onnx_runtime_model
from dpr_components.encoders.signature import fingerprint
from dpr_components.errors import ConfigurationError, ModelLoadError
from dpr_components.utils.batching import padded_batches
from dpr_components.utils.validation import unicode_problem
from dpr_components.utils.choices import Choice, Precision, Runtime
from dpr_components.utils.devices import DeviceSpec, resolve_devices, resolve_precision
from dpr_components.utils.models import load_config, prepare_for_inference

logger = logging.getLogger(__name__)

TextInput = Union[str, Tuple[str, str]]

DPR_ENCODERS = {"DPRQuestionEncoder": DPRQuestionEncoder, "DPRContextEncoder": DPRContextEncoder}
EXPECTED = "a text encoder (DPRQuestionEncoder, DPRContextEncoder, or a BERT-style model that AutoModel loads)"


class Pooling(Choice):
    """How a non-DPR encoder turns token vectors into one vector: the [CLS] token or the masked mean."""

    CLS = "cls"
    MEAN = "mean"


class TextEncoder:
    """A transformer encoder and its tokenizer, loaded from a hub id or a local directory.

    DPR checkpoints (config architectures DPRQuestionEncoder / DPRContextEncoder) are pooled by their own
    ``pooler_output`` ([CLS], projected when ``projection_dim > 0``). Any other encoder is loaded with
    ``AutoModel`` and pooled from ``last_hidden_state`` by ``pooling`` (cls | mean). ``normalize`` L2-normalises
    the vectors. Inputs are tokenised as ``[CLS] a [SEP]`` or ``[CLS] title [SEP] text [SEP]`` with all segment
    ids 0, as DPR encodes passages.

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

        config = load_config(self.model_name_or_path, EXPECTED, use_auth_token)
        architectures = list(getattr(config, "architectures", None) or [])
        self.architecture = architectures[0] if architectures else config.model_type
        dpr_class = next((DPR_ENCODERS[name] for name in architectures if name in DPR_ENCODERS), None)
        self.uses_dpr_pooler = dpr_class is not None
        if config.model_type == "dpr" and not self.uses_dpr_pooler:
            raise ModelLoadError(
                f"{self.model_name_or_path!r} is a {self.architecture} checkpoint, but {EXPECTED} was expected. "
                "A DPRReader cannot embed text: give the question or context encoder directory."
            )
        if getattr(config, "is_encoder_decoder", False) or getattr(config, "is_decoder", False):
            raise ModelLoadError(
                f"{self.model_name_or_path!r} is a {self.architecture} (decoder) model, but {EXPECTED} was expected."
            )
        if self.uses_dpr_pooler and self.pooling is not Pooling.CLS:
            raise ConfigurationError(
                f"pooling={self.pooling.value!r} does not apply to the DPR checkpoint {self.model_name_or_path!r}: "
                "DPR encoders are pooled by their [CLS] pooler_output. Use pooling: cls."
            )
        projection_dim = getattr(config, "projection_dim", 0) if self.uses_dpr_pooler else 0
        self.embedding_dim = int(projection_dim or config.hidden_size)

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.model_name_or_path, token=use_auth_token)
            model_class = dpr_class or AutoModel
            # The ONNX exporter traces eager attention; sdpa's mask handling depends on the traced batch.
            attention = {"attn_implementation": "eager"} if self.runtime is Runtime.ONNXRUNTIME else {}
            model: PreTrainedModel = model_class.from_pretrained(self.model_name_or_path, token=use_auth_token,
                                                                 **attention)
        except (OSError, ValueError) as error:
            raise ModelLoadError(
                f"Could not load the tokenizer and weights of {self.model_name_or_path!r} ({error}). "
                f"Expected {EXPECTED}, saved with save_pretrained (config.json, weights, tokenizer files)."
            ) from error
        # Hashed as loaded, before a precision change: fp32, bf16 and int8 runs of one checkpoint are one model.
        self.weights_digest = fingerprint(config, model)
        self.max_positions = int(getattr(config, "max_position_embeddings", 0) or 0) or None
        cls_only = (self.uses_dpr_pooler or self.pooling is Pooling.CLS) and compute_last_layer_for_cls_only(model)
        if self.runtime is Runtime.ONNXRUNTIME:
            output = "pooler_output" if self.uses_dpr_pooler else "last_hidden_state"
            self.model = onnx_runtime_model(model, output, self.precision, self.weights_digest, self.device, cls_only)
            self.replicas = [self.model]
            return
        # One copy per extra device first: prepare_for_inference packs or quantises the model in place.
        extra = [prepare_for_inference(copy.deepcopy(model), self.precision, device) for device in self.devices[1:]]
        self.model = prepare_for_inference(model, self.precision, self.device)
        self.replicas: List[Callable] = [self.model] + extra

    @property
    def pooling_name(self) -> str:
        """How vectors are pooled: ``pooler_output`` for DPR checkpoints, else ``cls`` or ``mean``."""
        return "pooler_output" if self.uses_dpr_pooler else self.pooling.value

    def check_max_length(self, name: str, max_length: int) -> None:
        """Raise :class:`ConfigurationError` if inputs of ``max_length`` tokens exceed the model's positions."""
        if self.max_positions is not None and max_length > self.max_positions:
            raise ConfigurationError(
                f"{name}={max_length} exceeds what {self.model_name_or_path!r} can read "
                f"(max_position_embeddings={self.max_positions}). Set {name} <= {self.max_positions}.")

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
        if not texts:
            return np.zeros((0, self.embedding_dim), dtype=np.float32)
        token_ids = self._tokenize(texts, max_length)
        vectors = np.empty((len(token_ids), self.embedding_dim), dtype=np.float32)
        show_bar = progress_bar and len(token_ids) > batch_size
        batches = list(padded_batches(token_ids, batch_size, self.tokenizer.pad_token_id or 0))
        with tqdm(total=len(token_ids), desc=description, unit=" texts", disable=not show_bar) as bar:
            def run(replica: int) -> None:
                with torch.inference_mode():
                    for rows, input_ids, attention_mask in batches[replica::len(self.replicas)]:
                        vectors[rows] = self._embed(torch.from_numpy(input_ids), torch.from_numpy(attention_mask),
                                                    replica).cpu().numpy()
                        bar.update(len(rows))

            if len(self.replicas) == 1 or len(batches) == 1:
                run(0)
            else:  # one thread per device: torch releases the GIL while a device computes
                with ThreadPoolExecutor(len(self.replicas)) as pool:
                    list(pool.map(run, range(len(self.replicas))))
        return vectors

    def _tokenize(self, texts: Sequence[TextInput], max_length: int) -> List[List[int]]:
        pairs = [isinstance(text, (tuple, list)) for text in texts]
        if any(pairs) and not all(pairs):
            raise ConfigurationError("Give either only strings or only (title, text) pairs to TextEncoder.encode.")
        if all(pairs):
            firsts, seconds = [str(t[0]) for t in texts], [str(t[1]) for t in texts]
        else:
            firsts, seconds = [str(t) for t in texts], None
        for position, text in enumerate(firsts + (seconds or [])):
            problem = unicode_problem(text)
            if problem:
                raise ConfigurationError(f"Text {position % len(firsts)} given to {self.model_name_or_path!r} has "
                                         f"{problem}.")
        # longest_first truncation cuts the longer member of a pair (the passage) and keeps the final [SEP].
        encoded = self.tokenizer(firsts, seconds, truncation=True, max_length=max_length,
                                 return_attention_mask=False, return_token_type_ids=False)
        return encoded["input_ids"]

    def _embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, replica: int = 0) -> torch.Tensor:
        # No token_type_ids: the model's default (all 0) is what DPR uses for passages, and not every
        # AutoModel accepts them.
        device = self.devices[replica]
        input_ids, attention_mask = input_ids.to(device), attention_mask.to(device)
        output = self.replicas[replica](input_ids=input_ids, attention_mask=attention_mask)
        if self.uses_dpr_pooler:
            vectors = output.pooler_output.float()
        elif self.pooling is Pooling.CLS:
            vectors = output.last_hidden_state[:, 0].float()
        else:
            hidden = output.last_hidden_state.float()
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            vectors = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        if self.normalize:
            vectors = torch.nn.functional.normalize(vectors, p=2, dim=-1)
        return vectors

    def __repr__(self) -> str:
        return (f"TextEncoder({self.model_name_or_path!r}, {self.architecture}, pooling="
                f"{self.pooling_name}, normalize={self.normalize}, precision={self.precision.value}, "
                f"devices={[str(d) for d in self.devices]}, dim={self.embedding_dim})")

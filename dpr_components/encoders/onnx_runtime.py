"""ONNX Runtime as the engine of a :class:`~dpr_components.encoders.TextEncoder` (``runtime: onnxruntime``).

Why: on CPUs without native bf16 (AVX2 only) int8 is the fast precision, and ONNX Runtime's int8 kernels
(u8 activations quantised per batch over their full range, s8 weights per output channel) are faster than
torch's dynamic quantisation for BERT-base and closer to fp32. On an AMD EPYC with AVX2 (docs/performance.md,
"ONNX Runtime"): BERT-base indexing 2.89x Haystack's fp32 (torch int8: 2.58x), a question encoded in 28.9 ms
(torch fp32: 78.9 ms), all-MiniLM-L6-v2's cosine to fp32 at least 0.991 (torch int8: 0.978). fp32 runs too
(parity checks; no faster than torch's packed fp32 there). The layers torch's int8 keeps in fp32 stay fp32
here too: each feed-forward block's output projection (:func:`dpr_components.utils.models.is_feed_forward_output`).

The model is exported once per checkpoint, output and precision into a cache directory
(``$DPR_COMPONENTS_CACHE/onnx``, default ``~/.cache/dpr-components/onnx``), named by the weights' digest, so
later loads take a second. Needs the ``[onnx]`` extra (``pip install "dpr-components[onnx]"``); CPU only.

Example::

    from dpr_components.encoders import TextEncoder

    encoder = TextEncoder("sentence-transformers/all-MiniLM-L6-v2", pooling="mean", normalize=True,
                          precision="int8", runtime="onnxruntime")
    vectors = encoder.encode(["who founded paris?"], max_length=64)
"""
import logging
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Optional

import torch

from dpr_components.errors import ConfigurationError
from dpr_components.utils.choices import Precision
from dpr_components.utils.files import atomic_write, cache_dir
from dpr_components.utils.models import is_feed_forward_output

if TYPE_CHECKING:
    from transformers.modeling_utils import PreTrainedModel

logger = logging.getLogger(__name__)

EXTRA_HINT = 'pip install "dpr-components[onnx]"'
EXPORT_VERSION = 2  # bump when the exported graph changes, so that cached files are not reused
OPSET = 17


def cache_root() -> Path:
    """Where exported models are kept: ``$DPR_COMPONENTS_CACHE/onnx`` or ``~/.cache/dpr-components/onnx``."""
    return cache_dir("onnx")


def check_settings(precision: Precision, device: torch.device) -> None:
    """Raise :class:`ConfigurationError` unless ONNX Runtime can run here: CPU, fp32 or int8, extra installed."""
    if device.type != "cpu":
        raise ConfigurationError(f"runtime onnxruntime runs on the CPU, not {device}: set device: cpu, or use "
                                 "runtime: torch on a GPU.")
    if precision not in (Precision.FP32, Precision.INT8):
        raise ConfigurationError(f"runtime onnxruntime computes fp32 or int8, not {precision.value}. "
                                 "Use precision: fp32 or int8, or runtime: torch for bf16.")
    missing = missing_extra()
    if missing:
        raise ConfigurationError(missing)


def missing_extra() -> Optional[str]:
    """Why ONNX Runtime cannot run here (the package to install), or None when the ``[onnx]`` extra is present."""
    try:
        import onnx  # noqa: F401  (the exporter and the quantiser need it)
        import onnxruntime  # noqa: F401
    except ImportError as error:
        return f"runtime onnxruntime needs {error.name}: {EXTRA_HINT}"
    return None


class _Exported(torch.nn.Module):
    """The one output ``TextEncoder`` pools from, as a graph with (input_ids, attention_mask) inputs."""

    def __init__(self, model: torch.nn.Module, output: str):
        super().__init__()
        self.model, self.output = model, output

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return getattr(self.model(input_ids=input_ids, attention_mask=attention_mask), self.output)


def export(model: "PreTrainedModel", output: str, precision: Precision, target: Path) -> None:
    """Write ``model`` (fp32, on the CPU, eager attention) as an ONNX file at ``target``, quantised for int8."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # A padded row in the example batch: the attention mask must stay an input, not be folded away.
    input_ids = torch.tensor([[1, 2, 3, 4], [1, 2, 4, 0]])  # ids below any vocabulary size
    attention_mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
            output: {0: "batch"}}
    with tempfile.TemporaryDirectory(prefix="dpr-onnx-") as workdir:
        fp32_file = Path(workdir) / "fp32.onnx"
        with torch.no_grad():
            torch.onnx.export(_Exported(model.eval(), output), (input_ids, attention_mask), str(fp32_file),
                              input_names=["input_ids", "attention_mask"], output_names=[output],
                              dynamic_axes=axes, opset_version=OPSET, dynamo=False)
        if precision is Precision.FP32:
            shutil.move(str(fp32_file), str(target))  # the temporary directory may be on another file system
            return
        import onnx
        from onnxruntime.transformers.optimizer import optimize_model

        # Fused attention, embedding + layer norm, bias + GELU before quantising: 9% faster int8 BERT-base on
        # an AVX2 EPYC (1.53x vs 1.40x ours fp32, same cosine). fp32 gained nothing and is left exact.
        fused = optimize_model(str(fp32_file), model_type="bert", num_heads=model.config.num_attention_heads,
                               hidden_size=model.config.hidden_size).model
        kept = [node.name for node in fused.graph.node
                if node.op_type == "MatMul" and is_feed_forward_output(_module_name(node.name))]
        root, level = logging.getLogger(), logging.getLogger().level
        root.setLevel(logging.ERROR)  # quantize_dynamic logs its "consider pre-processing" advice on every call
        try:  # fused operators have no inferred output types: DefaultTensorType says they are float
            quantize_dynamic(fused, str(target), weight_type=QuantType.QInt8, per_channel=True,
                             nodes_to_exclude=kept, extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        finally:
            root.setLevel(level)


def _module_name(node_name: str) -> str:
    # The exporter names a node after its module path: "/bert/encoder/layer.0/output/dense/MatMul".
    return ".".join(node_name.strip("/").split("/")[:-1])


class OnnxRuntimeModel:
    """Called like the transformers model it was exported from; returns ``.pooler_output`` or
    ``.last_hidden_state`` (whichever was exported) as a torch tensor."""

    def __init__(self, path: Path):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        # No spinning after a run: the flat search that follows a query encode runs in torch's thread pool,
        # and spinning ONNX Runtime threads would take its cores (as numpy's OpenBLAS pool once did).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.output = self.session.get_outputs()[0].name
        self.path = path

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> SimpleNamespace:
        feeds = {"input_ids": input_ids.long().numpy(), "attention_mask": attention_mask.long().numpy()}
        return SimpleNamespace(**{self.output: torch.from_numpy(self.session.run(None, feeds)[0])})


def onnx_runtime_model(model: "PreTrainedModel", output: str, precision: Precision, digest: str,
                       device: torch.device, cls_only: bool) -> OnnxRuntimeModel:
    """The ONNX Runtime twin of ``model`` at ``precision`` (fp32 | int8), exported on first use and cached.

    ``digest`` identifies the weights (:func:`dpr_components.encoders.signature.fingerprint`); ``cls_only``
    says that ``model``'s last layer computes only [CLS] (:mod:`dpr_components.fastpaths.cls_only`).
    """
    check_settings(precision, device)
    graph = f"{output}-cls-only" if cls_only else output
    target = cache_root() / f"{digest[:24]}-{graph}-{precision.value}-v{EXPORT_VERSION}.onnx"
    if not target.exists():
        logger.info("Exporting the encoder to ONNX (%s, once per checkpoint): %s", precision.value, target)
        atomic_write(target, lambda temporary: export(model, output, precision, temporary))
    return OnnxRuntimeModel(target)

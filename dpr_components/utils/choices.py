"""String enums for YAML/CLI parameters, with errors that list the valid values."""
from enum import Enum
from typing import Optional, Type, TypeVar, Union

from dpr_components.errors import ConfigurationError

E = TypeVar("E", bound="Choice")


class Choice(str, Enum):
    """A parameter that takes one of a fixed set of strings (``precision: bf16``)."""

    @classmethod
    def from_str(cls: Type[E], value: Union[str, E], parameter: Optional[str] = None) -> E:
        """The member spelled ``value`` (case and spaces ignored); the error names ``parameter`` if given."""
        if isinstance(value, cls):
            return value
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            valid = ", ".join(repr(member.value) for member in cls)
            raise ConfigurationError(f"Unknown {parameter or cls.__name__} {value!r}. Valid values: {valid}.",
                                     parameter=parameter) from None

    def __str__(self) -> str:
        return self.value


class Precision(Choice):
    """Numeric precision of a transformer's forward pass; ``auto`` is resolved by
    :func:`dpr_components.utils.devices.resolve_precision` (bf16 where the hardware has it natively)."""

    AUTO = "auto"
    FP32 = "fp32"
    BF16 = "bf16"
    INT8 = "int8"


class Pooling(Choice):
    """How a non-DPR encoder turns token vectors into one vector: the [CLS] token or the masked mean."""

    CLS = "cls"
    MEAN = "mean"


class Runtime(Choice):
    """What runs an encoder's forward pass: eager PyTorch, or ONNX Runtime (CPU; fp32 or int8) where its int8
    kernels are the faster engine (:mod:`dpr_components.encoders.onnx_runtime`)."""

    TORCH = "torch"
    ONNXRUNTIME = "onnxruntime"


class Similarity(Choice):
    """How a question vector is compared with passage vectors: one spelling for stores and training
    (``dot``, the training's earlier spelling, is read as ``dot_product``)."""

    DOT_PRODUCT = "dot_product"
    COSINE = "cosine"
    L2 = "l2"

    @classmethod
    def _missing_(cls, value: object) -> Optional["Similarity"]:
        return cls.DOT_PRODUCT if value == "dot" else None


class DuplicatePolicy(Choice):
    """What writing a document whose id is already stored does: replace it, keep the stored one, or refuse
    the whole write (Haystack's ``duplicate_documents``)."""

    OVERWRITE = "overwrite"
    SKIP = "skip"
    FAIL = "fail"

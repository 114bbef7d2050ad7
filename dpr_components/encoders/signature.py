"""EncoderSignature: what identifies the encoders that made a set of vectors, independent of where they live.

Vectors of two encoders are comparable only if the same weights pooled the same way made them. A
signature therefore records each side's architecture and a hash of its config and weights (never the path
it was loaded from: the same checkpoint given as ``./ckpt``, ``ckpt/`` or after moving the directory has
the same signature, a retrained checkpoint at the same path has another), the pooling, the normalisation,
the embedding size and the max lengths. Stores record it with their vectors, embedding shards carry it in
their headers, trainers save it beside the checkpoints.

Example::

    from dpr_components.encoders.signature import EncoderSignature

    signature = EncoderSignature(
        query_architecture="DPRQuestionEncoder", passage_architecture="DPRContextEncoder",
        query_weights="3f2a...", passage_weights="9b1c...", pooling="pooler_output", normalize=False,
        embedding_dim=768, max_seq_len_query=64, max_seq_len_passage=256)
    same = EncoderSignature.from_dict(signature.to_dict())    # round-trips through JSON-ready dicts
    assert same == signature and not signature.differences(same)

A retriever exposes its signature as ``retriever.encoder_signature`` (built by :meth:`from_encoders`).
Dicts recorded by older versions (``query_model`` / ``passage_model`` paths, no weight hashes) still load:
the fields they lack are None and are not compared, so an old store keeps working and is upgraded to the
full signature the next time it is checked.
"""
import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Dict, List, Mapping, Optional

import torch
from transformers import PretrainedConfig

# Config keys that say where or how a checkpoint was saved, not what it computes.
_CONFIG_KEYS_IGNORED = ("transformers_version", "torch_dtype")
# Recorded for reproducibility but not compared: a query-time truncation length or a passage truncation
# length changes which tokens are read, not the vector space, so such vectors remain comparable.
_NOT_COMPARED = ("max_seq_len_query", "max_seq_len_passage")


@dataclass(frozen=True)
class EncoderSignature:
    """The identity of a (query encoder, passage encoder) pair and how it turns text into vectors.

    ``*_weights`` are hex SHA-256 digests of the model config and every weight tensor (see
    :func:`fingerprint`). ``pooling`` is ``pooler_output`` (DPR checkpoints), ``cls`` or ``mean``.
    ``query_source`` / ``passage_source`` say where the models were loaded from: a hint for users, never
    compared. Fields that are None (signatures recorded by older versions) are not compared either.
    """

    query_architecture: Optional[str]
    passage_architecture: Optional[str]
    query_weights: Optional[str]
    passage_weights: Optional[str]
    pooling: str
    normalize: bool
    embedding_dim: int
    max_seq_len_query: Optional[int] = None
    max_seq_len_passage: Optional[int] = None
    query_source: Optional[str] = field(default=None, compare=False)
    passage_source: Optional[str] = field(default=None, compare=False)

    @classmethod
    def from_encoders(cls, query_encoder: Any, passage_encoder: Any, max_seq_len_query: int,
                      max_seq_len_passage: int) -> "EncoderSignature":
        """The signature of two :class:`~dpr_components.encoders.text_encoder.TextEncoder` s."""
        return cls(
            query_architecture=query_encoder.architecture, passage_architecture=passage_encoder.architecture,
            query_weights=query_encoder.weights_digest, passage_weights=passage_encoder.weights_digest,
            pooling=query_encoder.pooling_name, normalize=query_encoder.normalize,
            embedding_dim=query_encoder.embedding_dim, max_seq_len_query=max_seq_len_query,
            max_seq_len_passage=max_seq_len_passage, query_source=query_encoder.model_name_or_path,
            passage_source=passage_encoder.model_name_or_path,
        )

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-ready dict; :meth:`from_dict` reads it back."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "EncoderSignature":
        """Read :meth:`to_dict`'s dict, or the dict older versions recorded (model paths, no hashes)."""
        if "query_weights" not in data and "query_model" in data:  # dpr-components <= 0.1: paths only
            return cls(query_architecture=None, passage_architecture=None, query_weights=None,
                       passage_weights=None, pooling=str(data.get("pooling")), normalize=bool(data.get("normalize")),
                       embedding_dim=int(data["embedding_dim"]), query_source=data.get("query_model"),
                       passage_source=data.get("passage_model"))
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})

    @property
    def complete(self) -> bool:
        """False for signatures recorded by older versions, which lack the architecture and weight hashes."""
        return None not in (self.query_architecture, self.passage_architecture, self.query_weights,
                            self.passage_weights)

    def differences(self, other: "EncoderSignature") -> List[str]:
        """The compared fields whose values differ, as "field: recorded X, now Y" (empty: comparable vectors).

        ``self`` is the recorded signature, ``other`` the offered one; a field None on either side is skipped.
        """
        found = []
        for name in (f.name for f in fields(self) if f.compare and f.name not in _NOT_COMPARED):
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine is not None and theirs is not None and mine != theirs:
                found.append(f"{name}: recorded {_short(mine)}, now {_short(theirs)}")
        return found

    def describe(self) -> str:
        """One line for messages: where the models came from and what they are."""
        sources = self.query_source if self.query_source == self.passage_source else (
            f"{self.query_source} / {self.passage_source}")
        return f"{sources} ({self.pooling}, normalize={self.normalize}, {self.embedding_dim}-dim)"


def fingerprint(config: PretrainedConfig, model: torch.nn.Module) -> str:
    """Hex SHA-256 of what a checkpoint computes: its config (minus paths and versions) and every weight
    tensor (name, dtype, shape, bytes). Call it on the weights as loaded, before any precision change."""
    digest = hashlib.sha256()
    settings = {key: value for key, value in config.to_dict().items()
                if not key.startswith("_") and key not in _CONFIG_KEYS_IGNORED}
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            tensor = tensor.detach().cpu().contiguous().reshape(-1)
            digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
            digest.update(tensor.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _short(value: Any) -> str:
    # Digests are long: twelve hex digits tell two checkpoints apart in a message.
    text = repr(value)
    return text[:14] + "...'" if isinstance(value, str) and len(value) == 64 else text

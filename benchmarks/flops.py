"""Matmul FLOPs of a BERT encoder on the token counts it is given, and a recorder of the shapes it ran.

Only matrix multiplications are counted (Linear layers and the two attention products); embeddings,
layer norms, GELU and softmax are a few per cent and are left out, so efficiency figures are conservative.
"""
import time
from typing import Iterable, List, Sequence, Tuple

import torch


def linear_weights(hidden: int, layers: int, intermediate: int) -> int:
    """Weights of a BERT encoder's linear layers (attention + feed-forward; embeddings are only looked up)."""
    return layers * (4 * hidden * hidden + 2 * hidden * intermediate)


def bert_sequence_flops(length: int, hidden: int, layers: int, intermediate: int) -> int:
    """Matmul FLOPs for one sequence of ``length`` tokens through ``layers`` BERT layers.

    Per layer: Q, K, V and output projections 4 * 2*L*H*H, feed-forward 2 * 2*L*H*I, attention scores
    Q.K^T 2*L*L*H and the weighted sum of values 2*L*L*H.
    """
    per_layer = 2 * length * linear_weights(hidden, 1, intermediate) + 4 * length * length * hidden
    return layers * per_layer


def encoder_flops(shapes: Iterable[Tuple[int, int]], hidden: int, layers: int, intermediate: int) -> int:
    """FLOPs of running batches of shape (batch_size, padded_length): what the CPU actually computed."""
    return sum(batch * bert_sequence_flops(length, hidden, layers, intermediate) for batch, length in shapes)


def useful_flops(lengths: Iterable[int], hidden: int, layers: int, intermediate: int) -> int:
    """FLOPs on the real (unpadded) token counts: the work any encoder must do."""
    return sum(bert_sequence_flops(length, hidden, layers, intermediate) for length in lengths)


def config_dims(config) -> Tuple[int, int, int]:
    """(hidden, layers, intermediate) of a BERT or DPR config."""
    return config.hidden_size, config.num_hidden_layers, config.intermediate_size


def find_modules(root: object, kind: type, max_depth: int = 5) -> List[torch.nn.Module]:
    """Every ``kind`` module reachable from ``root``'s attributes (a node, a retriever, a model)."""
    found, seen = [], set()

    def visit(obj: object, depth: int) -> None:
        if id(obj) in seen or depth > max_depth:
            return
        seen.add(id(obj))
        if isinstance(obj, torch.nn.Module):
            found.extend(module for module in obj.modules() if isinstance(module, kind) and module not in found)
            return
        if isinstance(obj, dict):
            children: Sequence = list(obj.values())
        elif isinstance(obj, (list, tuple)):
            children = obj
        elif hasattr(obj, "__dict__") and not isinstance(obj, type):
            children = list(vars(obj).values())
        else:
            return
        for child in children:
            visit(child, depth + 1)

    visit(root, 0)
    return found


class ShapeRecorder:
    """Records (batch_size, sequence_length) of every forward call of the given BERT modules, and the
    seconds spent inside those calls (the encoder's own time, without tokenising or storing).

    Usage::

        with ShapeRecorder(find_modules(retriever, BertModel)) as recorder:
            retriever.embed_documents(docs)
        computed = encoder_flops(recorder.shapes, 768, 12, 3072)
    """

    def __init__(self, modules: Sequence[torch.nn.Module]):
        self.modules = list(modules)
        self.shapes: List[Tuple[int, int]] = []
        self.seconds = 0.0
        self._started: List[float] = []
        self._handles: list = []

    def _record(self, module, args, kwargs) -> None:
        tensor = kwargs.get("input_ids")
        if tensor is None:
            tensor = kwargs.get("inputs_embeds")
        if tensor is None and args:
            tensor = args[0]
        if tensor is not None:
            self.shapes.append((int(tensor.shape[0]), int(tensor.shape[1])))
        self._started.append(time.perf_counter())

    def _finish(self, module, args, output) -> None:
        if self._started:
            self.seconds += time.perf_counter() - self._started.pop()

    def __enter__(self) -> "ShapeRecorder":
        for module in self.modules:
            self._handles.append(module.register_forward_pre_hook(self._record, with_kwargs=True))
            self._handles.append(module.register_forward_hook(self._finish))
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

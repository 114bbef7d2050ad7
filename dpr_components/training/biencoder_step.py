"""One bi-encoder training step: forward, in-batch loss, backward; with gradient caching and data parallel.

**Gradient caching** (Gao et al. 2021, "Scaling Deep Contrastive Learning Batch Size under Memory Limited
Setup"): the loss needs every vector of the batch at once, but not every activation. With ``chunk_size`` set,
the step (1) embeds the batch chunk by chunk without a graph, (2) computes the loss on those vectors and its
gradient with respect to each vector, (3) re-embeds each chunk with a graph and back-propagates the cached
vector gradient into the weights. Peak activation memory is one chunk's; the gradient equals the full-batch
gradient (dropout is replayed by restoring each chunk's random state). It costs one extra forward pass, so
it is off by default.

**Data parallel** (``torch.distributed`` initialised, one process per device): each process embeds its own
questions and passages, the vectors of all processes are gathered (as DPR's ``_calc_loss`` does) so every
question is scored against the passages of the whole global batch, and each process back-propagates the
global loss into its local vectors. :func:`all_reduce_gradients` then sums the weight gradients, which gives
exactly the gradient of the global-batch loss (a CPU test with two gloo processes checks it).

Example::

    step = biencoder_step(model, batch, chunk_size=8)   # gradients are now in model.parameters()
    print(step.loss, step.ranks)
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.distributed as dist

from dpr_components.training.biencoder import BiEncoder
from dpr_components.training.biencoder_loss import biencoder_nll_loss
from dpr_components.utils.choices import Similarity


@dataclass
class BiEncoderBatch:
    """Tokenised questions, their passages, and the row of each question's positive among the passages."""

    questions: Dict[str, torch.Tensor]
    passages: Dict[str, torch.Tensor]
    positives: torch.Tensor

    def to(self, device: torch.device) -> "BiEncoderBatch":
        return BiEncoderBatch({k: v.to(device) for k, v in self.questions.items()},
                              {k: v.to(device) for k, v in self.passages.items()}, self.positives.to(device))


@dataclass
class StepResult:
    loss: float
    ranks: torch.Tensor  # 0-based rank of each (global) question's positive among the batch's passages
    num_questions: int


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def biencoder_loss(model: BiEncoder, batch: BiEncoderBatch, similarity: Union[str, Similarity] = Similarity.DOT_PRODUCT,
                   temperature: float = 1.0) -> Tuple[torch.Tensor, torch.Tensor]:
    """The batch's in-batch NLL loss with its graph (no gradient caching), and the positives' ranks."""
    questions = model.encode("question", **batch.questions)
    passages = model.encode("passage", **batch.passages)
    all_questions, all_passages, positives = _gather(questions, passages, batch.positives)
    return biencoder_nll_loss(all_questions, all_passages, positives, similarity, temperature)


def biencoder_step(model: BiEncoder, batch: BiEncoderBatch, chunk_size: Optional[int] = None,
                   similarity: Union[str, Similarity] = Similarity.DOT_PRODUCT, temperature: float = 1.0,
                   loss_scale: float = 1.0) -> StepResult:
    """Accumulate into ``.grad`` the gradient of ``loss_scale`` x the batch's in-batch NLL loss.

    ``loss_scale`` is how gradient accumulation divides by the number of accumulated batches. In data
    parallel runs, follow with :func:`all_reduce_gradients`.
    """
    if not chunk_size:
        loss, ranks = biencoder_loss(model, batch, similarity, temperature)
        (loss * loss_scale).backward()
        return StepResult(float(loss.detach()), ranks.cpu(), len(ranks))

    question_vectors, question_states = _embed_without_graph(model, "question", batch.questions, chunk_size)
    passage_vectors, passage_states = _embed_without_graph(model, "passage", batch.passages, chunk_size)
    question_vectors.requires_grad_(True)
    passage_vectors.requires_grad_(True)
    all_questions, all_passages, positives = _gather(question_vectors, passage_vectors, batch.positives)
    loss, ranks = biencoder_nll_loss(all_questions, all_passages, positives, similarity, temperature)
    (loss * loss_scale).backward()  # fills question_vectors.grad and passage_vectors.grad only
    _backward_through_encoder(model, "question", batch.questions, chunk_size, question_states, question_vectors.grad)
    if "passage" not in model.frozen:
        _backward_through_encoder(model, "passage", batch.passages, chunk_size, passage_states, passage_vectors.grad)
    return StepResult(float(loss.detach()), ranks.cpu(), len(ranks))


def all_reduce_gradients(parameters) -> None:
    """Sum each parameter's gradient over the data-parallel processes (no-op in a single process)."""
    if world_size() == 1:
        return
    for parameter in parameters:
        if parameter.grad is not None:
            dist.all_reduce(parameter.grad, op=dist.ReduceOp.SUM)


def _chunks(inputs: Dict[str, torch.Tensor], chunk_size: int) -> List[Dict[str, torch.Tensor]]:
    rows = next(iter(inputs.values())).shape[0]
    chunks = []
    for start in range(0, rows, chunk_size):
        chunk = {key: value[start:start + chunk_size] for key, value in inputs.items()}
        # Trim the padding columns this chunk does not need (inputs are padded to the batch's longest).
        width = int(chunk["attention_mask"].sum(dim=1).max())
        chunks.append({key: value[:, :width] for key, value in chunk.items()})
    return chunks


def _rng_state(device: torch.device) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    return torch.get_rng_state(), (torch.cuda.get_rng_state(device) if device.type == "cuda" else None)


def _embed_without_graph(model: BiEncoder, side: str, inputs: Dict[str, torch.Tensor], chunk_size: int):
    vectors, states = [], []
    device = inputs["input_ids"].device
    with torch.no_grad():
        for chunk in _chunks(inputs, chunk_size):
            states.append(_rng_state(device))
            vectors.append(model.encode(side, **chunk))
    return torch.cat(vectors), states


def _backward_through_encoder(model: BiEncoder, side: str, inputs: Dict[str, torch.Tensor], chunk_size: int,
                              states, vector_gradients: torch.Tensor) -> None:
    device = inputs["input_ids"].device
    devices = [device] if device.type == "cuda" else []
    start = 0
    for chunk, (cpu_state, cuda_state) in zip(_chunks(inputs, chunk_size), states):
        rows = chunk["input_ids"].shape[0]
        with torch.random.fork_rng(devices=devices):
            torch.set_rng_state(cpu_state)
            if cuda_state is not None:
                torch.cuda.set_rng_state(cuda_state, device)
            vectors = model.encode(side, **chunk)
        vectors.backward(vector_gradients[start:start + rows])
        start += rows


def _gather(questions: torch.Tensor, passages: torch.Tensor, positives: torch.Tensor):
    """Every process's vectors, this process's rows keeping their graph; positives offset to global rows."""
    if world_size() == 1:
        return questions, passages, positives
    rank = dist.get_rank()
    passage_counts = _all_sizes(passages.shape[0], passages.device)
    offset = sum(passage_counts[:rank])
    all_questions = _all_gather_rows(questions, rank)
    all_passages = _all_gather_rows(passages, rank)
    all_positives = _all_gather_rows(positives + offset, rank)
    return all_questions, all_passages, all_positives


def _all_sizes(size: int, device: torch.device) -> List[int]:
    sizes = [torch.zeros(1, dtype=torch.long, device=device) for _ in range(world_size())]
    dist.all_gather(sizes, torch.tensor([size], dtype=torch.long, device=device))
    return [int(s) for s in sizes]


def _all_gather_rows(tensor: torch.Tensor, rank: int) -> torch.Tensor:
    """Concatenate ``tensor`` of every process (row counts may differ); the local part keeps its gradient."""
    sizes = _all_sizes(tensor.shape[0], tensor.device)
    padded = torch.zeros((max(sizes),) + tuple(tensor.shape[1:]), dtype=tensor.dtype, device=tensor.device)
    padded[: tensor.shape[0]] = tensor.detach()
    gathered = [torch.empty_like(padded) for _ in sizes]
    dist.all_gather(gathered, padded)
    parts = [part[:size] for part, size in zip(gathered, sizes)]
    parts[rank] = tensor
    return torch.cat(parts)

"""DPR's bi-encoder objective: NLL of each question's positive among every passage of the batch.

A batch holds B questions, each with one positive and H hard negatives, laid out as DPR does: the passages
of question i are rows ``i*(1+H) ... i*(1+H)+H`` of the passage matrix, the positive first. Every question
is scored against all ``B*(1+H)`` passages (the other questions' positives and hard negatives are its
"in-batch" negatives), and the loss is the mean over questions of ``-log softmax(scores)[positive]``.

Similarity is DPR's dot product (``dot_product``), or the cosine divided by a temperature (``cosine``), the
objective sentence-transformers' MultipleNegativesRankingLoss trains MiniLM with (scale 20 = temperature
0.05).

Example::

    import torch
    from dpr_components.training.biencoder_loss import biencoder_nll_loss, positive_indices

    questions, passages = torch.randn(2, 8), torch.randn(4, 8)     # 2 questions, 1 positive + 1 hard each
    loss, ranks = biencoder_nll_loss(questions, passages, positive_indices(2, 1))
"""
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F

from dpr_components.errors import ConfigurationError
from dpr_components.training.settings import training_similarity
from dpr_components.utils.choices import Similarity


def positive_indices(num_questions: int, hard_negatives: int, device: Optional[torch.device] = None) -> torch.Tensor:
    """Row of each question's positive when every question brings 1 positive + ``hard_negatives`` passages."""
    return torch.arange(num_questions, device=device) * (1 + hard_negatives)


def similarity_scores(questions: torch.Tensor, passages: torch.Tensor,
                      similarity: Union[str, Similarity] = Similarity.DOT_PRODUCT,
                      temperature: float = 1.0) -> torch.Tensor:
    """The (questions x passages) score matrix: dot products, or cosines / ``temperature``."""
    similarity = training_similarity(similarity)
    if temperature <= 0:
        raise ConfigurationError(f"temperature must be positive, got {temperature!r}.")
    # Scores in fp32 even under bf16 autocast: with temperature 0.05 they reach 20, where bf16 steps by 0.125.
    with torch.autocast(questions.device.type, enabled=False):
        questions, passages = questions.float(), passages.float()
        if similarity is Similarity.COSINE:
            questions, passages = F.normalize(questions, dim=-1), F.normalize(passages, dim=-1)
        return questions @ passages.T / temperature


def biencoder_nll_loss(
    questions: torch.Tensor,
    passages: torch.Tensor,
    positives: torch.Tensor,
    similarity: Union[str, Similarity] = Similarity.DOT_PRODUCT,
    temperature: float = 1.0,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Mean NLL of each question's positive (``positives[i]`` indexes ``passages``) among all passages.

    Returns ``(loss, ranks)``: ``ranks[i]`` is the 0-based rank of question i's positive among the batch's
    passages (0 = ranked first), what DPR's average-rank validation averages.
    """
    scores = similarity_scores(questions, passages, similarity, temperature)
    loss = F.nll_loss(F.log_softmax(scores, dim=1), positives, reduction="mean")
    positive_scores = scores.gather(1, positives.unsqueeze(1))
    ranks = (scores > positive_scores).sum(dim=1).detach()
    return loss, ranks

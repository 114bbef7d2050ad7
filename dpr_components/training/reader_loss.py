"""DPR's reader loss: passage-selection (switch) cross-entropy plus the span loss over all answer spans.

Per question with M passages (the positive at index 0) and S answer spans in the positive window:

* switch loss: ``-log softmax(relevance_logits)[0]`` over the question's passages;
* span loss, ``"mml"`` (the paper's maximum marginal likelihood, DPR's ``_calc_mml``):
  ``-log sum_s P_start(s_start) * P_end(s_end)``, the softmaxes over the positive window's tokens;
  ``"mean"`` (what DPR's released code uses): the mean over the spans of ``-log P_start - log P_end``.

Both sum over the questions of the batch, as DPR does. Padding tokens (attention mask 0) and padding
passages (``passage_mask`` False) get no probability.

Example::

    loss = reader_loss(start_logits, end_logits, relevance_logits, batch["attention_mask"],
                       batch["passage_mask"], batch["starts"], batch["ends"], batch["span_mask"])
"""
from typing import Union

import torch

from dpr_components.training.settings import SpanLoss


def reader_loss(start_logits: torch.Tensor, end_logits: torch.Tensor, relevance_logits: torch.Tensor,
                attention_mask: torch.Tensor, passage_mask: torch.Tensor, starts: torch.Tensor, ends: torch.Tensor,
                span_mask: torch.Tensor, span_loss: Union[str, SpanLoss] = SpanLoss.MML,
                switch_weight: float = 1.0) -> torch.Tensor:
    """The batch's loss. Shapes: logits and attention_mask (N, M, L), relevance/passage_mask (N, M), spans (N, S)."""
    span_loss = SpanLoss.from_str(span_loss)
    if not bool(span_mask.any(dim=1).all()):
        raise ValueError("every question needs at least one answer span in its positive window")
    very_negative = torch.finfo(torch.float32).min / 2
    relevance = relevance_logits.float().masked_fill(~passage_mask.bool(), very_negative)
    switch = -torch.log_softmax(relevance, dim=1)[:, 0]

    token_mask = attention_mask[:, 0].bool()
    log_start = torch.log_softmax(start_logits[:, 0].float().masked_fill(~token_mask, very_negative), dim=1)
    log_end = torch.log_softmax(end_logits[:, 0].float().masked_fill(~token_mask, very_negative), dim=1)
    span_log_likelihood = log_start.gather(1, starts) + log_end.gather(1, ends)  # (N, S)
    valid = span_mask.bool()
    if span_loss is SpanLoss.MML:
        span = -torch.logsumexp(span_log_likelihood.masked_fill(~valid, float("-inf")), dim=1)
    else:
        span = -(span_log_likelihood * valid).sum(dim=1) / valid.sum(dim=1)
    return (switch_weight * switch + span).sum()

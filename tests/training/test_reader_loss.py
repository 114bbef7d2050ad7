"""DPR's reader loss against a hand computation: switch CE + MML over two answer spans (and the mean variant)."""
import math

import pytest
import torch

from dpr_components.training.reader_loss import reader_loss


def log_softmax(values, index):
    return values[index] - math.log(sum(math.exp(v) for v in values))


@pytest.fixture
def batch():
    # one question, M=3 passages (the last one padding), L=4 tokens (the positive window's last token padding)
    start = [1.0, 2.0, 0.5, 9.0]
    end = [0.0, 1.0, 3.0, 9.0]
    start_logits = torch.tensor([[start, [5.0] * 4, [0.0] * 4]])
    end_logits = torch.tensor([[end, [5.0] * 4, [0.0] * 4]])
    relevance = torch.tensor([[0.3, 1.2, 7.0]])
    attention = torch.tensor([[[1, 1, 1, 0], [1, 1, 1, 1], [0, 0, 0, 0]]])
    passage_mask = torch.tensor([[True, True, False]])
    starts, ends = torch.tensor([[1, 0, 0]]), torch.tensor([[2, 2, 0]])
    span_mask = torch.tensor([[True, True, False]])
    return (start_logits, end_logits, relevance, attention, passage_mask, starts, ends, span_mask), (start[:3], end[:3])


def test_switch_ce_plus_mml_over_two_spans(batch):
    tensors, (start, end) = batch
    switch = -log_softmax([0.3, 1.2], 0)
    p1 = math.exp(log_softmax(start, 1) + log_softmax(end, 2))  # span (1, 2)
    p2 = math.exp(log_softmax(start, 0) + log_softmax(end, 2))  # span (0, 2)
    expected = switch - math.log(p1 + p2)
    assert float(reader_loss(*tensors)) == pytest.approx(expected, rel=1e-6)


def test_mean_of_span_losses_as_in_dpr_released_code(batch):
    tensors, (start, end) = batch
    switch = -log_softmax([0.3, 1.2], 0)
    mean = -((log_softmax(start, 1) + log_softmax(end, 2)) + (log_softmax(start, 0) + log_softmax(end, 2))) / 2
    assert float(reader_loss(*tensors, span_loss="mean")) == pytest.approx(switch + mean, rel=1e-6)
    assert float(reader_loss(*tensors, switch_weight=0.0)) == pytest.approx(
        float(reader_loss(*tensors)) - switch, rel=1e-6)


def test_batch_sums_questions_and_gradients_flow(batch):
    tensors, _ = batch
    doubled = [torch.cat([t, t]) for t in tensors]
    doubled[0].requires_grad_(True)
    loss = reader_loss(*doubled)
    assert float(loss) == pytest.approx(2 * float(reader_loss(*tensors)), rel=1e-6)
    loss.backward()
    assert doubled[0].grad[:, 1:].abs().sum() == 0  # negatives' start logits get no span gradient
    assert doubled[0].grad[:, 0, 3].abs().sum() == 0  # nor does padding

"""DPR's in-batch NLL against a hand computation, and gradient caching against the plain backward."""
import math

import pytest
import torch

from dpr_components.training.biencoder import BiEncoder
from dpr_components.training.biencoder_loss import biencoder_nll_loss, positive_indices
from dpr_components.training.biencoder_step import BiEncoderBatch, biencoder_step


def test_loss_equals_hand_computation():
    # 2 questions; passages laid out [positive 1, hard 1, positive 2, hard 2].
    questions = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    passages = torch.tensor([[2.0, 0.0], [1.0, 1.0], [0.0, 1.0], [-1.0, 0.0]])
    # dot products: q1 -> [2, 1, 0, -1]; q2 -> [0, 2, 2, 0]
    nll_q1 = -(2 - math.log(math.exp(2) + math.exp(1) + math.exp(0) + math.exp(-1)))
    nll_q2 = -(2 - math.log(math.exp(0) + math.exp(2) + math.exp(2) + math.exp(0)))
    loss, ranks = biencoder_nll_loss(questions, passages, positive_indices(2, 1))
    assert loss.item() == pytest.approx((nll_q1 + nll_q2) / 2, rel=1e-6)
    # q2's positive ties with q1's hard negative: a tie does not count as ranked above.
    assert ranks.tolist() == [0, 0]


def test_cosine_with_temperature_equals_hand_computation():
    questions = torch.tensor([[3.0, 0.0], [0.0, 1.0]])
    passages = torch.tensor([[1.0, 1.0], [0.0, 5.0], [1.0, 0.0], [-2.0, 0.0]])
    c = 1 / math.sqrt(2)
    t = 0.5
    q1 = [c / t, 0.0, 1 / t, -1 / t]           # cosines / temperature; q1's positive is row 0
    q2 = [c / t, 1 / t, 0.0, 0.0]              # q2's positive is row 2
    expected = (-(q1[0] - math.log(sum(map(math.exp, q1)))) - (q2[2] - math.log(sum(map(math.exp, q2))))) / 2
    loss, ranks = biencoder_nll_loss(questions, passages, positive_indices(2, 1), "cosine", t)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert ranks.tolist() == [1, 2]


def _batch(model: BiEncoder) -> BiEncoderBatch:
    questions = ["capital of france", "largest city of germany", "who was king of england", "river in paris"]
    passages = [("paris", "paris is the capital of france"), ("berlin", "berlin is in germany"),
                ("berlin", "berlin is the largest city of germany"), ("london", "london is in england"),
                ("king", "the king of england was born in london"), ("music", "music and film"),
                ("river", "the river in paris"), ("war", "the war of the world")]
    return BiEncoderBatch(model.tokenize_questions(questions, 32), model.tokenize_passages(passages, 64),
                          positive_indices(4, 1))


def _gradients(model: BiEncoder, batch: BiEncoderBatch, chunk_size, seed: int = 0):
    model.zero_grad(set_to_none=True)
    torch.manual_seed(seed)
    result = biencoder_step(model, batch, chunk_size=chunk_size)
    return result.loss, {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("train_mode,chunk_size", [(False, 1), (False, 3), (True, 64)])
def test_gradient_caching_gives_the_full_batch_gradient(tiny_question_encoder, tiny_context_encoder,
                                                        train_mode, chunk_size):
    # eval mode: chunked re-encoding must give the same gradient; train mode with one chunk: the dropout
    # masks must be replayed exactly (a replay with other masks changes the gradient).
    model = BiEncoder.from_pretrained(tiny_question_encoder, tiny_context_encoder)
    model.train(train_mode)
    batch = _batch(model)
    plain_loss, plain = _gradients(model, batch, None)
    cached_loss, cached = _gradients(model, batch, chunk_size)
    assert cached_loss == pytest.approx(plain_loss, rel=1e-5)
    assert plain.keys() == cached.keys() and len(plain) > 10
    for name in plain:
        torch.testing.assert_close(cached[name], plain[name], rtol=1e-3, atol=2e-5, msg=name)


def test_dropout_changes_the_gradient_so_the_replay_test_can_fail(tiny_question_encoder, tiny_context_encoder):
    model = BiEncoder.from_pretrained(tiny_question_encoder, tiny_context_encoder)
    model.train(True)
    batch = _batch(model)
    _, first = _gradients(model, batch, None, seed=0)
    _, second = _gradients(model, batch, None, seed=1)
    assert any(not torch.allclose(first[name], second[name]) for name in first)

"""Data parallel on CPU (two gloo processes): gathered negatives give exactly the one-process gradient."""
import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from dpr_components.training.biencoder import BiEncoder
from dpr_components.training.biencoder_loss import positive_indices
from dpr_components.training.biencoder_step import BiEncoderBatch, all_reduce_gradients, biencoder_step

QUESTIONS = ["capital of france", "largest city of germany", "who was king of england", "river in paris"]
PASSAGES = [("paris", "paris is the capital of france"), ("berlin", "berlin is in germany"),
            ("berlin", "berlin is the largest city of germany"), ("london", "london is in england"),
            ("king", "the king of england was born in london"), ("music", "music and film"),
            ("river", "the river in paris"), ("war", "the war of the world")]


def _batch(model, questions, passages):
    return BiEncoderBatch(model.tokenize_questions(questions, 32), model.tokenize_passages(passages, 64),
                          positive_indices(len(questions), 1))


def _worker(rank, world, question_dir, passage_dir, init_file, out_file, chunk_size):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        model = BiEncoder.from_pretrained(question_dir, passage_dir).eval()
        half = len(QUESTIONS) // world
        batch = _batch(model, QUESTIONS[rank * half:(rank + 1) * half], PASSAGES[rank * 2 * half:(rank + 1) * 2 * half])
        result = biencoder_step(model, batch, chunk_size=chunk_size)
        all_reduce_gradients(model.parameters())
        if rank == 0:
            torch.save({"loss": result.loss, "ranks": result.ranks,
                        "grads": {n: p.grad for n, p in model.named_parameters() if p.grad is not None}}, out_file)
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
@pytest.mark.parametrize("chunk_size", [None, 1])
def test_two_processes_give_the_full_batch_gradient(tmp_path, tiny_question_encoder, tiny_context_encoder,
                                                    chunk_size):
    model = BiEncoder.from_pretrained(tiny_question_encoder, tiny_context_encoder).eval()
    expected = biencoder_step(model, _batch(model, QUESTIONS, PASSAGES))
    expected_grads = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    out_file = tmp_path / "rank0.pt"
    mp.spawn(_worker, args=(2, tiny_question_encoder, tiny_context_encoder, str(tmp_path / "init"), str(out_file),
                            chunk_size), nprocs=2, join=True)
    got = torch.load(out_file, weights_only=False)
    assert got["loss"] == pytest.approx(expected.loss, rel=1e-5)
    assert got["ranks"].tolist() == expected.ranks.tolist()  # all 4 questions ranked against all 8 passages
    for name, grad in expected_grads.items():
        torch.testing.assert_close(got["grads"][name], grad, rtol=1e-3, atol=2e-5, msg=name)


def test_local_gradient_alone_is_not_the_full_gradient(tiny_question_encoder, tiny_context_encoder):
    # Without gathering, half a batch sees half the negatives: its gradient differs (so the test above can fail).
    model = BiEncoder.from_pretrained(tiny_question_encoder, tiny_context_encoder).eval()
    biencoder_step(model, _batch(model, QUESTIONS, PASSAGES))
    full = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    biencoder_step(model, _batch(model, QUESTIONS[:2], PASSAGES[:4]), loss_scale=0.5)  # mean over the 4 questions
    biencoder_step(model, _batch(model, QUESTIONS[2:], PASSAGES[4:]), loss_scale=0.5)
    assert any(not torch.allclose(full[n], p.grad, atol=1e-4) for n, p in model.named_parameters() if n in full)

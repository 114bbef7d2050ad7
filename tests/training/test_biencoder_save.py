"""BiEncoder: DPR checkpoints written from any [CLS]-pooled encoder embed as the model did, and a frozen passage
encoder stays exactly as it was through training."""
import json

import numpy as np
import pytest
import torch
from transformers import AutoConfig

from dpr_components.errors import ConfigurationError
from dpr_components.training.biencoder import BiEncoder, embed
from dpr_components.training.data import write_examples
from dpr_components.training.loop import TrainingConfig
from dpr_components.training.retriever_training import RetrieverTrainingConfig, train_retriever

from .test_retriever_training import TOY, toy_corpus, toy_examples

QUESTIONS = [question for question, _, _ in TOY]


def saved_as_dpr(model: BiEncoder, directory):
    model.save(directory, save_format="dpr", max_seq_len_query=32, max_seq_len_passage=64)
    assert json.loads((directory / "retriever.json").read_text())["save_format"] == "dpr"
    architectures = {side: AutoConfig.from_pretrained(directory / f"{side}_encoder").architectures
                     for side in ("question", "passage")}
    assert architectures == {"question": ["DPRQuestionEncoder"], "passage": ["DPRContextEncoder"]}
    return BiEncoder.from_pretrained(str(directory / "question_encoder"), str(directory / "passage_encoder"))


def test_a_plain_bert_encoder_saved_as_dpr_embeds_the_same(tiny_bert_encoder, tmp_path):
    model = BiEncoder.from_pretrained(tiny_bert_encoder, pooling="cls")
    again = saved_as_dpr(model, tmp_path / "pair")
    for side, texts, length in (("question", QUESTIONS, 32), ("passage", toy_corpus(), 64)):
        np.testing.assert_allclose(embed(again, side, texts, length), embed(model, side, texts, length),
                                   rtol=1e-5, atol=1e-6)


def test_a_shared_dpr_question_encoder_is_saved_as_a_context_encoder_too(tiny_question_encoder, tmp_path):
    model = BiEncoder.from_pretrained(tiny_question_encoder, shared=True)
    again = saved_as_dpr(model, tmp_path / "pair")
    assert not again.shared
    np.testing.assert_allclose(embed(again, "passage", toy_corpus(), 64), embed(model, "passage", toy_corpus(), 64),
                               rtol=1e-5, atol=1e-6)


def test_a_frozen_passage_encoder_keeps_its_weights_through_training(tmp_path, tiny_question_encoder,
                                                                     tiny_context_encoder):
    with pytest.raises(ConfigurationError, match="shared encoder cannot be frozen"):
        BiEncoder.from_pretrained(tiny_question_encoder, shared=True).freeze("passage")

    write_examples(tmp_path / "train.jsonl", toy_examples())
    settings = RetrieverTrainingConfig(train_file=tmp_path / "train.jsonl", question_model=tiny_question_encoder,
                                       passage_model=tiny_context_encoder, batch_size=2, max_seq_len_query=32,
                                       max_seq_len_passage=64, freeze_passage_encoder=True)
    train_retriever(settings, TrainingConfig(output_dir=tmp_path / "pair", learning_rate=1e-2, max_steps=4,
                                             seed=0, device="cpu", precision="fp32", show_progress=False))
    before = BiEncoder.from_pretrained(tiny_question_encoder, tiny_context_encoder)
    after = BiEncoder.from_pretrained(str(tmp_path / "pair" / "question_encoder"),
                                      str(tmp_path / "pair" / "passage_encoder"))
    for (name, old), new in zip(before.passage_model.state_dict().items(), after.passage_model.state_dict().values()):
        assert torch.equal(old, new), name
    assert not all(torch.equal(old, new) for old, new in zip(before.question_model.state_dict().values(),
                                                             after.question_model.state_dict().values()))

"""Readers from any encoder (issue 28.3): each architecture family trains, saves in a form DPRSpanReader and a
YAML pipeline load, and answers with exact document text on whole words; token type ids are never needed."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from haystack import Pipeline
from haystack.schema import Document
from tiny_models import ENCODER_FAMILIES, bm25_reader_yaml
from toy_reading import toy_texts

from dpr_components.errors import ModelLoadError
from dpr_components.modeling.reader_model import HEADS_FILE, MARKER, init_reader, is_reader_checkpoint, load_reader
from dpr_components.readers.dpr_span_reader import DPRSpanReader
from dpr_components.training.data import Context, TrainingExample
from dpr_components.training.loop import TrainingConfig
from dpr_components.training.reader import ReaderSettings, ReaderTrainingTask, train_reader


def toy_examples():
    return [TrainingExample(question, (answer,), (Context(*positive),), tuple(Context(*n) for n in negatives))
            for question, answer, positive, negatives in toy_texts()]


def documents():
    return [Document(text, meta={"name": title}) for _, _, positive, negatives in toy_texts()
            for title, text in [positive, *negatives]]


def check_answers(answers, docs):
    by_id = {d.id: d for d in docs}
    assert answers
    for answer in answers:
        text = by_id[answer.document_ids[0]].content
        span = answer.offsets_in_document[0]
        assert text[span.start:span.end] == answer.answer and answer.answer == answer.answer.strip()
        # whole words: nothing glued on either side
        assert span.start == 0 or not text[span.start - 1].isalnum()
        assert span.end == len(text) or not text[span.end].isalnum()


SETTINGS = ReaderSettings(passages_per_question=3, questions_per_batch=3, max_seq_len=64, doc_stride=16)


def toy_loss(path) -> float:
    """The reader loss of ``path`` (a reader or an encoder with new heads) on the toy questions."""
    torch.manual_seed(0)
    model, tokenizer = init_reader(path)
    task = ReaderTrainingTask(model.eval(), tokenizer, toy_examples(), settings=SETTINGS)
    with torch.no_grad():
        return float(task.loss(next(iter(task.batches(0)))))


@pytest.fixture(scope="module")
def trained(tiny_encoders, tmp_path_factory):
    """Each family trained a few steps on the toy questions: ``{family: (directory, loss before, loss after)}``."""
    out = {}
    for family in ENCODER_FAMILIES:
        directory = tmp_path_factory.mktemp(f"reader_{family}") / "reader"
        result = train_reader(toy_examples(), tiny_encoders[family],
                              TrainingConfig(output_dir=directory, learning_rate=3e-3, max_steps=8, warmup_steps=1,
                                             show_progress=False, device="cpu", precision="fp32", seed=0),
                              settings=SETTINGS)
        assert result.steps == 8
        out[family] = (directory, toy_loss(tiny_encoders[family]), toy_loss(directory))
    return out


@pytest.mark.parametrize("family", ENCODER_FAMILIES)
def test_each_family_trains_saves_and_answers_in_dpr_span_reader_and_yaml(trained, family, tmp_path):
    directory, before, after = trained[family]
    assert after < before  # the training steps moved the model (the heads start new in `before`)
    config = json.loads((directory / "config.json").read_text())
    if family == "bert":  # BERT stays a standard DPRReader checkpoint
        assert config["architectures"] == ["DPRReader"] and not (directory / HEADS_FILE).exists()
    else:
        assert config[MARKER]["heads_file"] == HEADS_FILE and (directory / HEADS_FILE).is_file()
    assert is_reader_checkpoint(directory)

    reader = DPRSpanReader(str(directory), max_seq_len=64, top_k=5)
    docs = documents()
    for question, _, _, _ in toy_texts():
        answers = reader.predict(question, docs)["answers"]
        check_answers(answers, docs)
    yaml = tmp_path / "qa.yml"
    yaml.write_text(bm25_reader_yaml({"model_name_or_path": str(directory), "max_seq_len": 64, "top_k": 3}))
    pipeline = Pipeline.load_from_yaml(yaml)
    pipeline.get_document_store().write_documents(docs)
    check_answers(pipeline.run(query="what is the capital of germany")["answers"], docs)


@pytest.mark.parametrize("family", ENCODER_FAMILIES)
def test_saved_reader_computes_what_training_computed(trained, family):
    directory, _, _ = trained[family]
    loaded, tokenizer = load_reader(directory)
    again, _ = init_reader(directory)  # train-reader --init-model on a reader continues from its heads
    ids = torch.tensor([tokenizer("what is the capital", "paris is")["input_ids"]])
    mask = torch.ones_like(ids)
    loaded.eval(), again.eval()
    with torch.no_grad():
        first, second = loaded(input_ids=ids, attention_mask=mask), again(input_ids=ids, attention_mask=mask)
    for name in ("start_logits", "end_logits", "relevance_logits"):
        torch.testing.assert_close(getattr(first, name), getattr(second, name))


@pytest.mark.parametrize("family", ["mpnet", "deberta-v2"])
def test_models_without_token_type_ids_read(tiny_encoders, family):
    model, tokenizer = init_reader(tiny_encoders[family])
    assert "token_type_ids" not in tokenizer("a", "b", return_token_type_ids=None) or family == "deberta-v2"
    output = model(input_ids=torch.tensor([[tokenizer.cls_token_id, 5, tokenizer.sep_token_id]]),
                   attention_mask=torch.ones(1, 3, dtype=torch.long))
    assert output.start_logits.shape == (1, 3) and output.relevance_logits.shape == (1,)


def test_plain_encoders_are_not_readers(tiny_encoders, tiny_question_encoder):
    with pytest.raises(ModelLoadError, match="MPNetModel model, but a reader"):
        DPRSpanReader(tiny_encoders["mpnet"])
    with pytest.raises(ModelLoadError, match="DPRQuestionEncoder, not a DPRReader checkpoint"):
        init_reader(tiny_question_encoder)
    assert not is_reader_checkpoint(tiny_encoders["roberta"]) and not is_reader_checkpoint(Path("/nonexistent"))


def test_new_heads_start_like_dprs_and_the_pooler_is_dropped(tiny_encoders):
    model, _ = init_reader(tiny_encoders["roberta"])
    assert getattr(model.encoder, "pooler", None) is None
    assert float(model.qa_outputs.bias.detach().abs().sum()) == 0.0
    assert np.isclose(float(model.qa_outputs.weight.detach().std()), 0.02, rtol=0.5)

"""Reader training end to end with tiny random models: the loss falls, the span is learned, the checkpoint
loads in DPRSpanReader and a YAML pipeline; answers found on whole words; bad init models refused."""
import hashlib
import json
import os
import subprocess
import sys

import pytest
import torch
from haystack import Pipeline
from haystack.schema import Document
from tiny_models import bm25_reader_yaml
from transformers import AutoTokenizer, BertConfig, BertModel, BertTokenizerFast, DPRReader

from dpr_components.demo.reader import DemoReaderRecipe, train_with_recipe
from dpr_components.errors import ConfigurationError, ModelLoadError, TrainingDataError
from dpr_components.modeling.reader_model import init_reader
from dpr_components.readers.dpr_span_reader import DPRSpanReader
from dpr_components.readers.inputs import ReaderInputs
from dpr_components.training.data import Context, TrainingExample, write_examples
from dpr_components.training.loop import TrainingConfig
from dpr_components.training.reader import ReaderSettings, ReaderTrainingTask, train_reader
from dpr_components.training.reader_samples import answer_spans

CITIES = [("paris", "france"), ("berlin", "germany"), ("london", "england")]


def toy_examples():
    examples = []
    for city, country in CITIES:
        others = [c for c, _ in CITIES if c != city]
        positive = Context(city.title(), f"the king was born in the city of {city} . {city} is the capital of "
                                         f"{country} and its largest city .")
        negatives = tuple(Context(o.title(), f"the music of {o} is called world music by many people .")
                          for o in others)
        examples.append(TrainingExample(f"what is the capital of {country}", (city,), (positive,), negatives))
    return examples


def settings(**overrides):
    values = dict(passages_per_question=3, questions_per_batch=3, max_seq_len=64, doc_stride=16)
    values.update(overrides)
    return ReaderSettings(**values)


def config(output_dir, **overrides):
    values = dict(output_dir=output_dir, learning_rate=3e-3, max_steps=100, warmup_steps=2, eval_every=20,
                  show_progress=False, device="cpu", precision="fp32", seed=0)
    values.update(overrides)
    return TrainingConfig(**values)


def test_answers_located_on_whole_words_only(tiny_reader):
    inputs = ReaderInputs(AutoTokenizer.from_pretrained(tiny_reader), 64, 16)
    passage, answer, part = inputs.tokenize(["paris and parisian paris.", "paris", "pari"])
    # "parisian" is split into "paris ##i ##a ##n": not an occurrence; "pari" is a prefix of "paris"
    assert answer_spans(passage, [answer]) == [(0, 0), (6, 6)]
    assert answer_spans(passage, [part]) == []


def test_tiny_reader_learns_the_span_and_loads_in_dpr_span_reader(tiny_reader, tmp_path):
    torch.manual_seed(0)
    model, tokenizer = init_reader(tiny_reader)
    task = ReaderTrainingTask(model, tokenizer, toy_examples(), toy_examples(), settings())
    first_batch = next(iter(task.batches(0)))
    with torch.no_grad():
        before = float(task.loss(first_batch))
    from dpr_components.training.loop import train

    result = train(task, config(tmp_path / "reader"))
    with torch.no_grad():
        task.model.eval()
        after = float(task.loss(first_batch))
    assert after < before / 4
    assert result.best_metrics["em"] == 1.0

    reader = DPRSpanReader(str(tmp_path / "reader"), max_seq_len=64, top_k=1)
    for city, country in CITIES:
        docs = [Document(c.text, meta={"name": c.title}) for c in
                [*toy_examples()[[c for c, _ in CITIES].index(city)].negative_ctxs,
                 toy_examples()[[c for c, _ in CITIES].index(city)].positive_ctxs[0]]]
        answer = reader.predict(f"what is the capital of {country}", docs)["answers"][0]
        assert answer.answer == city and f"capital of {country}" in answer.context

    saved = json.loads((tmp_path / "reader" / "reader_training.json").read_text())
    assert saved["train_questions"] == 3 and saved["settings"]["span_loss"] == "mml"
    yaml = tmp_path / "qa.yml"
    yaml.write_text(bm25_reader_yaml({"model_name_or_path": str(tmp_path / "reader"), "max_seq_len": 64, "top_k": 1}))
    pipeline = Pipeline.load_from_yaml(yaml)
    pipeline.get_document_store().write_documents(
        [Document(c.text, meta={"name": c.title})
         for e in toy_examples() for c in (*e.positive_ctxs, *e.negative_ctxs)])
    assert pipeline.run(query="what is the capital of germany")["answers"][0].answer == "berlin"


def test_bert_encoder_init_copies_encoder_and_makes_new_heads(tiny_vocab_file, tmp_path):
    torch.manual_seed(3)
    bert = BertModel(BertConfig(vocab_size=len(tiny_vocab_file.read_text().split()), hidden_size=32,
                                num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                                max_position_embeddings=128))
    bert.save_pretrained(tmp_path / "bert")
    BertTokenizerFast(vocab_file=str(tiny_vocab_file)).save_pretrained(tmp_path / "bert")
    model, tokenizer = init_reader(tmp_path / "bert")
    encoder = model.encoder.state_dict()
    for key, value in bert.state_dict().items():
        if not key.startswith("pooler"):
            assert torch.equal(encoder[key], value), key
    assert model.qa_classifier.weight.shape == (1, 32)
    write_examples(tmp_path / "train.jsonl", toy_examples())
    result = train_reader(tmp_path / "train.jsonl", tmp_path / "bert", config(tmp_path / "out", max_steps=3),
                          settings=settings())
    assert result.steps == 3
    assert json.loads((tmp_path / "out" / "config.json").read_text())["architectures"] == ["DPRReader"]
    DPRSpanReader(str(tmp_path / "out"), max_seq_len=64)


def test_bad_init_model_and_data_leave_no_output(tiny_question_encoder, tiny_reader, tmp_path):
    write_examples(tmp_path / "train.jsonl", toy_examples())
    with pytest.raises(ModelLoadError, match="is a DPRQuestionEncoder, not a DPRReader checkpoint"):
        train_reader(tmp_path / "train.jsonl", tiny_question_encoder, config(tmp_path / "out"), settings=settings())
    unanswerable = [TrainingExample("q", ("nowhere",), (Context("T", "paris is in france"),))]
    with pytest.raises(TrainingDataError, match="None of the 1 training questions"):
        train_reader(unanswerable, tiny_reader, config(tmp_path / "out"), settings=settings())
    (tmp_path / "bad.jsonl").write_text('{"question": "q", "answers": ["a"]}\nnot json\n')
    with pytest.raises(TrainingDataError, match="bad.jsonl line 2"):
        train_reader(tmp_path / "bad.jsonl", tiny_reader, config(tmp_path / "out"), settings=settings())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl", "train.jsonl"]


def weights_digest(directory):
    digest = hashlib.sha256()
    for key, tensor in sorted(DPRReader.from_pretrained(str(directory)).state_dict().items()):
        digest.update(key.encode() + tensor.float().numpy().tobytes())
    return digest.hexdigest()


def test_the_demo_recipe_gives_the_same_weights_on_an_idle_and_a_busy_machine(tiny_reader, tmp_path, monkeypatch):
    """The recipe trains a fixed number of steps on fixed threads: the machine's load changes only the time."""
    recipe = DemoReaderRecipe(max_steps=6, passages_per_question=3, questions_per_batch=2, max_seq_len=64,
                              learning_rate=3e-3, warmup_steps=1, checkpoint_every=0, progress_bar=False)
    idle = train_with_recipe(toy_examples(), [], tiny_reader, tmp_path / "idle", recipe)
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 1)]
    try:
        monkeypatch.setattr(os, "getloadavg", lambda: (64.0, 64.0, 64.0))  # what a load probe would see
        busy = train_with_recipe(toy_examples(), [], tiny_reader, tmp_path / "busy", recipe)
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    assert idle.steps == busy.steps == 6 and idle.stopped_by == busy.stopped_by == "max_steps"
    assert weights_digest(tmp_path / "idle") == weights_digest(tmp_path / "busy")


def test_head_lr_scale_gives_the_new_heads_a_multiple_of_the_learning_rate(tiny_reader, tmp_path):
    """head_lr_scale: the span and relevance heads get lr x scale, the encoder lr; recorded with the reader."""
    from dpr_components.training.loop import build_optimizer

    model, tokenizer = init_reader(tiny_reader)
    task = ReaderTrainingTask(model, tokenizer, toy_examples(), settings=settings(head_lr_scale=20))
    optimizer = build_optimizer(model, config(tmp_path / "x", learning_rate=1e-3), task.learning_rate_scales())
    lr_of = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    for name, parameter in model.named_parameters():
        expected = 2e-2 if name.startswith(("qa_outputs.", "qa_classifier.")) else 1e-3
        assert lr_of[id(parameter)] == pytest.approx(expected), name
    assert len(lr_of) == len(list(model.parameters()))  # every parameter trained, none twice

    plain = train_reader(toy_examples(), tiny_reader, config(tmp_path / "plain", max_steps=3, eval_every=0),
                         settings=settings())
    scaled = train_reader(toy_examples(), tiny_reader, config(tmp_path / "scaled", max_steps=3, eval_every=0),
                          settings=settings(head_lr_scale=20))
    assert plain.steps == scaled.steps == 3
    assert weights_digest(tmp_path / "plain") != weights_digest(tmp_path / "scaled")
    record = json.loads((tmp_path / "scaled" / "reader_training.json").read_text())
    assert record["settings"]["head_lr_scale"] == 20
    with pytest.raises(ConfigurationError, match="head_lr_scale"):
        settings(head_lr_scale=0)


def test_the_seed_fixes_the_new_heads_whatever_ran_before_in_the_process(tiny_vocab_file, tmp_path):
    """A BERT encoder init gets new, random span/relevance heads: drawn from the seed, not from whatever the
    process drew before (the demo indexes, or not, before it trains in the same process)."""
    encoder = tmp_path / "encoder"
    BertModel(BertConfig(vocab_size=len(tiny_vocab_file.read_text().split()), hidden_size=16, num_hidden_layers=1,
                         num_attention_heads=2, intermediate_size=32, max_position_embeddings=128)
              ).save_pretrained(encoder)
    BertTokenizerFast(vocab_file=str(tiny_vocab_file)).save_pretrained(encoder)
    torch.manual_seed(1)
    train_reader(toy_examples(), encoder, config(tmp_path / "first", max_steps=2, eval_every=0), settings=settings())
    torch.rand(1000)  # other work in the same process
    train_reader(toy_examples(), encoder, config(tmp_path / "second", max_steps=2, eval_every=0), settings=settings())
    assert weights_digest(tmp_path / "first") == weights_digest(tmp_path / "second")

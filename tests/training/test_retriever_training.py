"""train-retriever end to end on a toy set: it learns, the saved pair serves from a YAML pipeline, bad input."""
import _thread
import json
import threading
import time

import numpy as np
import pytest
import torch

from dpr_components.errors import ConfigurationError, TrainingDataError
from dpr_components.training.biencoder import BiEncoder, embed, retriever_params
from dpr_components.training.data import Context, TrainingExample, write_examples
from dpr_components.training.loop import TrainingConfig
from dpr_components.training.retriever_training import RetrieverTrainingConfig, train_retriever

TOY = [
    ("capital of france", ("paris", "paris is the capital of france"), ("river", "the river in france")),
    ("largest city in germany", ("berlin", "berlin is the largest city in germany"), ("war", "the war in germany")),
    ("who was king of england", ("king", "the king of england was born in london"),
     ("queen", "the queen of the world")),
    ("music and film", ("music", "the music and film of the world"), ("language", "the language of the people")),
]


def toy_examples():
    return [TrainingExample(question, ("x",), positive_ctxs=(Context(*positive, passage_id=f"p{i}"),),
                            hard_negative_ctxs=(Context(*hard, passage_id=f"h{i}"),))
            for i, (question, positive, hard) in enumerate(TOY)]


def toy_corpus():
    return [(p.title, p.text) for e in toy_examples() for p in e.positive_ctxs + e.hard_negative_ctxs]


def positives_ranked_first(model: BiEncoder) -> int:
    questions = embed(model, "question", [q for q, _, _ in TOY], 32)
    passages = embed(model, "passage", toy_corpus(), 64)
    best = (questions @ passages.T).argmax(axis=1)
    return int((best == np.arange(len(TOY)) * 2).sum())


@pytest.fixture(scope="module")
def toy_pair(tmp_path_factory, tiny_vocab_file):
    """A tiny random DPR pair with wider initial weights and no dropout: the conftest models' [CLS] vectors
    (init std 0.02) barely depend on the input, and need hundreds of steps before they do."""
    from tiny_models import save_model as _save
    from tiny_models import tiny_dpr_config
    from transformers import (
        DPRContextEncoder,
        DPRContextEncoderTokenizerFast,
        DPRQuestionEncoder,
        DPRQuestionEncoderTokenizerFast,
    )

    config = dict(initializer_range=0.2, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    directory = tmp_path_factory.mktemp("toy_pair")
    torch.manual_seed(0)
    question = _save(DPRQuestionEncoder(tiny_dpr_config(**config)), DPRQuestionEncoderTokenizerFast,
                     tiny_vocab_file, directory / "question")
    context = _save(DPRContextEncoder(tiny_dpr_config(**config)), DPRContextEncoderTokenizerFast,
                    tiny_vocab_file, directory / "context")
    return question, context


@pytest.fixture(scope="module")
def trained_pair(tmp_path_factory, toy_pair):
    """The toy pair trained 40 steps on the toy set (hard negatives, in-batch negatives)."""
    tiny_question_encoder, tiny_context_encoder = toy_pair
    directory = tmp_path_factory.mktemp("toy")
    write_examples(directory / "train.jsonl", toy_examples())
    settings = RetrieverTrainingConfig(train_file=directory / "train.jsonl", dev_file=directory / "train.jsonl",
                                       question_model=tiny_question_encoder, passage_model=tiny_context_encoder,
                                       batch_size=4, hard_negatives=1, max_seq_len_query=32, max_seq_len_passage=64)
    loop = TrainingConfig(output_dir=directory / "pair", learning_rate=3e-3, max_steps=40, warmup_steps=2,
                          eval_every=20, seed=0, device="cpu", precision="fp32", show_progress=False)
    result = train_retriever(settings, loop)
    return directory / "pair", result


def test_untrained_pair_does_not_rank_every_positive_first(toy_pair):
    # Without this, the test below could pass on a random model.
    assert positives_ranked_first(BiEncoder.from_pretrained(*toy_pair)) < len(TOY)


def test_training_ranks_each_positive_first(trained_pair):
    directory, result = trained_pair
    assert result.steps == 40
    assert result.best_metrics["mrr"] == 1.0 and result.best_metrics["average_rank"] == 0.0
    model = BiEncoder.from_pretrained(str(directory / "question_encoder"), str(directory / "passage_encoder"))
    assert positives_ranked_first(model) == len(TOY)
    assert json.loads((directory / "training.json").read_text())["train_questions"] == len(TOY)


def test_saved_pair_is_a_dpr_checkpoint_pair(trained_pair):
    directory, _ = trained_pair
    for side, architecture in [("question_encoder", "DPRQuestionEncoder"), ("passage_encoder", "DPRContextEncoder")]:
        config = json.loads((directory / side / "config.json").read_text())
        assert config["architectures"] == [architecture]
    params = retriever_params(directory)
    assert params["pooling"] == "cls" and params["normalize"] is False


def test_saved_pair_indexes_a_store_and_retrieves_from_a_yaml_pipeline(trained_pair, tmp_path):
    from haystack import Document, Pipeline

    directory, _ = trained_pair
    params = retriever_params(directory)
    yaml_file = tmp_path / "dense.yml"
    yaml_file.write_text(f"""
version: 1.26.4.post0
components:
  - name: DocumentStore
    type: HybridDocumentStore
    params: {{path: {tmp_path / 'store'}, similarity: dot_product, progress_bar: false}}
  - name: Retriever
    type: DPRRetriever
    params:
      document_store: DocumentStore
      query_embedding_model: {params['query_embedding_model']}
      passage_embedding_model: {params['passage_embedding_model']}
      pooling: {params['pooling']}
      normalize: {str(params['normalize']).lower()}
      max_seq_len_query: 32
      max_seq_len_passage: 64
      top_k: 3
      progress_bar: false
pipelines:
  - name: query
    nodes: [{{name: Retriever, inputs: [Query]}}]
""")
    pipeline = Pipeline.load_from_yaml(yaml_file)
    store = pipeline.get_document_store()
    store.write_documents([Document(id=f"d{i}", content=text, meta={"name": title})
                           for i, (title, text) in enumerate(toy_corpus())])
    store.update_embeddings(pipeline.get_node("Retriever"))
    for index, (question, _, _) in enumerate(TOY):
        documents = pipeline.run(query=question)["documents"]
        assert documents[0].id == f"d{2 * index}", question


def test_haystack_dense_passage_retriever_loads_the_saved_pair(trained_pair):
    from haystack.document_stores import InMemoryDocumentStore
    from haystack.nodes import DensePassageRetriever

    directory, _ = trained_pair
    store = InMemoryDocumentStore(embedding_dim=32, similarity="dot_product")
    retriever = DensePassageRetriever(store, query_embedding_model=str(directory / "question_encoder"),
                                      passage_embedding_model=str(directory / "passage_encoder"),
                                      use_gpu=False, max_seq_len_query=32, max_seq_len_passage=64)
    ours = embed(BiEncoder.from_pretrained(str(directory / "question_encoder"),
                                           str(directory / "passage_encoder")), "question", ["capital of france"], 32)
    theirs = retriever.embed_queries(["capital of france"])
    np.testing.assert_allclose(theirs, ours, rtol=1e-4, atol=1e-5)


def test_native_mean_pooled_pair_embeds_in_dpr_retriever_as_in_training(tmp_path, tiny_vocab_file):
    from transformers import BertConfig, BertModel, BertTokenizerFast

    from dpr_components.retrievers.dpr_retriever import DPRRetriever

    torch.manual_seed(3)
    source = tmp_path / "bert"
    BertModel(BertConfig(vocab_size=sum(1 for _ in open(tiny_vocab_file)), hidden_size=32, num_hidden_layers=1,
                         num_attention_heads=2, intermediate_size=64, max_position_embeddings=128)
              ).save_pretrained(source)
    BertTokenizerFast(vocab_file=str(tiny_vocab_file), do_lower_case=True).save_pretrained(source)
    model = BiEncoder.from_pretrained(str(source), shared=True, pooling="mean", normalize=True)
    model.save(tmp_path / "pair", max_seq_len_query=32, max_seq_len_passage=64)
    assert sorted(p.name for p in (tmp_path / "pair").iterdir()) == ["encoder", "retriever.json"]
    retriever = DPRRetriever(**retriever_params(tmp_path / "pair"), progress_bar=False)
    assert retriever.query_encoder is retriever.passage_encoder
    texts = toy_corpus()
    np.testing.assert_allclose(retriever.passage_encoder.encode(texts, 64), embed(model, "passage", texts, 64),
                               rtol=1e-4, atol=1e-5)
    with pytest.raises(ConfigurationError, match="save_format 'dpr' needs pooling cls"):
        model.save(tmp_path / "other", save_format="dpr")


def test_malformed_line_names_file_and_line(tmp_path, tiny_question_encoder, tiny_context_encoder):
    train = tmp_path / "train.jsonl"
    good = json.dumps(toy_examples()[0].to_json())
    train.write_text(good + "\n" + good[:-5] + "\n")
    settings = RetrieverTrainingConfig(train_file=train, question_model=tiny_question_encoder,
                                       passage_model=tiny_context_encoder)
    with pytest.raises(TrainingDataError, match=r"train\.jsonl line 2"):
        train_retriever(settings, TrainingConfig(output_dir=tmp_path / "out", max_steps=1, show_progress=False))
    assert not (tmp_path / "out").exists()


def test_questions_without_positives_are_skipped_and_counted(tmp_path, tiny_question_encoder,
                                                             tiny_context_encoder):
    examples = toy_examples() + [TrainingExample("no positive here", ("y",),
                                                 hard_negative_ctxs=(Context("a", "the city"),))] * 2
    write_examples(tmp_path / "train.jsonl", examples)
    settings = RetrieverTrainingConfig(train_file=tmp_path / "train.jsonl", question_model=tiny_question_encoder,
                                       passage_model=tiny_context_encoder, batch_size=2, max_seq_len_passage=64)
    train_retriever(settings, TrainingConfig(output_dir=tmp_path / "out", max_steps=2, show_progress=False,
                                             device="cpu"))
    report = json.loads((tmp_path / "out" / "training.json").read_text())
    assert report["train_questions"] == len(TOY) and report["skipped_without_positive"] == {"train": 2, "dev": 0}

    write_examples(tmp_path / "none.jsonl", examples[len(TOY):])
    settings.train_file = tmp_path / "none.jsonl"
    with pytest.raises(ConfigurationError, match="no question with a positive passage"):
        train_retriever(settings, TrainingConfig(output_dir=tmp_path / "out2", max_steps=2, show_progress=False))


def test_failed_save_leaves_the_previous_output_intact(tmp_path, tiny_question_encoder, tiny_context_encoder,
                                                       monkeypatch):
    model = BiEncoder.from_pretrained(tiny_question_encoder, tiny_context_encoder)
    model.save(tmp_path / "pair")
    before = sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "pair").rglob("*"))

    def fail_after_first_side(side, target, save_format):
        target.mkdir(parents=True)
        (target / "config.json").write_text("{}")
        raise OSError("disk full")

    monkeypatch.setattr(model, "_save_side", fail_after_first_side)
    with pytest.raises(OSError, match="disk full"):
        model.save(tmp_path / "pair")
    assert sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "pair").rglob("*")) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pair"]


def test_python_call_with_a_dev_file_uses_the_tasks_metric_and_checks_a_given_one_first(tmp_path, toy_pair):
    write_examples(tmp_path / "train.jsonl", toy_examples())
    settings = RetrieverTrainingConfig(train_file=tmp_path / "train.jsonl", dev_file=tmp_path / "train.jsonl",
                                       question_model=toy_pair[0], passage_model=toy_pair[1], batch_size=4,
                                       max_seq_len_query=32, max_seq_len_passage=64)
    loop = TrainingConfig(output_dir=tmp_path / "pair", max_steps=2, show_progress=False, device="cpu")
    result = train_retriever(settings, loop)  # no metric given: the retriever's own default (mrr)
    assert result.best_metrics["step"] == 2 and "mrr" in result.best_metrics
    with pytest.raises(ConfigurationError, match="metric 'em' is not among .*mrr"):
        train_retriever(settings, TrainingConfig(output_dir=tmp_path / "other", max_steps=2, metric="em",
                                                 show_progress=False, device="cpu"))
    assert not (tmp_path / "other").exists() and not (tmp_path / "other.work").exists()


def test_an_interrupted_retriever_training_resumes_exactly(tmp_path, toy_pair):
    """Issue 31.7: train-retriever wrote no resumable checkpoint; killed at step 411 of 3000 it restarted at 0."""
    write_examples(tmp_path / "train.jsonl", toy_examples())
    settings = RetrieverTrainingConfig(train_file=tmp_path / "train.jsonl", question_model=toy_pair[0],
                                       passage_model=toy_pair[1], batch_size=2, max_seq_len_query=32,
                                       max_seq_len_passage=64)

    def loop(name):  # the library's own checkpoint_every: only the step count is small here
        return TrainingConfig(output_dir=tmp_path / name, learning_rate=3e-3, max_steps=130, seed=0, device="cpu",
                              show_progress=False)

    state = tmp_path / "resumed.work" / "last" / "state.pt"

    def interrupt_after_the_first_checkpoint():  # Ctrl-C, as a user would press it
        while not state.exists():
            time.sleep(0.005)
        _thread.interrupt_main()

    watcher = threading.Thread(target=interrupt_after_the_first_checkpoint)
    watcher.start()
    with pytest.raises(KeyboardInterrupt, match="^$"):  # the bare interrupt of _thread.interrupt_main
        train_retriever(settings, loop("resumed"))
    watcher.join()
    assert torch.load(state, weights_only=True)["step"] == 100 and not (tmp_path / "resumed").exists()
    assert train_retriever(settings, loop("resumed")).steps == 130
    train_retriever(settings, loop("straight"))
    for side in ("question_encoder", "passage_encoder"):
        resumed = (tmp_path / "resumed" / side / "model.safetensors").read_bytes()
        assert resumed == (tmp_path / "straight" / side / "model.safetensors").read_bytes(), side


def test_lengths_past_the_models_positions_are_refused_before_training(tmp_path, tiny_bert_encoder):
    """A tiny model reads 128 positions; the default max_seq_len_passage (256) used to fail inside the first step
    with a raw tensor-size RuntimeError (found by running docs/retriever-training.md with a small model)."""
    write_examples(tmp_path / "train.jsonl", toy_examples())
    settings = RetrieverTrainingConfig(train_file=tmp_path / "train.jsonl", question_model=tiny_bert_encoder,
                                       shared=True, pooling="mean", normalize=True, batch_size=2)
    with pytest.raises(ConfigurationError, match=r"max_seq_len_passage=256 exceeds .* Set max_seq_len_passage <= 128"):
        train_retriever(settings, TrainingConfig(output_dir=tmp_path / "out", max_steps=1, show_progress=False))
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.work").exists()


def test_the_seed_fixes_the_trained_pair_whatever_ran_before_in_the_process(tmp_path, toy_pair):
    """The reader drew its new heads before seeding (fixed in train_reader); the bi-encoder makes no random layer
    before the loop seeds, so random draws made earlier in the process change nothing."""
    write_examples(tmp_path / "train.jsonl", toy_examples())
    settings = RetrieverTrainingConfig(train_file=tmp_path / "train.jsonl", question_model=toy_pair[0],
                                       passage_model=toy_pair[1], batch_size=2, max_seq_len_query=32,
                                       max_seq_len_passage=64)
    outputs = []
    for name, draws in (("first", 0), ("after_draws", 1000)):
        torch.rand(draws)
        np.random.rand(draws)
        train_retriever(settings, TrainingConfig(output_dir=tmp_path / name, learning_rate=3e-3, max_steps=4,
                                                 seed=0, device="cpu", show_progress=False))
        outputs.append((tmp_path / name / "question_encoder" / "model.safetensors").read_bytes())
    assert outputs[0] == outputs[1]

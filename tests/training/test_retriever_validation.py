"""Retriever training's 'retrieval' validation (the saved pair re-embeds a dev corpus) and dense negative mining:
both agree with the bi-encoder's own ranking of the passages."""
import json

import numpy as np
import pytest

from dpr_components.errors import TrainingDataError
from dpr_components.evaluation.answers import has_answer
from dpr_components.training.biencoder import BiEncoder, embed
from dpr_components.training.data import Context, TrainingExample, write_examples
from dpr_components.training.loop import TrainingConfig
from dpr_components.training.negatives import mine_dense_negatives
from dpr_components.training.retrieval_validation import evaluate_saved_pair, read_corpus_documents
from dpr_components.training.retriever_training import RetrieverTrainingConfig, train_retriever

from .test_retriever_training import TOY, toy_pair  # noqa: F401  (a fixture)

CORPUS = [Context(title, text, passage_id=f"c{i}")
          for i, (title, text) in enumerate(p for _, positive, hard in TOY for p in (positive, hard))]


def examples():
    """The toy questions, each answered by its positive passage's title word."""
    return [TrainingExample(question, (positive[0],), positive_ctxs=(CORPUS[2 * i],),
                            hard_negative_ctxs=(CORPUS[2 * i + 1],)) for i, (question, positive, _) in enumerate(TOY)]


def ranked(model: BiEncoder):
    """Per question: corpus indices by the bi-encoder's score (best first), and the scores."""
    questions = embed(model, "question", [e.question for e in examples()], 32)
    passages = embed(model, "passage", [(c.title, c.text) for c in CORPUS], 64)
    scores = questions @ passages.T
    return np.argsort(-scores, axis=1, kind="stable"), scores


def test_retrieval_validation_scores_the_saved_pair_as_the_model_ranks(tmp_path, toy_pair):  # noqa: F811
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"id": c.passage_id, "title": c.title, "text": c.text}) + "\n"
                              for c in CORPUS), encoding="utf-8")
    write_examples(tmp_path / "train.jsonl", examples())
    settings = RetrieverTrainingConfig(train_file=tmp_path / "train.jsonl", dev_file=tmp_path / "train.jsonl",
                                       question_model=toy_pair[0], passage_model=toy_pair[1], batch_size=4,
                                       max_seq_len_query=32, max_seq_len_passage=64, validation="retrieval",
                                       dev_corpus=corpus)
    loop = TrainingConfig(output_dir=tmp_path / "pair", learning_rate=3e-3, max_steps=3, seed=0, device="cpu",
                          precision="fp32", show_progress=False, metric="top_1")
    result = train_retriever(settings, loop)
    assert {"top_1", "top_20", "top_100", "mrr"} <= set(result.best_metrics)

    # The saved pair (through DPRRetriever, as users run it) finds what the trained bi-encoder ranks first.
    metrics = evaluate_saved_pair(tmp_path / "pair", corpus, examples())
    order, _ = ranked(BiEncoder.from_pretrained(str(tmp_path / "pair" / "question_encoder"),
                                                str(tmp_path / "pair" / "passage_encoder")))
    first_hits = [next((rank for rank, index in enumerate(row) if has_answer(e.answers, CORPUS[index].text)), None)
                  for e, row in zip(examples(), order)]
    assert metrics["top_1"] == pytest.approx(np.mean([rank == 0 for rank in first_hits]))
    assert metrics["mrr"] == pytest.approx(np.mean([1 / (rank + 1) for rank in first_hits if rank is not None]
                                                   + [0.0] * first_hits.count(None)), abs=1e-6)
    assert metrics["top_100"] == 1.0  # every answer is somewhere in the 8 passages


def test_a_bad_dev_corpus_line_names_file_and_line(tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"id": "a", "title": "A", "text": "one"}\n{"title": "B", "text": "no id"}\n',
                      encoding="utf-8")
    with pytest.raises(TrainingDataError, match=r"corpus.jsonl line 2: .*id, title and text"):
        read_corpus_documents(corpus)


def test_mined_negatives_are_the_models_best_passages_without_an_answer(toy_pair):  # noqa: F811
    model = BiEncoder.from_pretrained(*toy_pair)
    order, scores = ranked(model)
    mined = mine_dense_negatives(model, examples(), CORPUS, per_question=3, depth=6, max_seq_len_query=32,
                                 max_seq_len_passage=64)
    for q, (example, before) in enumerate(zip(mined, examples())):
        expected = [i for i in order[q][:6] if not has_answer(before.answers, CORPUS[i].text)
                    and CORPUS[i].text != before.positive_ctxs[0].text][:3]
        assert [c.passage_id for c in example.hard_negative_ctxs] == [CORPUS[i].passage_id for i in expected]
        assert [c.score for c in example.hard_negative_ctxs] == pytest.approx([scores[q, i] for i in expected])
        assert all(c.has_answer is False for c in example.hard_negative_ctxs)
        assert (example.question, example.answers, example.positive_ctxs) == (before.question, before.answers,
                                                                             before.positive_ctxs)

"""DPRSpanReader on the tiny random DPRReader: inputs, logits, offsets, windows, batching, bad input."""
import numpy as np
import pytest
import torch
from haystack.schema import Document
from transformers import AutoTokenizer, DPRReader, DPRReaderTokenizerFast

from dpr_components.errors import ConfigurationError, ModelLoadError
from dpr_components.readers.answers import AnswerScoring, question_words, repeats_question
from dpr_components.readers.dpr_span_reader import DPRSpanReader

QUESTION = "who was born in paris"
DOCS = [
    Document("The King was born in Paris, the capital of France.", id="king", meta={"name": "King"}),
    Document("Berlin is the largest city of Germany and its capital.", id="berlin", meta={"name": "Berlin"}),
    Document("London  is\tthe capital\n\nof England; the Queen was born there.", id="london", meta={"name": "London"}),
    Document("Café Zürich — naïve crème brûlée, 東京 and Paris: population 2,1 million.", id="cafe",
             meta={"name": "Café"}),
]


@pytest.fixture(scope="module")
def reader(tiny_reader):
    return DPRSpanReader(tiny_reader, max_seq_len=128, top_k=50, return_documents=True)


def check_offsets(answers, documents):
    by_id = {d.id: d for d in documents}
    for answer in answers:
        span = answer.offsets_in_document[0]
        assert by_id[answer.document_ids[0]].content[span.start:span.end] == answer.answer
        in_context = answer.offsets_in_context[0]
        assert answer.context[in_context.start:in_context.end] == answer.answer
        assert answer.answer and answer.answer == answer.answer.strip()


def model_card_logits(model_dir, question, documents, title_field="name"):
    """The model card's way: DPRReaderTokenizer(questions, titles, texts) + DPRReader."""
    tokenizer = DPRReaderTokenizerFast.from_pretrained(model_dir)
    model = DPRReader.from_pretrained(model_dir).eval()
    encoded = tokenizer(questions=question, titles=[d.meta.get(title_field, "") for d in documents],
                        texts=[d.content for d in documents], padding=True, return_tensors="pt")
    with torch.no_grad():
        output = model(**encoded)
    return encoded, output


def test_answers_are_exact_document_text(reader):
    reader.spans_per_passage = 12
    try:
        answers = reader.predict(QUESTION, DOCS)["answers"]
    finally:
        del reader.spans_per_passage
    assert len(answers) > 30 and {a.document_ids[0] for a in answers} == {d.id for d in DOCS}
    check_offsets(answers, DOCS)
    assert any(a.document_ids == ["cafe"] and not a.answer.isascii() for a in answers)


def test_answers_start_and_end_on_whole_words(reader):
    docs = [Document("Zanzibar quixotic jackdaws vexingly parabolize kumquats", id="rare", meta={"name": ""})]
    reader.spans_per_passage = 20
    try:
        answers = reader.predict(QUESTION, docs)["answers"]
    finally:
        del reader.spans_per_passage
    assert len(answers) >= 5  # nearly every raw span starts or ends inside a word split into characters
    text = docs[0].content
    for answer in answers:
        span = answer.offsets_in_document[0]
        assert span.start == 0 or text[span.start - 1] == " "
        assert span.end == len(text) or text[span.end] == " "


def test_relevance_and_logits_match_the_model_card_path(reader, tiny_reader):
    """Same ids and logits as DPRReaderTokenizer + DPRReader: order by relevance, best span score per passage."""
    result = reader.predict(QUESTION, DOCS)
    encoded, output = model_card_logits(tiny_reader, QUESTION, DOCS)
    relevance = output.relevance_logits.numpy()
    assert [d.id for d in result["documents"]] == [DOCS[i].id for i in np.argsort(-relevance, kind="stable")]
    for doc in result["documents"]:
        assert doc.meta["relevance_logit"] == pytest.approx(relevance[DOCS.index(next(
            d for d in DOCS if d.id == doc.id))], abs=1e-5)
    assert sum(d.score for d in result["documents"]) == pytest.approx(1.0)

    for p, doc in enumerate(DOCS):
        ids = encoded["input_ids"][p].tolist()
        length = int(encoded["attention_mask"][p].sum())
        offset = ids.index(3, ids.index(3) + 1) + 1  # after the second [SEP]
        start = output.start_logits[p, offset:length].tolist()
        end = output.end_logits[p, offset:length].tolist()
        best = max(s + e for i, s in enumerate(start) for e in end[i:i + 10])
        first = next(a for a in result["answers"] if a.document_ids == [doc.id])
        assert first.meta["span_score"] == pytest.approx(best, abs=1e-4)


def test_answers_ordered_like_dpr(reader):
    answers = reader.predict(QUESTION, DOCS)["answers"]
    ranks = [a.meta["relevance_rank"] for a in answers]
    assert ranks == sorted(ranks)
    scores = [a.score for a in answers]
    assert scores == sorted(scores, reverse=True)
    for rank in set(ranks):
        span_scores = [a.meta["span_score"] for a in answers if a.meta["relevance_rank"] == rank]
        assert span_scores == sorted(span_scores, reverse=True)
    assert len(reader.predict(QUESTION, DOCS, top_k=3)["answers"]) == 3


class FixedLogitsReader(DPRSpanReader):
    """The real node with the network replaced by fixed per-token logits (so the best spans are known)."""

    start_table: np.ndarray
    end_table: np.ndarray

    def _forward(self, input_ids, attention_mask):
        relevance = (input_ids == self.relevance_token).sum(axis=1).astype(np.float32)
        return self.start_table[input_ids], self.end_table[input_ids], relevance


@pytest.fixture
def fixed_reader(tiny_reader):
    tokenizer = AutoTokenizer.from_pretrained(tiny_reader)
    vocab = tokenizer.get_vocab()
    rng = np.random.default_rng(3)
    reader = FixedLogitsReader(tiny_reader, max_seq_len=32, doc_stride=8, top_k=10)
    reader.start_table = rng.normal(size=len(tokenizer)).astype(np.float32)
    reader.end_table = rng.normal(size=len(tokenizer)).astype(np.float32)
    reader.relevance_token = vocab["paris"]
    return reader, tokenizer, vocab


def test_title_never_answers_even_with_the_best_logits(fixed_reader, reference_best_spans):
    reader, tokenizer, vocab = fixed_reader
    reader.start_table[vocab["queen"]] = reader.end_table[vocab["queen"]] = 50.0  # only in the title
    doc = Document("the king was born in a city of england", meta={"name": "Queen"})
    answers = reader.predict("who was born", [doc])["answers"]

    tokens = tokenizer(doc.content, add_special_tokens=False, return_offsets_mapping=True)
    expected = reference_best_spans(reader.start_table[tokens["input_ids"]].tolist(),
                                    reader.end_table[tokens["input_ids"]].tolist(),
                                    tokenizer.convert_ids_to_tokens(tokens["input_ids"]), 10, 4)
    offsets = tokens["offset_mapping"]
    assert [a.answer for a in answers] == [doc.content[offsets[s][0]:offsets[e][1]] for s, e in expected]
    assert all("queen" not in a.answer.lower() for a in answers)


def test_answer_past_the_first_window_is_found(fixed_reader):
    reader, _, vocab = fixed_reader
    reader.start_table[vocab["queen"]] = reader.end_table[vocab["queen"]] = 50.0
    filler = " ".join(["the city of the river"] * 40)
    doc = Document(f"{filler} and   the  Queen of {filler}", meta={"name": "paris"})
    (window_count,) = {len(reader.inputs.windows(*reader.inputs.tokenize(["who", "paris", doc.content])))}
    assert window_count > 5
    answer = reader.predict("who", [doc])["answers"][0]
    assert answer.answer == "Queen"
    assert answer.offsets_in_document[0].start == doc.content.index("Queen")


def test_passages_ranked_by_relevance_logit(fixed_reader):
    reader, _, _ = fixed_reader
    docs = [Document("a city", id="zero"), Document("paris paris", id="two"), Document("paris", id="one")]
    reader.return_documents = True
    result = reader.predict("where", docs)
    assert [d.id for d in result["documents"]] == ["two", "one", "zero"]
    assert [d.meta["relevance_rank"] for d in result["documents"]] == [1, 2, 3]
    assert result["answers"][0].document_ids == ["two"]
    assert result["answers"][0].meta["relevance_logit"] == 2.0
    assert result["answers"][-1].document_ids == ["zero"]
    assert all(d.score is None and "relevance_rank" not in d.meta for d in docs)  # inputs untouched


def test_retrieval_rank_weight_adds_the_retrievers_order_as_a_prior(fixed_reader):
    reader, _, _ = fixed_reader
    docs = [Document("a city", id="zero"), Document("paris paris", id="two"), Document("paris", id="one")]
    reader.return_documents = True
    # relevance 0, 2, 1 at retrieval ranks 1, 2, 3; w=1: 0 - 0, 2 - ln 2 = 1.31, 1 - ln 3 = -0.10
    reader.retrieval_rank_weight = 1.0
    result = reader.predict("where", docs)
    assert [d.id for d in result["documents"]] == ["two", "zero", "one"]
    assert result["documents"][0].meta["relevance_logit"] == 2.0  # the model's logit is still what is reported
    reader.retrieval_rank_weight = 3.0  # 0, 2 - 2.08, 1 - 3.30: the retriever's order wins
    assert [d.id for d in reader.predict("where", docs)["documents"]] == ["zero", "two", "one"]


def test_merge_identical_answers(tiny_reader):
    text = "The King was born in Paris, the capital of France."
    docs = [Document(text, id="a", meta={"name": "x"}), Document(text, id="b", meta={"name": "x"}),
            Document("Berlin is the largest city of Germany.", id="c", meta={"name": "y"})]
    plain = DPRSpanReader(tiny_reader, max_seq_len=128, top_k=50).predict(QUESTION, docs)["answers"]
    merged = DPRSpanReader(tiny_reader, max_seq_len=128, top_k=50,
                           merge_identical_answers=True).predict(QUESTION, docs)["answers"]
    probability = {a.document_ids[0]: a.score for a in plain}
    assert len({a.answer.lower() for a in merged}) == len(merged)
    assert {a.answer.lower() for a in merged} == {a.answer.lower() for a in plain}
    for answer in merged:
        from_docs = {a.document_ids[0] for a in plain if a.answer.lower() == answer.answer.lower()}
        assert answer.score == pytest.approx(sum(probability[d] for d in from_docs))
        if from_docs >= {"a", "b"}:
            assert {m["document_id"] for m in answer.meta["merged_answers"]} >= from_docs - set(answer.document_ids)
    assert [a.score for a in merged] == sorted((a.score for a in merged), reverse=True)
    check_offsets(merged, docs)


def test_marginal_scoring_sums_passage_times_span_probability(fixed_reader):
    """An answer found with confidence in two lower-ranked passages beats the top passage's weak spans."""
    reader, tokenizer, vocab = fixed_reader
    reader.start_table[vocab["queen"]] = reader.end_table[vocab["queen"]] = 4.0
    docs = [Document("paris paris a city of the river", id="top"), Document("paris the queen", id="b"),
            Document("paris and the queen of england", id="c")]
    assert "queen" not in reader.predict("who", docs)["answers"][0].answer.lower()  # DPR: the top passage first

    reader.answer_scoring = AnswerScoring.from_str("Marginal")
    answers = reader.predict("who", docs)["answers"]
    question = reader.inputs.tokenize(["who"])[0]
    passage_probability = np.exp([2.0, 1.0, 1.0]) / np.exp([2.0, 1.0, 1.0]).sum()  # "paris" counts: 2, 1, 1
    expected = 0.0
    for doc, probability in zip(docs[1:], passage_probability[1:]):
        (window,) = reader.inputs.windows(question, *reader.inputs.tokenize(["", doc.content]))
        start, end = reader.start_table[window.input_ids], reader.end_table[window.input_ids]
        expected += probability * np.exp(4.0 - np.log(np.exp(start).sum()) + 4.0 - np.log(np.exp(end).sum()))
    assert answers[0].answer == "queen" and answers[0].score == pytest.approx(expected, rel=1e-5)
    assert answers[0].document_ids == ["b"]  # the occurrence that contributes most (in the shorter window)
    assert answers[0].meta["merged_answers"][0]["document_id"] == "c"
    assert len({a.answer.casefold() for a in answers}) == len(answers)
    assert [a.score for a in answers] == sorted((a.score for a in answers), reverse=True)
    assert sum(a.score for a in answers) <= 1.0
    check_offsets(answers, docs)
    with pytest.raises(ConfigurationError, match="Valid values: 'passage', 'marginal'"):
        AnswerScoring.from_str("sum")


def test_repeats_question_uses_the_evaluations_normalisation():
    words = question_words("Who wrote Animal Farm?")
    assert repeats_question("Animal Farm", words) and repeats_question("the ANIMAL farm,", words)
    assert repeats_question("the", words) and repeats_question(" . ", words)  # nothing left: never right
    assert not repeats_question("George Orwell", words) and not repeats_question("Animal Farm's author", words)


@pytest.mark.parametrize("scoring", ["passage", "marginal"])
def test_skip_question_words_is_off_by_default_and_then_skips_spans_that_repeat_the_question(
        fixed_reader, tiny_reader, scoring):
    reader, _, vocab = fixed_reader
    assert DPRSpanReader(tiny_reader, max_seq_len=32).skip_question_words is False  # DPR's decoding by default
    reader.answer_scoring = AnswerScoring.from_str(scoring)
    reader.start_table[vocab["paris"]] = reader.end_table[vocab["paris"]] = 50.0  # "paris": the best span
    docs = [Document("the queen was born in paris, the capital of england", id="a", meta={"name": "x"}),
            Document("in paris the king was born", id="b", meta={"name": "y"})]
    question = "Who was born in Paris?"
    assert reader.predict(question, docs)["answers"][0].answer.lower() == "paris"

    reader.skip_question_words = True
    answers = reader.predict(question, docs)["answers"]
    assert answers and not any(repeats_question(a.answer, question_words(question)) for a in answers)
    assert {a.document_ids[0] for a in answers} == {"a", "b"}  # every passage still answers, with other spans
    check_offsets(answers, docs)


def test_predict_batch_equals_predict(reader):
    questions = [QUESTION, "what is the capital of germany"]
    batch = reader.predict_batch(questions, [DOCS, DOCS[1:3]], batch_size=3)
    flat = reader.predict_batch(questions, DOCS)
    for i, (question, docs) in enumerate(zip(questions, [DOCS, DOCS[1:3]])):
        single = reader.predict(question, docs)["answers"]
        assert [(a.answer, a.document_ids) for a in batch["answers"][i]] == [(a.answer, a.document_ids) for a in single]
        assert [a.score for a in batch["answers"][i]] == pytest.approx([a.score for a in single], abs=1e-5)
    assert [a.answer for a in flat["answers"][0]] == [a.answer for a in batch["answers"][0]]
    assert flat["no_answer"] == [False, False]
    with pytest.raises(ConfigurationError, match="document lists"):
        reader.predict_batch(questions, [DOCS, DOCS, DOCS])


def test_no_documents_and_empty_content(reader):
    assert reader.predict(QUESTION, []) == {"query": QUESTION, "answers": [], "no_answer": True, "documents": []}
    empty = [Document(" \n ", id="blank"), Document("", id="nothing")]
    result = reader.predict(QUESTION, empty + DOCS[:1])
    assert result["answers"] and {a.document_ids[0] for a in result["answers"]} == {DOCS[0].id}
    assert [d.id for d in result["documents"]] == [DOCS[0].id, "blank", "nothing"]
    output, _ = reader.run(query=QUESTION, documents=empty)
    assert output["answers"] == [] and output["no_answer"] is True
    output, _ = reader.run_batch(queries=[QUESTION, "x"], documents=[])
    assert output["answers"] == [[], []] and output["no_answer"] == [True, True]


def test_very_long_document(tiny_reader):
    reader = DPRSpanReader(tiny_reader, max_seq_len=64, doc_stride=16, top_k=5)
    doc = Document(" ".join(["Paris is the capital of France, née Lutèce"] * 200), meta={"name": "Paris"})
    answers = reader.predict(QUESTION, [doc])["answers"]
    assert len(answers) == 4
    check_offsets(answers, [doc])


def test_bf16_reads_the_same_passages(tiny_reader, reader):
    bf16 = DPRSpanReader(tiny_reader, max_seq_len=128, precision="bf16", return_documents=True)
    result = bf16.predict(QUESTION, DOCS)
    check_offsets(result["answers"], DOCS)
    fp32 = {d.id: d.meta["relevance_logit"] for d in reader.predict(QUESTION, DOCS)["documents"]}
    for doc in result["documents"]:
        assert doc.meta["relevance_logit"] == pytest.approx(fp32[doc.id], abs=0.05)


def test_not_a_reader_checkpoint(tiny_question_encoder, tmp_path):
    with pytest.raises(ModelLoadError, match="DPRQuestionEncoder.*DPRReader"):
        DPRSpanReader(tiny_question_encoder)
    with pytest.raises(ModelLoadError, match="does not exist"):
        DPRSpanReader(str(tmp_path / "missing"))
    with pytest.raises(ModelLoadError, match="config.json"):
        DPRSpanReader(str(tmp_path))


def test_bad_parameters(tiny_reader):
    with pytest.raises(ConfigurationError, match="'fp32'"):
        DPRSpanReader(tiny_reader, max_seq_len=128, precision="fp16")
    with pytest.raises(ConfigurationError, match="max_seq_len <= 128"):
        DPRSpanReader(tiny_reader, max_seq_len=350)
    with pytest.raises(ConfigurationError, match="max_answer_length"):
        DPRSpanReader(tiny_reader, max_seq_len=128, max_answer_length=0)
    with pytest.raises(ConfigurationError, match="retrieval_rank_weight must be >= 0.0"):
        DPRSpanReader(tiny_reader, max_seq_len=128, retrieval_rank_weight=-1)


def test_device_and_precision_auto(tiny_reader, reader, monkeypatch):
    cpu_only = DPRSpanReader(tiny_reader, max_seq_len=128, use_gpu=False, devices=["cuda:0"], return_documents=True)
    assert cpu_only.device == torch.device("cpu") and cpu_only.precision.value == "fp32"  # the suite pins auto
    expected = [d.meta["relevance_logit"] for d in reader.predict(QUESTION, DOCS)["documents"]]
    assert [d.meta["relevance_logit"] for d in cpu_only.predict(QUESTION, DOCS)["documents"]] == pytest.approx(expected)
    monkeypatch.setenv("DPR_COMPONENTS_AUTO_PRECISION", "bf16")
    assert DPRSpanReader(tiny_reader, max_seq_len=128, device="cpu").precision.value == "bf16"


@pytest.mark.parametrize("top_k", [3.5, "5", 0, -3])
def test_top_k_that_is_not_a_positive_integer_is_refused_at_predict_time(tiny_reader, top_k):
    reader = DPRSpanReader(tiny_reader, max_seq_len=128)
    documents = [Document(content="paris is the capital of france", meta={"name": "paris"})]
    with pytest.raises(ConfigurationError, match=f"top_k must be a positive integer, got {top_k!r}"):
        reader.predict("capital of france?", documents, top_k=top_k)
    assert reader.predict("capital of france?", documents, top_k=None)["answers"]  # None: the reader's default

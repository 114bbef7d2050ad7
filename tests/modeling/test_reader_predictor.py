"""ReaderPredictor (the dev evaluation of reader training) decodes as DPRSpanReader answers: same passage, same
span, same text, for DPRReader checkpoints and encoder readers, over passages read in one or several windows."""
import math

import pytest
import torch
from haystack.schema import Document

from dpr_components.modeling.reader_decoding import ReaderPredictor
from dpr_components.modeling.reader_model import init_reader, load_reader, save_reader
from dpr_components.readers.dpr_span_reader import DPRSpanReader
from dpr_components.readers.inputs import ReaderInputs
from dpr_components.training.data import Context

PASSAGES = [
    Context("King", "The King was born in Paris, the capital of France."),
    Context("Berlin", "Berlin is the largest city of Germany and its capital. " * 6),  # several windows at 48 tokens
    Context("", "London  is\tthe capital\n\nof England; the Queen was born there."),
    Context("Café", "Café Zürich — naïve crème brûlée and Paris: population 2,1 million."),
]
QUESTIONS = ["who was born in paris", "what is the largest city of germany", "where was the queen born"]


def node_answer(reader: DPRSpanReader, question: str, passages):
    documents = [Document(c.text, id=str(i), meta={"name": c.title}) for i, c in enumerate(passages)]
    result = reader.predict(question, documents)
    answer = result["answers"][0]
    return answer.answer, answer.meta["span_score"], int(answer.document_ids[0])


@pytest.fixture(scope="module", params=["dpr_reader", "roberta"])
def reader_dir(request, tiny_reader, tiny_encoders, tmp_path_factory):
    if request.param == "dpr_reader":
        return tiny_reader
    torch.manual_seed(5)
    model, tokenizer = init_reader(tiny_encoders["roberta"])  # an encoder reader, byte-level BPE
    directory = tmp_path_factory.mktemp("roberta_reader")
    save_reader(model, tokenizer, directory)
    return str(directory)


def test_predictor_answers_what_dpr_span_reader_answers_first(reader_dir):
    node = DPRSpanReader(reader_dir, max_seq_len=48, doc_stride=16, top_k=1, answer_scoring="passage")
    assert max(len(node.inputs.windows(*node.inputs.tokenize(["what", c.title, c.text]))) for c in PASSAGES) > 1
    model, tokenizer = load_reader(reader_dir)  # as training holds it: not prepared for inference
    predictor = ReaderPredictor(model.eval(), ReaderInputs(tokenizer, 48, 16), max_answer_length=10, batch_size=3)
    for question in QUESTIONS:
        text, score, passage = predictor.predict(question, PASSAGES, torch.device("cpu"))
        expected_text, expected_score, expected_passage = node_answer(node, question, PASSAGES)
        assert (text, passage) == (expected_text, expected_passage)
        assert score == pytest.approx(expected_score, abs=1e-4)
        assert text and text in PASSAGES[passage].text and text == text.strip()


def test_no_passages_no_answer(tiny_reader):
    model, tokenizer = init_reader(tiny_reader)
    predictor = ReaderPredictor(model, ReaderInputs(tokenizer, 48, 16))
    assert predictor.predict("who", [], torch.device("cpu")) == ("", -math.inf, -1)


def test_batch_size_does_not_change_the_answer(tiny_reader):
    model, tokenizer = init_reader(tiny_reader)
    model.eval()
    answers = {batch: ReaderPredictor(model, ReaderInputs(tokenizer, 48, 16), batch_size=batch).predict(
        QUESTIONS[0], PASSAGES, torch.device("cpu")) for batch in (1, 4, 64)}
    texts = {(text, passage) for text, _, passage in answers.values()}
    assert len(texts) == 1
    scores = [score for _, score, _ in answers.values()]
    assert max(scores) - min(scores) < 1e-4


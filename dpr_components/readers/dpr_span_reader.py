"""DPRSpanReader: DPR's extractive reader (start/end/relevance heads over an encoder) as a Haystack reader.

It loads a ``DPRReader`` checkpoint, or a reader ``train-reader`` saved from any encoder (MPNet, RoBERTa,
ELECTRA, DeBERTa...: :mod:`dpr_components.modeling.reader_model`).

Example (Python)::

    from haystack import Document
    from dpr_components.readers.dpr_span_reader import DPRSpanReader

    reader = DPRSpanReader("facebook/dpr-reader-single-nq-base", top_k=3)
    docs = [Document("Paris is the capital and largest city of France.", meta={"name": "Paris"})]
    result = reader.predict("what is the capital of france?", docs)
    best = result["answers"][0]   # best.answer == docs[0].content[best.offsets_in_document[0].start:...end]

Example (YAML, after a retriever)::

    components:
      - name: Reader
        type: DPRSpanReader
        params: {model_name_or_path: facebook/dpr-reader-single-nq-base, top_k: 5, precision: bf16}
    pipelines:
      - name: query
        nodes:
          - {name: Retriever, inputs: [Query]}
          - {name: Reader, inputs: [Retriever]}

How it reads: every passage becomes ``[CLS] question [SEP] title [SEP] passage`` (title from
``meta[title_field]``), in windows sharing ``doc_stride`` tokens when longer than ``max_seq_len``, all windows
of all questions in batches of ``batch_size`` (:mod:`dpr_components.modeling.reader_decoding`, shared with
training's dev evaluation); ``spans_per_passage`` spans per passage by DPR's algorithm
(:mod:`dpr_components.readers.spans`). Scores and merging: :mod:`dpr_components.readers.answers`.

Outputs of ``run``: ``answers`` (best first, ``top_k``), ``no_answer`` (True when there was nothing to
read) and, with ``return_documents=True``, ``documents`` re-ordered by relevance logit (copies whose
``score`` is the passage probability, with ``meta["relevance_logit"]`` and ``meta["relevance_rank"]``),
which makes the node usable as a reranker.
"""
import copy
import logging
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from haystack.nodes.reader.base import BaseReader
from haystack.schema import Answer, Document, MultiLabel

from dpr_components.errors import ConfigurationError
from dpr_components.modeling.checkpoints import check_max_length
from dpr_components.modeling.reader_decoding import (
    PassageReading,
    batch_logits,
    by_passage,
    question_windows,
    window_logits,
)
from dpr_components.modeling.reader_model import load_reader
from dpr_components.readers.answers import (
    AnswerScoring,
    build_answer,
    merge_identical_answers,
    question_word_filter,
    question_words,
)
from dpr_components.readers.inputs import ReaderInputs, TokenizedText
from dpr_components.readers.spans import passage_spans
from dpr_components.schema import TITLE_FIELD
from dpr_components.utils.devices import resolve_devices, resolve_precision
from dpr_components.utils.models import prepare_for_inference, set_num_threads
from dpr_components.utils.validation import finite_float, positive_int

logger = logging.getLogger(__name__)

MIN_SEQ_LEN = 16

Documents = Union[List[Document], List[List[Document]]]


def softmax(logits: np.ndarray) -> np.ndarray:
    if not len(logits):
        return logits
    exp = np.exp(logits - logits.max())
    return exp / exp.sum()


class DPRSpanReader(BaseReader):
    """Extractive QA with DPR's reader: relevance-ranked passages, DPR span selection, exact document text."""

    outgoing_edges = 1
    # Spans kept per passage before the answer list is cut to top_k (transformers' decode_best_spans keeps 4,
    # DPR's evaluation 10): answers then come from several passages, which merging needs.
    spans_per_passage = 4

    def __init__(
        self,
        model_name_or_path: str = "facebook/dpr-reader-single-nq-base",
        top_k: int = 10,
        max_seq_len: int = 350,
        doc_stride: int = 128,
        max_answer_length: int = 10,
        title_field: str = TITLE_FIELD,
        batch_size: int = 16,
        precision: str = "auto",
        num_threads: Optional[int] = None,
        merge_identical_answers: bool = False,
        return_documents: bool = False,
        use_auth_token: Optional[str] = None,
        progress_bar: bool = False,
        device: str = "auto",
        use_gpu: Optional[bool] = None,
        devices: Optional[List[str]] = None,
        retrieval_rank_weight: float = 0.0,
        answer_scoring: str = "passage",
        skip_question_words: bool = False,
    ):
        """
        :param model_name_or_path: Hub id or local directory of a ``DPRReader`` checkpoint, or of a reader
            ``train-reader`` saved from another encoder, with its tokenizer.
        :param top_k: Answers returned per question.
        :param max_seq_len: Tokens per model input; longer passages are read in windows.
        :param doc_stride: Tokens shared by consecutive windows of a long passage (at most half a window).
        :param max_answer_length: Longest answer in tokens before whole-word extension (DPR: 10).
        :param title_field: Document meta field holding the passage title ("" or missing: no title).
        :param batch_size: Windows per forward pass.
        :param precision: auto (bf16 where the device computes it natively, else fp32; logged once) | fp32 |
            bf16 | int8 (CPU only: dynamic quantisation of the Linear layers).
        :param num_threads: torch intra-op threads (default: torch's choice).
        :param merge_identical_answers: One answer per distinct text, scores summed over passages.
        :param return_documents: Also output the documents re-ordered by relevance logit (reranking).
        :param use_auth_token: Token for private hub models.
        :param progress_bar: Show a progress bar over forward batches.
        :param device: auto (the first CUDA GPU when present, else the CPU) | cpu | cuda | cuda:N.
        :param use_gpu: Haystack's name: false forces the CPU.
        :param devices: Haystack's name: a list of devices; the reader runs on the first.
        :param retrieval_rank_weight: 0 ranks passages by relevance logit alone (DPR). ``w > 0`` ranks them by
            ``relevance_logit - w * ln(retrieval rank)``, the rank being the passage's place in the retriever's
            list (1 = first): the retriever's order as a prior, scale-free whatever the retriever's scores.
        :param answer_scoring: passage (DPR: the best passage's spans first, score = passage probability) |
            marginal (one answer per distinct text, scored by its probability summed over passages and spans:
            ``P(passage) * P_start * P_end``; see :mod:`dpr_components.readers.answers`).
        :param skip_question_words: Skip candidate spans whose SQuAD-normalised words all occur in the question
            ("Who wrote Animal Farm?" -> not "Animal Farm"): the passage's next best span is taken instead.
            False (default) is DPR's decoding.
        """
        super().__init__()
        self.top_k = positive_int("top_k", top_k)
        self.max_seq_len = positive_int("max_seq_len", max_seq_len, MIN_SEQ_LEN)
        self.doc_stride = positive_int("doc_stride", doc_stride, 0)
        self.max_answer_length = positive_int("max_answer_length", max_answer_length)
        self.batch_size = positive_int("batch_size", batch_size)
        self.title_field = title_field
        self.device = resolve_devices(device, devices, use_gpu)[0]
        self.precision = resolve_precision(precision, self.device)
        self.merge_identical_answers = merge_identical_answers
        self.return_documents = return_documents
        self.progress_bar = progress_bar
        self.return_no_answers = False
        self.retrieval_rank_weight = finite_float("retrieval_rank_weight", retrieval_rank_weight, minimum=0.0)
        self.answer_scoring = AnswerScoring.from_str(answer_scoring)
        self.skip_question_words = bool(skip_question_words)
        set_num_threads(num_threads)

        model, tokenizer = load_reader(model_name_or_path, use_auth_token)
        check_max_length(model.config, model_name_or_path, "max_seq_len", self.max_seq_len)
        self.model = prepare_for_inference(model, self.precision, self.device)
        self.inputs = ReaderInputs(tokenizer, self.max_seq_len, self.doc_stride)

    # ---- Haystack entry points -------------------------------------------------------------------------

    def predict(self, query: str, documents: List[Document], top_k: Optional[int] = None) -> Dict[str, Any]:
        """Answers to ``query`` from ``documents``: ``{"query", "answers", "no_answer"[, "documents"]}``."""
        result = self._read([query], [list(documents)], self.top_k if top_k is None else top_k,
                            self.batch_size)[0]
        return {"query": query, **result}

    def predict_batch(self, queries: List[str], documents: Documents, top_k: Optional[int] = None,
                      batch_size: Optional[int] = None) -> Dict[str, Any]:
        """Answers for many questions; windows of all questions share the forward batches.

        ``documents`` is one list per question, or one flat list read for every question (unlike
        FARMReader, which reads a flat list one document at a time: DPR ranks a question's passages
        against each other). Output values are lists with one entry per question.
        """
        queries = [queries] if isinstance(queries, str) else list(queries)
        per_query = self._documents_per_query(queries, documents)
        if len(per_query) > len(queries):  # one question, several document lists: read each list
            queries = queries * len(per_query)
        results = self._read(queries, per_query, self.top_k if top_k is None else top_k,
                             self.batch_size if batch_size is None else batch_size)
        output: Dict[str, Any] = {"queries": queries}
        for key in results[0] if results else ("answers", "no_answer"):
            output[key] = [result[key] for result in results]
        return output

    def run(self, query: str, documents: Optional[List[Document]] = None,
            top_k: Optional[int] = None, labels: Optional[MultiLabel] = None, add_isolated_node_eval: bool = False):
        """Haystack's ``BaseReader.run``, plus ``no_answer`` (and ``documents``); no documents is not an error.

        (A Pipeline drops an empty ``documents`` list from a node's inputs, hence the default.)
        """
        documents = list(documents or [])
        output, edge = super().run(query=query, documents=documents, top_k=top_k, labels=labels,
                                   add_isolated_node_eval=add_isolated_node_eval)
        output.setdefault("no_answer", not output["answers"])  # BaseReader.run skips predict without documents
        if self.return_documents:
            output.setdefault("documents", documents)
        return output, edge

    def run_batch(self, queries: List[str], documents: Optional[Documents] = None,
                  top_k: Optional[int] = None, batch_size: Optional[int] = None,
                  labels: Optional[List[MultiLabel]] = None, add_isolated_node_eval: bool = False):
        queries = [queries] if isinstance(queries, str) else list(queries)
        per_query = self._documents_per_query(queries, documents or [])
        return super().run_batch(queries=queries, documents=per_query, top_k=top_k, batch_size=batch_size,
                                 labels=labels, add_isolated_node_eval=add_isolated_node_eval)

    @staticmethod
    def _documents_per_query(queries: List[str], documents: Documents) -> List[List[Document]]:
        if not documents or isinstance(documents[0], Document):
            return [list(documents) for _ in queries]
        if len(documents) != len(queries) and len(queries) != 1:
            raise ConfigurationError(f"Got {len(queries)} queries but {len(documents)} document lists: give one "
                                     "list of documents per query, or one flat list for all queries.")
        return [list(docs) for docs in documents]

    # ---- reading -------------------------------------------------------------------------------------

    def _read(self, queries: List[str], documents: List[List[Document]], top_k: int,
              batch_size: int) -> List[Dict[str, Any]]:
        """Tokenise, build windows, run all windows through the model, then decode each question."""
        positive_int("top_k", top_k), positive_int("batch_size", batch_size)
        readable = [[d for d in docs if isinstance(d.content, str) and d.content.strip()] for docs in documents]
        texts = self._tokenize_documents([d for docs in readable for d in docs])
        windows = question_windows(self.inputs, self.inputs.tokenize(queries),
                                   [[texts[id(doc)] for doc in docs] for docs in readable])
        logits = self._logits([w.input_ids for _, _, w in windows], batch_size)
        readings = by_passage(windows, logits, [len(docs) for docs in readable])
        return [self._decode(queries[q], docs, [texts[id(d)][1] for d in docs], readings[q], all_docs, top_k)
                for q, (docs, all_docs) in enumerate(zip(readable, documents))]

    def _tokenize_documents(self, documents: List[Document]) -> Dict[int, Tuple[TokenizedText, TokenizedText]]:
        """(title, passage) tokens per document object; a document shared by several questions is tokenised once."""
        unique = list({id(d): d for d in documents}.values())
        titles = self.inputs.tokenize([str((d.meta or {}).get(self.title_field) or "") for d in unique])
        passages = self.inputs.tokenize([d.content for d in unique])
        return {id(d): (title, passage) for d, title, passage in zip(unique, titles, passages)}

    def _logits(self, sequences: Sequence[np.ndarray], batch_size: int) -> List[Tuple[np.ndarray, np.ndarray, float]]:
        """``(start_logits, end_logits, relevance_logit)`` per input, in input order, padding removed."""
        return window_logits(self._forward, sequences, batch_size, self.inputs.pad_id, self.progress_bar)

    def _forward(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One batch through the model: start and end logits (batch, length) and relevance logits (batch,)."""
        return batch_logits(self.model, self.device, input_ids, attention_mask)

    def _decode(self, query: str, docs: List[Document], passages: List[TokenizedText],
                readings: List[PassageReading], all_docs: List[Document],
                top_k: int) -> Dict[str, Any]:
        """Rank one question's passages by relevance logit, choose spans, build answers (and reranked documents)."""
        relevance = np.array([reading.relevance for reading in readings], dtype=np.float64)
        ranking = relevance - self.retrieval_rank_weight * np.log1p(np.arange(len(relevance)))  # docs: retriever order
        probability = softmax(ranking)
        order = np.argsort(-ranking, kind="stable")

        marginal = self.answer_scoring is AnswerScoring.MARGINAL
        merge = marginal or self.merge_identical_answers
        words = question_words(query) if self.skip_question_words else None
        answers: List[Answer] = []
        for rank, p in enumerate(order, start=1):
            if len(answers) >= top_k and not merge:
                break  # later passages can only add answers below the cut
            keep = None if words is None else question_word_filter(words, docs[p].content, passages[p])
            spans = passage_spans(readings[p].windows, passages[p].is_continuation,
                                  self.max_answer_length, self.spans_per_passage, keep)
            built = (build_answer(docs[p], passages[p], span, float(probability[p]), float(relevance[p]), rank)
                     for span in spans)
            answers.extend(answer for answer in built if answer.answer)  # not a span of whitespace tokens only
        if merge:
            answers = merge_identical_answers(answers, marginal)
        result: Dict[str, Any] = {"answers": answers[:top_k], "no_answer": not answers}
        if self.return_documents:
            result["documents"] = self._reranked(docs, relevance, probability, order, all_docs)
        return result

    @staticmethod
    def _reranked(docs: List[Document], relevance: np.ndarray, probability: np.ndarray, order: np.ndarray,
                  all_docs: List[Document]) -> List[Document]:
        """Copies of the read documents by relevance, then the unread (empty) ones unchanged."""
        reranked = []
        for rank, p in enumerate(order, start=1):
            doc = copy.copy(docs[p])
            doc.score = float(probability[p])
            doc.meta = {**(doc.meta or {}), "relevance_logit": float(relevance[p]), "relevance_rank": rank}
            reranked.append(doc)
        read = {id(d) for d in docs}
        return reranked + [d for d in all_docs if id(d) not in read]

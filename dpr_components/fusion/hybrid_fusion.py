"""HybridFusion: a Haystack JoinNode that fuses the ranked lists of several retrievers."""
import copy
import logging
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

from haystack.nodes.other.join import JoinNode
from haystack.schema import Document

from dpr_components.errors import ConfigurationError
from dpr_components.fusion.methods import (
    FusionInputError,
    FusionMode,
    Normalization,
    check_rrf_k,
    check_weights,
    fuse,
)
from dpr_components.utils.validation import optional_positive_int

logger = logging.getLogger(__name__)


class HybridFusion(JoinNode):
    """Fuses the documents of several retrievers (BM25 + DPR, ...) into one ranked list.

    Modes (the math lives in :mod:`dpr_components.fusion.methods`, shared with the sweep):

    - ``linear``: over the union of the lists, ``sum_i weights[i] * norm(score_i)``; a document missing from
      a list gets that list's minimum score. ``normalization``: ``none``, ``minmax``, ``centered``
      (pyserini's ``(s - (min + max) / 2) / (max - min)``) or ``zscore``.
    - ``rrf``: weighted reciprocal rank fusion ``sum_i weights[i] / (rrf_k + rank_i)``, ranks from 1.
    - ``dbsf``: distribution-based score fusion: each list rescaled to its mean +- 3 sigma, weighted, summed.

    **Raw scores.** ``linear`` and ``dbsf`` need the retrievers' raw scores: set ``scale_score: false`` on
    every retriever feeding this node. Haystack's BM25Retriever scales by default (``expit(s / 8)``), which
    squashes BM25 into [0.5, 1) and distorts the sum; normalisation cannot undo it. Loading a pipeline with
    ``dpr_components.pipelines`` (the CLI, the REST API) logs a warning naming each input that scales
    (:func:`report_scaled_inputs`: the retrievers' own ``scale_score``, not a guess from score values, which
    cosine scores in [0.5, 1) would trip). ``rrf`` uses ranks only.

    **Weights** are one per input, default all 1.0. They follow ``source_names`` when it is given (the names
    of the upstream nodes; each input is matched by the node that produced it, whatever order Haystack
    delivers them in). Without ``source_names`` they follow the order in which Haystack delivers the inputs:
    the order in which the upstream nodes ran, i.e. for retrievers that all read the Query, the order they
    are listed under the pipeline's ``nodes`` -- list them in the same order as this node's ``inputs``.
    Recipes, with inputs ``[BM25, DPR]``:

    - pyserini's HybridSearcher ``alpha * sparse + dense`` (alpha 1.2-1.3 on NQ, 0.95 on TriviaQA):
      ``mode: linear, normalization: centered`` (or ``none``), ``weights: [alpha, 1.0]``;
      pyserini's ``weight_on_dense`` variant ``sparse + alpha * dense`` is ``weights: [1.0, alpha]``.
    - the DPR paper's ``BM25 + 1.1 * sim``: ``mode: linear, normalization: none, weights: [1.0, 1.1]``.

    **Output.** Each document carries the fused score in ``score`` and, per input it came from,
    ``meta["fusion"][source_name] = {"score": raw_score, "rank": rank_from_1}``; ``source_name`` is the
    upstream node's name (``input_<i>`` when Haystack does not say). ``top_k_join`` keeps the best documents
    (default: all of the union).

    Usage (YAML)::

        components:
          - name: DocumentStore
            type: InMemoryDocumentStore
            params: {use_bm25: true}
          - name: BM25
            type: BM25Retriever
            params: {document_store: DocumentStore, top_k: 100, scale_score: false}
          - name: DPR
            type: DPRRetriever
            params: {document_store: DocumentStore, top_k: 100}
          - name: Fusion
            type: HybridFusion
            params: {mode: linear, normalization: centered, weights: [1.2, 1.0], top_k_join: 20}
        pipelines:
          - name: query
            nodes:
              - {name: BM25, inputs: [Query]}
              - {name: DPR, inputs: [Query]}
              - {name: Fusion, inputs: [BM25, DPR]}

    Usage (Python)::

        fusion = HybridFusion(mode="rrf", source_names=["BM25", "DPR"], weights=[1.0, 2.0])
        pipeline = Pipeline()
        pipeline.add_node(bm25, name="BM25", inputs=["Query"])
        pipeline.add_node(dpr, name="DPR", inputs=["Query"])
        pipeline.add_node(fusion, name="Fusion", inputs=["BM25", "DPR"])
        documents = pipeline.run(query="who wrote hamlet")["documents"]
    """

    outgoing_edges = 1

    def __init__(
        self,
        mode: str = "linear",
        weights: Optional[List[float]] = None,
        normalization: str = "none",
        rrf_k: float = 60,
        top_k_join: Optional[int] = None,
        source_names: Optional[List[str]] = None,
    ):
        """
        :param mode: ``linear``, ``rrf`` or ``dbsf``.
        :param weights: One non-negative weight per input (see the class docstring for their order); default 1.0 each.
        :param normalization: For ``linear``: ``none``, ``minmax``, ``centered`` or ``zscore``.
        :param rrf_k: The constant of ``rrf`` (60 in Cormack et al.).
        :param top_k_join: How many fused documents to return (default: all).
        :param source_names: Names of the upstream nodes in the order of ``weights`` (optional).
        """
        super().__init__()
        self.mode = FusionMode.from_str(mode)
        self.normalization = Normalization.from_str(normalization)
        self.weights = check_weights(weights)
        self.rrf_k = check_rrf_k(rrf_k)
        self.top_k_join = _check_top_k(top_k_join)
        if source_names is not None:
            if isinstance(source_names, str) or len(set(source_names)) != len(source_names) or not source_names:
                raise ConfigurationError(
                    f"source_names must be a list of distinct node names (e.g. [BM25, DPR]), got {source_names!r}."
                )
            if self.weights is not None and len(self.weights) != len(source_names):
                raise ConfigurationError(
                    f"weights has {len(self.weights)} value(s) but source_names names {len(source_names)} input(s): "
                    "give one weight per source name."
                )
        self.source_names = list(source_names) if source_names is not None else None

    def run_accumulated(self, inputs: List[dict], top_k_join: Optional[int] = None) -> Tuple[Dict, str]:
        names, document_lists = self._identify(inputs, [inp.get("documents") or [] for inp in inputs])
        documents = self.fuse_documents(names, document_lists, top_k_join)
        return {"documents": documents, "labels": inputs[0].get("labels")}, "output_1"

    def run_batch_accumulated(self, inputs: List[dict], top_k_join: Optional[int] = None) -> Tuple[Dict, str]:
        per_input = [inp.get("documents") or [] for inp in inputs]
        if not any(docs and isinstance(docs[0], list) for docs in per_input):  # a single query's lists
            return self.run_accumulated(inputs, top_k_join=top_k_join)
        n_queries = {len(docs) for docs in per_input}
        if len(n_queries) != 1:
            raise FusionInputError(
                f"The inputs of {self._label()} hold results for different numbers of queries "
                f"({sorted(n_queries)}): every input must answer the same batch of queries."
            )
        names, per_input = self._identify(inputs, per_input)
        documents = [
            self.fuse_documents(names, [docs[query] for docs in per_input], top_k_join)
            for query in range(n_queries.pop())
        ]
        return {"documents": documents, "labels": inputs[0].get("labels")}, "output_1"

    def fuse_documents(
        self, names: Sequence[str], document_lists: Sequence[List[Document]], top_k_join: Optional[int] = None
    ) -> List[Document]:
        """Fuse one query's document lists (``names[i]`` names ``document_lists[i]``, in weight order)."""
        weights = check_weights(self.weights, len(document_lists)) if self.weights is not None else None
        needs_scores = self.mode is not FusionMode.RRF
        ranked_lists = []
        for name, docs in zip(names, document_lists):
            if needs_scores:
                self._check_scores(name, docs)
            ranked_lists.append([(doc.id, doc.score) for doc in docs])
        fused = fuse(ranked_lists, self.mode, weights, self.normalization, self.rrf_k)
        top_k = _check_top_k(top_k_join) or self.top_k_join

        originals: Dict[str, Document] = {}
        provenance: Dict[str, Dict[str, dict]] = {}
        for name, docs in zip(names, document_lists):
            for rank, doc in enumerate(docs, start=1):
                originals.setdefault(doc.id, doc)
                raw = float(doc.score) if doc.score is not None else None  # numpy floats would not serialise
                provenance.setdefault(doc.id, {}).setdefault(name, {"score": raw, "rank": rank})

        documents = []
        for doc_id, score in fused[:top_k]:
            doc = copy.copy(originals[doc_id])  # inputs stay untouched when the node is called directly
            doc.meta = {**doc.meta, "fusion": provenance[doc_id]}
            doc.score = score
            documents.append(doc)
        return documents

    def _identify(self, inputs: List[dict], lists: List[list]) -> Tuple[List[str], List[list]]:
        """Name each input after the node that produced it and put the inputs in weight order."""
        names: List[Optional[str]] = []
        for inp in inputs:
            node_id = inp.get("node_id")
            # Haystack can overwrite the first input's node_id with this node's own name while it waits.
            named = isinstance(node_id, str) and node_id != self.name and node_id not in names
            names.append(node_id if named else None)
        if self.source_names is None:
            return [name or f"input_{i}" for i, name in enumerate(names)], lists

        missing = [name for name in self.source_names if name not in names]
        unknown = [i for i, name in enumerate(names) if name is None]
        if len(missing) == 1 and len(unknown) == 1:
            names[unknown[0]] = missing[0]
        if sorted(map(str, names)) != sorted(self.source_names):
            raise ConfigurationError(
                f"{self._label()} expects inputs from source_names {self.source_names} but received them from "
                f"{[name or '<unnamed>' for name in names]}: make source_names list exactly the nodes named in "
                "this node's inputs."
            )
        order = [names.index(name) for name in self.source_names]
        return list(self.source_names), [lists[i] for i in order]

    def _check_scores(self, name: str, docs: List[Document]) -> None:
        for doc in docs:
            if doc.score is None or not math.isfinite(doc.score):
                raise FusionInputError(
                    f"Input {name!r} of {self._label()} gave document {doc.id!r} the score {doc.score!r}: mode "
                    f"{self.mode.value!r} needs a finite score for every document. Use mode 'rrf' (ranks only) or a "
                    "retriever that scores its documents."
                )

    def _label(self) -> str:
        return f"HybridFusion node '{self.name}'" if self.name else "HybridFusion"


def report_scaled_inputs(pipeline: Any) -> List[str]:
    """Warn (and return the warnings) for each retriever that feeds a score-fusing HybridFusion node of a
    built Haystack ``pipeline`` with ``scale_score`` on: ``linear`` and ``dbsf`` need raw scores."""
    reports = []
    for name in pipeline.graph.nodes:
        node = pipeline.get_node(name)
        if not isinstance(node, HybridFusion) or node.mode is FusionMode.RRF:
            continue
        for source in pipeline.graph.predecessors(name):
            if getattr(pipeline.get_node(source), "scale_score", False) is True:
                reports.append(f"HybridFusion node '{name}' fuses raw scores (mode '{node.mode.value}') but its input "
                               f"'{source}' scales them (scale_score: true; Haystack's BM25 gives expit(s/8)): set "
                               f"`scale_score: false` on '{source}', or use mode 'rrf'.")
    for report in reports:
        logger.warning(report)
    return reports


def _check_top_k(top_k: Optional[int]) -> Optional[int]:
    return optional_positive_int("top_k_join (None: all documents)", top_k)

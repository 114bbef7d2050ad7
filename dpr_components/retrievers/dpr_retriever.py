"""DPRRetriever: Dense Passage Retrieval (question and passage encoders) as a Haystack 1.x node."""
import logging
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np
from haystack.document_stores import BaseDocumentStore
from haystack.nodes.retriever.dense import DenseRetriever
from haystack.schema import Document, FilterType

from dpr_components.encoders.signature import EncoderSignature
from dpr_components.encoders.text_encoder import Pooling, TextEncoder
from dpr_components.errors import ConfigurationError, EmbeddingDimensionError
from dpr_components.schema import TITLE_FIELD
from dpr_components.stores.protocols import SignedVectorStore
from dpr_components.utils.choices import Precision, Runtime
from dpr_components.utils.devices import resolve_devices
from dpr_components.utils.models import set_num_threads
from dpr_components.utils.validation import positive_int

logger = logging.getLogger(__name__)


class DPRRetriever(DenseRetriever):
    """Embeds questions and passages with two encoders (or one shared) and retrieves by dot product.

    Passages are encoded as ``[CLS] title [SEP] text [SEP]`` with the title read from
    ``meta[title_field]`` (``""`` when absent, like Haystack's DensePassageRetriever), or as text alone with
    ``embed_title: false``. DPR checkpoints are pooled by their ``pooler_output``; any other BERT-style encoder
    by ``pooling`` (cls | mean), optionally L2-``normalize``-d. Batches are sorted by length and padded only
    to their longest member.

    Scores are raw dot products by default (``scale_score: false``), unlike Haystack's retrievers, because
    score fusion (HybridFusion) needs the raw values; ``scale_score: true`` gives Haystack's expit(s/100).

    ``precision``: auto (the default: bf16 where the hardware computes it natively, i.e. CPUs with AVX-512
    BF16 or AMX and CUDA GPUs with bf16, fp32 elsewhere; the choice is logged once), fp32 (exact), bf16
    (weights cast to bfloat16) or int8 (CPU only: per-channel dynamic quantisation of the Linear layers,
    feed-forward output projections kept in fp32); vectors are always float32. Cosine to the fp32 vectors:
    docs/performance.md ("Precision and accuracy"). bf16 asked for explicitly on an AVX2-only CPU is
    emulated, several times slower than fp32 (a warning says so). ``runtime``: torch (default) or onnxruntime
    (CPU only, fp32 or int8, the ``[onnx]`` extra): both encoders exported to ONNX once (cached by weight
    digest) and run by ONNX Runtime, whose int8 is the fastest precision on AVX2-only CPUs
    (docs/performance.md). Vectors and the encoder signature are the same model's either way.

    ``device``: auto (every CUDA GPU when present, else the CPU) | cpu | cuda | cuda:N. Haystack's names work
    too: ``use_gpu: false`` forces the CPU and ``devices: [cuda:0, cuda:1]`` lists the devices. Questions are
    encoded on the first device; passage batches are spread over all of them.

    Encoder identity flows forward with the data: ``encoder_signature`` (an
    :class:`~dpr_components.encoders.signature.EncoderSignature`: architectures, weight hashes, pooling,
    normalisation, size; not the model paths) leaves :meth:`run_indexing` with the embedded documents, and
    travels with every query's vectors into a store that records it (a
    :class:`~dpr_components.stores.protocols.SignedVectorStore` such as HybridDocumentStore), which refuses,
    before any question is encoded, an index of another encoder or vector size. Haystack's stores with an
    ``embedding_dim`` must match this retriever's size (:class:`EmbeddingDimensionError` otherwise).

    YAML::

        version: 1.26.4.post0
        components:
          - name: Store
            type: InMemoryDocumentStore
            params: {embedding_dim: 768, similarity: dot_product}
          - name: Retriever
            type: DPRRetriever
            params:
              document_store: Store
              query_embedding_model: facebook/dpr-question_encoder-single-nq-base
              passage_embedding_model: facebook/dpr-ctx_encoder-single-nq-base
              top_k: 20
              batch_size: 32
        pipelines:
          - name: query
            nodes: [{name: Retriever, inputs: [Query]}]

    Python::

        from haystack.document_stores import InMemoryDocumentStore
        from dpr_components.retrievers.dpr_retriever import DPRRetriever

        store = InMemoryDocumentStore(embedding_dim=384, similarity="dot_product")
        store.write_documents([{"content": "Paris is the capital of France.", "meta": {"name": "Paris"}}])
        retriever = DPRRetriever(store, query_embedding_model="sentence-transformers/all-MiniLM-L6-v2",
                                 passage_embedding_model="sentence-transformers/all-MiniLM-L6-v2",
                                 pooling="mean", normalize=True)
        store.update_embeddings(retriever)
        documents = retriever.retrieve("What is the capital of France?", top_k=1)
    """

    def __init__(
        self,
        document_store: Optional[BaseDocumentStore] = None,
        query_embedding_model: str = "facebook/dpr-question_encoder-single-nq-base",
        passage_embedding_model: str = "facebook/dpr-ctx_encoder-single-nq-base",
        pooling: str = "cls",
        normalize: bool = False,
        max_seq_len_query: int = 64,
        max_seq_len_passage: int = 256,
        title_field: str = TITLE_FIELD,
        embed_title: bool = True,
        top_k: int = 10,
        batch_size: int = 16,
        num_threads: Optional[int] = None,
        precision: str = "auto",
        progress_bar: bool = True,
        scale_score: bool = False,
        use_auth_token: Optional[Union[str, bool]] = None,
        device: str = "auto",
        devices: Optional[List[str]] = None,
        use_gpu: Optional[bool] = None,
        runtime: str = "torch",
    ):
        super().__init__()
        max_seq_len_query = positive_int("max_seq_len_query", max_seq_len_query)
        max_seq_len_passage = positive_int("max_seq_len_passage", max_seq_len_passage)
        top_k, batch_size = positive_int("top_k", top_k), positive_int("batch_size", batch_size)
        self.document_store = document_store
        self.max_seq_len_query = max_seq_len_query
        self.max_seq_len_passage = max_seq_len_passage
        self.title_field = title_field
        self.embed_title = embed_title
        self.top_k = top_k
        self.batch_size = batch_size
        self.progress_bar = progress_bar
        self.scale_score = scale_score
        set_num_threads(num_threads)

        passage_devices = resolve_devices(device, devices, use_gpu)
        settings: Dict[str, Any] = dict(pooling=Pooling.from_str(pooling), normalize=normalize,
                        precision=Precision.from_str(precision), use_auth_token=use_auth_token,
                        runtime=Runtime.from_str(runtime))
        self.passage_encoder = TextEncoder(passage_embedding_model, devices=passage_devices, **settings)
        self.query_encoder = (self.passage_encoder if str(passage_embedding_model) == str(query_embedding_model)
                              else TextEncoder(query_embedding_model, devices=passage_devices[:1], **settings))
        self.precision = self.passage_encoder.precision
        self.devices = passage_devices
        self._warn_if_sides_swapped()
        if self.query_encoder.embedding_dim != self.passage_encoder.embedding_dim:
            raise ConfigurationError(
                f"The query encoder {query_embedding_model!r} makes {self.query_encoder.embedding_dim}-dim vectors "
                f"but the passage encoder {passage_embedding_model!r} makes {self.passage_encoder.embedding_dim}: "
                "use a question and passage encoder of the same size."
            )
        self.query_encoder.check_max_length("max_seq_len_query", max_seq_len_query)
        self.passage_encoder.check_max_length("max_seq_len_passage", max_seq_len_passage)
        self.embedding_dim: int = self.query_encoder.embedding_dim
        self.encoder_signature = EncoderSignature.from_encoders(self.query_encoder, self.passage_encoder,
                                                                max_seq_len_query, max_seq_len_passage)

    def embed_queries(self, queries: List[str]) -> np.ndarray:
        """Embed questions as ``[CLS] question [SEP]``: float32 array of shape (len(queries), embedding_dim)."""
        if isinstance(queries, str) or not queries:
            raise ConfigurationError(
                f"DPRRetriever needs a non-empty list of questions, got {queries!r}. "
                "Pass e.g. ['who wrote hamlet?']."
            )
        return self.query_encoder.encode(queries, self.max_seq_len_query, self.batch_size,
                                         progress_bar=self.progress_bar, description="Embedding questions")

    def embed_documents(self, documents: List[Document]) -> np.ndarray:
        """Embed passages (title + text, see class docs): float32 array of shape (len(documents), embedding_dim).

        Pure: nothing but the vectors comes out. Which encoder made them is ``encoder_signature``, which
        :meth:`run_indexing` passes on with the documents and ``update_embeddings(retriever)`` reads.
        """
        passages = [self._passage_input(document) for document in documents]
        return self.passage_encoder.encode(passages, self.max_seq_len_passage, self.batch_size,
                                           progress_bar=self.progress_bar, description="Embedding passages")

    def run_indexing(self, documents: List[Document]):
        """Indexing pipelines: the documents with their embeddings, and the ``encoder_signature`` that made
        them, for the next node (a store whose ``run`` takes ``encoder_signature`` records and checks it)."""
        output, edge = super().run_indexing(documents)
        output["encoder_signature"] = self.encoder_signature
        return output, edge

    def retrieve(
        self,
        query: str,
        filters: Optional[FilterType] = None,
        top_k: Optional[int] = None,
        index: Optional[str] = None,
        headers: Optional[Dict[str, str]] = None,
        scale_score: Optional[bool] = None,
        document_store: Optional[BaseDocumentStore] = None,
    ) -> List[Document]:
        """The ``top_k`` documents whose embeddings have the largest dot product with the question's.

        ``filters`` use Haystack's filter syntax; ``document_store`` overrides the one given at construction.
        """
        store, index = self._store_for_retrieval(document_store, index)
        top_k = positive_int("top_k", self.top_k if top_k is None else top_k)
        query_embedding = self.embed_queries([query])[0]
        return store.query_by_embedding(
            query_emb=query_embedding, filters=filters, top_k=top_k, index=index, headers=headers,
            scale_score=self.scale_score if scale_score is None else scale_score, **self._signed(store),
        )

    def retrieve_batch(
        self,
        queries: List[str],
        filters: Optional[Union[FilterType, List[Optional[FilterType]]]] = None,
        top_k: Optional[int] = None,
        index: Optional[str] = None,
        headers: Optional[Dict[str, str]] = None,
        batch_size: Optional[int] = None,
        scale_score: Optional[bool] = None,
        document_store: Optional[BaseDocumentStore] = None,
    ) -> List[List[Document]]:
        """One list of documents per question; ``filters`` is one filter for all or a list, one per question."""
        if isinstance(queries, str) or not queries:
            raise ConfigurationError(
                f"DPRRetriever.retrieve_batch needs a non-empty list of questions, got {queries!r}."
            )
        store, index = self._store_for_retrieval(document_store, index)
        top_k = positive_int("top_k", self.top_k if top_k is None else top_k)
        batch_size = positive_int("batch_size", self.batch_size if batch_size is None else batch_size)
        query_embeddings = self.query_encoder.encode(queries, self.max_seq_len_query, batch_size,
                                                     progress_bar=self.progress_bar, description="Embedding questions")
        return store.query_by_embedding_batch(
            query_embs=list(query_embeddings), filters=filters, top_k=top_k, index=index, headers=headers,
            scale_score=self.scale_score if scale_score is None else scale_score, **self._signed(store),
        )

    def _passage_input(self, document: Document) -> Union[str, Tuple[str, str]]:
        if not isinstance(document.content, str):
            raise ConfigurationError(
                f"DPRRetriever embeds text documents; document {document.id!r} has content_type "
                f"{document.content_type!r}. Remove non-text documents or route them to another retriever."
            )
        if not self.embed_title:
            return document.content
        title = (document.meta or {}).get(self.title_field)
        return ("" if title is None else str(title)), document.content

    def _store_for_retrieval(
        self, document_store: Optional[BaseDocumentStore], index: Optional[str]
    ) -> Tuple[BaseDocumentStore, Optional[str]]:
        store = document_store or self.document_store
        if store is None:
            raise ConfigurationError(
                "DPRRetriever has no document store: pass document_store= to DPRRetriever(...) or to retrieve()."
            )
        index = index or getattr(store, "index", None)
        self._check_dimension(store, index)
        return store, index

    def _signed(self, store: BaseDocumentStore) -> Dict[str, EncoderSignature]:
        """The keyword that sends the query vectors' signature along, for the store that checks it."""
        return {"encoder_signature": self.encoder_signature} if isinstance(store, SignedVectorStore) else {}

    def _check_dimension(self, store: BaseDocumentStore, index: Optional[str]) -> None:
        """Refuse, before encoding, an index of another encoder (a SignedVectorStore checks it) or size."""
        if isinstance(store, SignedVectorStore):
            store.check_encoder(self.encoder_signature, index)
            return
        store_dim = getattr(store, "embedding_dim", None)  # Haystack's stores: one size for all indexes
        if isinstance(store_dim, int) and store_dim != self.embedding_dim:
            raise EmbeddingDimensionError(
                f"{type(store).__name__} holds {store_dim}-dim embeddings but DPRRetriever's encoders "
                f"({self.query_encoder.model_name_or_path!r}) make {self.embedding_dim}-dim vectors. Create the store "
                f"with embedding_dim={self.embedding_dim}, or use encoders of size {store_dim}."
            )

    def _warn_if_sides_swapped(self) -> None:
        for encoder, side, usual in [(self.query_encoder, "query", "DPRQuestionEncoder"),
                                     (self.passage_encoder, "passage", "DPRContextEncoder")]:
            if encoder.uses_dpr_pooler and encoder.architecture != usual:
                logger.warning("The %s encoder %r is a %s; DPR normally uses a %s on that side.",
                               side, encoder.model_name_or_path, encoder.architecture, usual)

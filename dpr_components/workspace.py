"""One store directory, opened once, and every pipeline over it: what the CLI, the REST API and Python share.

A :class:`Workspace` opens a :class:`~dpr_components.stores.hybrid_document_store.HybridDocumentStore` once
(read-only for queries), and builds every pipeline over it with the one builder
(:func:`~dpr_components.pipelines.loading.build_pipeline`): YAML by bundled name or path, overrides and
``<COMPONENT>_PARAMS_<PARAM>`` variables, then the store OBJECT in place of the YAML's store and the settings
the store records (its encoder, its title field) given to every node
(:mod:`~dpr_components.pipelines.store_settings`); components built before with the same parameters are
reused. ``index``, ``query``, ``evaluate``, ``sweep`` and ``writing`` hold its readers-writer lock (queries
together, writes alone); writers build the search indexes they change.

Usage::

    from dpr_components.workspace import Workspace

    minilm = {"Retriever.query_embedding_model": "/models/minilm", "Retriever.passage_embedding_model":
              "/models/minilm", "Retriever.pooling": "mean", "Retriever.normalize": True}
    with Workspace("my_store") as workspace:                # created on first index
        print(workspace.index("corpus.jsonl", overrides=minilm))          # resumable; changed texts replaced
    with Workspace("my_store", read_only=True) as workspace:  # the store's encoder: no overrides needed
        result = workspace.query(["who wrote animal farm?"], "hybrid_retrieval", top_k=3)[0]
        print(result["documents"][0]["title"])
        print(workspace.evaluate("dev.jsonl", "hybrid_retrieval").table())

Titles elsewhere than ``meta["name"]``: ``Workspace("s", store_params={"title_field": "heading"})`` the first
time; the store records it, and every node, the corpus reader and the results use it.
"""
import logging
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Union

from dpr_components.errors import ConfigurationError, DPRComponentsError, StoreError, StoreReadOnlyError
from dpr_components.pipelines.loading import (
    DEFAULT_STORE_PATH,
    LoadedPipeline,
    PipelineConfig,
    PipelineSource,
    build_pipeline,
    make_component,
    read_pipeline_config,
)
from dpr_components.pipelines.overrides import Overrides
from dpr_components.schema import PassageSchema
from dpr_components.utils.locks import ReadWriteLock

logger = logging.getLogger(__name__)  # long steps, at INFO: the CLI shows them on a terminal
# Retrieval-time knobs: an indexing pipeline may reuse a component that differs from one built only in these.
RUN_TIME_PARAMS = frozenset({"top_k", "scale_score", "progress_bar", "batch_size"})
STORE_FILES = ("documents.sqlite", "documents.sqlite-wal", "documents.sqlite-shm", "vectors", "bm25")


class Workspace:
    """A store directory opened once, its recorded settings, and the pipelines built over it (see the module)."""

    def __init__(self, path: Optional[Union[str, Path]] = DEFAULT_STORE_PATH, read_only: bool = False,
                 store_params: Optional[Mapping[str, Any]] = None):
        from dpr_components.stores.hybrid_document_store import DATABASE_FILE, HybridDocumentStore

        self.read_only, self.lock, self._indexing = read_only, ReadWriteLock(), threading.Lock()
        self._components: Dict[tuple, Any] = {}
        if path is None:  # no store directory: pipelines keep the stores their YAML defines (an Elasticsearch one)
            self.path = self.store = self._created = None
            return
        self.path = Path(path)
        # A store this workspace creates and leaves empty (a failed index) is removed again on close.
        self._created = (None if (self.path / DATABASE_FILE).is_file() else
                         "directory" if not self.path.exists() else "files")
        params = {key: value for key, value in (store_params or {}).items() if key != "path"}
        self.read_only = params["read_only"] = bool(read_only or params.get("read_only"))
        logger.info("Opening the store %s%s ...", self.path, " (read-only)" if self.read_only else "")
        self.store = HybridDocumentStore(path=str(self.path), **params)

    @classmethod
    def for_pipeline(cls, config: PipelineConfig, read_only: bool = False) -> "Workspace":
        """A workspace on the store the config's HybridDocumentStore component names, opened with its params
        (without one: a workspace without a store directory)."""
        from dpr_components.pipelines.store_settings import store_component

        store = store_component(config)
        return cls(store["path"], read_only, store["params"]) if store else cls(None, read_only)

    # ----- what the store records ---------------------------------------------------------------------------

    @property
    def schema(self) -> PassageSchema:
        """The passage schema every pipeline of this workspace uses (the store's title field)."""
        return PassageSchema(title_field=self.store.title_field) if self.store else PassageSchema()

    @property
    def encoder(self) -> Any:
        """The :class:`EncoderSignature` of the store's vectors (None for a store without vectors)."""
        return self.store.recorded_encoder() if self.store else None

    # ----- pipelines ----------------------------------------------------------------------------------------

    def pipeline(self, pipeline: Union[PipelineSource, LoadedPipeline] = "dense_retrieval",
                 overrides: Optional[Overrides] = (), pipeline_name: Optional[str] = None,
                 environ: Optional[Mapping[str, str]] = None, dense: Optional[bool] = None) -> LoadedPipeline:
        """Build a pipeline over this workspace's store (a bundled name, a YAML path or a
        :class:`PipelineConfig`; a pipeline this workspace built is returned as it is). For an indexing
        pipeline, ``dense`` says whether to keep its dense retrievers when the store records no encoder
        (default: only for an empty store, or when the caller set the encoder's models)."""
        from dpr_components.pipelines.store_settings import asks_for_encoder, store_component, with_store_settings

        if isinstance(pipeline, LoadedPipeline):
            if pipeline.workspace is not self:
                raise ConfigurationError("That pipeline was built over another store; build it with this workspace.")
            return pipeline
        config = read_pipeline_config(pipeline, pipeline_name, None, overrides, environ)
        store = store_component(config)
        if store and (store["name"], "path") in config.overridden and Path(store["path"]) != self.path:
            raise ConfigurationError(f"The pipeline's store is {store['path']!r} but this workspace holds "
                                     f"{str(self.path)!r}: open a workspace on that store instead.", parameter="store")
        root = next((i for i in config.definition()["nodes"][0]["inputs"] if i in ("Query", "File")), None)
        encoder = self.encoder
        if dense is None:
            dense = asks_for_encoder(config) or not (self.store and self.store.get_document_count())
        config = with_store_settings(config, self.schema.title_field, encoder,
                                     bm25_only=root == "File" and encoder is None and not dense)
        stores = {store["name"]} if store else set()
        loaded = build_pipeline(config, make=lambda name, type_name, params: self.store if name in stores
                                else self._component(name, type_name, params, relaxed=root == "File"))
        loaded.workspace = self
        return loaded

    def _component(self, name: str, type_name: str, params: Dict[str, Any], relaxed: bool) -> Any:
        """A component built before with these parameters (an indexing pipeline's: up to run-time knobs), or a
        new one."""
        import json

        def key(ignored: frozenset) -> tuple:
            kept = {k: v for k, v in params.items() if k not in ignored}
            return type_name, json.dumps(kept, sort_keys=True, default=id), bool(ignored)

        found = self._components.get(key(frozenset())) or (self._components.get(key(RUN_TIME_PARAMS)) if relaxed
                                                         else None)
        if found is None:
            logger.info("Loading %s (%s) ...", name, type_name)
            found = make_component(name, type_name, params)
            self._components[key(frozenset())] = found
            self._components.setdefault(key(RUN_TIME_PARAMS), found)
        return found

    def query_pipeline(self, pipeline: Union[PipelineSource, LoadedPipeline] = "dense_retrieval",
                       overrides: Optional[Overrides] = (), pipeline_name: Optional[str] = None) -> LoadedPipeline:
        """A query pipeline (its first node takes ``Query``) over a store that holds passages."""
        if self.store and not self.store.get_document_count():
            raise StoreError(f"Store {str(self.path)!r} holds no passages: index a corpus into it first.")
        return self.pipeline(pipeline, overrides, pipeline_name).require_root("Query", "a query pipeline")

    def indexing_pipeline(self, pipeline: Union[PipelineSource, LoadedPipeline] = "indexing",
                          overrides: Optional[Overrides] = (), pipeline_name: Optional[str] = None,
                          dense: Optional[bool] = None) -> LoadedPipeline:
        """An indexing pipeline (``File`` first, writing into the store) that follows the store: its recorded
        encoder, or BM25 only for a store of passages without vectors (see :meth:`pipeline`)."""
        loaded = self.pipeline(pipeline, overrides, pipeline_name, dense=dense)
        if loaded.root_node != "File" or not any(node is (self.store or loaded.document_store)
                                                 for node in loaded.nodes.values()):
            raise ConfigurationError(f"{loaded.config.name!r} is not an indexing pipeline: it needs `inputs: [File]` "
                                     "on its first node and the document store as a node (see pipelines/indexing.yml).")
        return loaded

    # ----- work ---------------------------------------------------------------------------------------------

    def index(self, corpus: Union[str, Path, Iterable[Any]] = (),
              pipeline: Union[PipelineSource, LoadedPipeline] = "indexing", overrides: Optional[Overrides] = (),
              corpus_format: str = "auto", batch_passages: int = 256, progress_bar: bool = True, reembed: bool = False,
              pipeline_name: Optional[str] = None, duplicate_documents: Optional[str] = None,
              files: Optional[List[Any]] = None) -> Dict[str, Any]:
        """Index a corpus (a file or directory of files, or Haystack Documents; or ``files``, ``(path, meta)``
        pairs for a pipeline that starts with a file converter) and build the search indexes; returns what
        happened to each document (new, replaced, unchanged, refused) and the passage counts
        (:func:`dpr_components.pipelines.indexing.describe` words it). Each batch is split and embedded before
        it takes the write lock, so queries go on meanwhile. ``duplicate_documents`` overrides the store's
        policy for this call; ``reembed`` first re-embeds every stored passage with the pipeline's encoder
        (after training a new one: the store refuses mixed vectors)."""
        from dpr_components.pipelines.indexing import index_documents
        from dpr_components.pipelines.indexing import reembed as reembed_store
        from dpr_components.preprocessing.corpus import count_documents, read_corpus
        from dpr_components.utils.validation import positive_int

        self._check_writable()
        batch_passages = positive_int("batch_passages", batch_passages)
        if isinstance(corpus, (str, Path)):
            total = count_documents(corpus, corpus_format)  # also checks the corpus exists before models load
            documents: Iterable[Any] = read_corpus(corpus, corpus_format, self.schema)
        else:
            documents = list(corpus)
            total = len(documents) + len(files or [])
        indexing = self.indexing_pipeline(pipeline, overrides, pipeline_name, dense=True if reembed else None)
        with self._indexing, _our_errors():  # one index call at a time: its duplicate checks hold when it writes
            try:
                with self.lock.writing():
                    reembedded = reembed_store(indexing) if reembed else 0
                summary = index_documents(indexing, documents, self.schema, total, batch_passages, progress_bar,
                                          self.lock, duplicate_documents, files)
            finally:
                self.build_indexes()
        return {**summary, "passages_reembedded": reembedded}

    def query(self, questions: Iterable[str], pipeline: Union[PipelineSource, LoadedPipeline] = "dense_retrieval",
              overrides: Optional[Overrides] = (), top_k: Optional[int] = None,
              filters: Optional[Dict[str, Any]] = None, batch_size: int = 32) -> List[Dict[str, Any]]:
        """Each question's passages (and answers, for a QA pipeline) as plain dicts, in order."""
        from dpr_components.pipelines.querying import question_list, run_queries

        questions = question_list(questions)  # before models load
        loaded = self.query_pipeline(pipeline, overrides)
        with self.lock.reading(), _our_errors():
            return run_queries(loaded, questions, top_k, filters, batch_size, self.schema)

    def evaluate(self, questions: str, pipeline: Union[PipelineSource, LoadedPipeline] = "dense_retrieval",
                 overrides: Optional[Overrides] = (), **options: Any) -> Any:
        """An :class:`EvaluationResult` on a question file or ``pyserini:NAME`` (options: see
        :func:`dpr_components.pipelines.evaluation.evaluate`)."""
        from dpr_components.pipelines.evaluation import evaluate

        loaded = self.query_pipeline(pipeline, overrides)
        with self.lock.reading(), _our_errors():
            return evaluate(loaded, questions, schema=self.schema, **options)

    def sweep(self, questions: str, pipeline: Union[PipelineSource, LoadedPipeline] = "hybrid_retrieval",
              overrides: Optional[Overrides] = (), **options: Any) -> Dict[str, Any]:
        """Tune the pipeline's HybridFusion on (dev) questions (options: see
        :func:`dpr_components.pipelines.evaluation.sweep_fusion`)."""
        from dpr_components.pipelines.evaluation import sweep_fusion

        loaded = self.query_pipeline(pipeline, overrides)
        with self.lock.reading(), _our_errors():
            return sweep_fusion(loaded, questions, **options)

    @contextmanager
    def writing(self) -> Iterator[Any]:
        """The store, to write to directly (shard files, deletes, ``update_embeddings``) while holding the write
        lock; the search indexes are built when the block ends (also after a failure: what was written stays)."""
        self._check_writable()
        with self.lock.writing():
            try:
                yield self.store
            finally:
                self._build_indexes()

    def build_indexes(self) -> None:
        """Bring the store's FAISS and BM25 indexes up to date and save them (every writer here does it)."""
        with self.writing():
            pass

    def _build_indexes(self) -> None:
        if self.store is None:
            return
        logger.info("Building the search indexes of %s ...", self.path)
        self.store.build_indexes()

    def _check_writable(self) -> None:
        """Refuse a write before any model loads: the store's rule (without a store directory, the flag's)."""
        if self.store is not None:
            self.store.check_writable()
        elif self.read_only:
            raise StoreReadOnlyError("This workspace was opened read_only: open it without read_only to write.")

    # ----- lifetime -----------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the store (a store this workspace created and left empty is removed again)."""
        if self.store is None:
            return
        empty = self._created and not self.store.get_document_count()
        self.store.close()
        if not empty or self.path is None:
            return
        if self._created == "directory":
            shutil.rmtree(self.path, ignore_errors=True)
        else:
            for name in STORE_FILES:
                target = self.path / name
                shutil.rmtree(target, ignore_errors=True) if target.is_dir() else target.unlink(missing_ok=True)

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


@contextmanager
def _our_errors() -> Iterator[None]:
    """Haystack wraps a failing node's error in a bare ``Exception``: raise the error a caller can act on."""
    try:
        yield
    except Exception as error:
        cause: Optional[BaseException] = error
        while cause is not None and not isinstance(cause, DPRComponentsError):
            cause = cause.__cause__ or cause.__context__
        if cause is None or cause is error:
            raise
        raise cause from None

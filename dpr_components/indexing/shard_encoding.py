"""Encode one shard of a corpus with an indexing pipeline's nodes and write it as an embedding shard file.

The indexing pipeline (e.g. ``pipelines/indexing.yml``) is loaded as for ``dpr-components index``, with its
store pointed at a throw-away directory: every node between ``File`` and the document store runs (the
splitter, then the dense retriever's ``embed_documents``), nothing is written to a store. Re-running a shard
whose file already exists for the same corpus and encoder does nothing, so a job of N shards is resumable
shard by shard (``dpr-components index CORPUS --shard I/N --embeddings DIR`` on any machine, in any order).

Example::

    from dpr_components.indexing.shard_encoding import encode_shard
    from dpr_components.indexing.shards import ShardSpec

    summary = encode_shard("psgs_w100.tsv", ShardSpec.parse("0/8"), "embeddings/", pipeline="indexing",
                           overrides=["Retriever.batch_size=64"])
    summary["passages"], summary["path"], summary["skipped"]
"""
import shutil
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

import numpy as np
from haystack.document_stores import BaseDocumentStore
from haystack.nodes.retriever.dense import DenseRetriever
from haystack.schema import Document

from dpr_components.errors import ConfigurationError
from dpr_components.indexing.shards import (
    CorpusDigest,
    ShardHeader,
    ShardSpec,
    check_folder_takes,
    existing_shard,
    write_shard,
)
from dpr_components.pipelines.loading import PipelineSource
from dpr_components.preprocessing.corpus import read_corpus
from dpr_components.schema import TITLE_FIELD
from dpr_components.utils.files import remove_leftovers, scratch_dir

ENCODE_CHUNK = 512  # passages per embed_documents call: memory stays bounded, progress moves


def encoder_signature(retriever: Any) -> Dict[str, Any]:
    """The signature of the encoder that makes a retriever's passage vectors, as a JSON-ready dict."""
    signature = getattr(retriever, "encoder_signature", None)
    if signature is None:
        raise ConfigurationError(f"{type(retriever).__name__} does not say which encoder makes its vectors "
                                 "(no encoder_signature): shards need one; use DPRRetriever.")
    return signature.to_dict() if hasattr(signature, "to_dict") else dict(signature)


class PassageEncoder:
    """The nodes of an indexing pipeline between ``File`` and its store: documents -> passages + vectors."""

    def __init__(self, loaded: Any):
        order = [name for name in _topological(loaded) if name != "File"]
        self.nodes = [loaded.get_node(name) for name in order]
        self.nodes = [node for node in self.nodes if not isinstance(node, BaseDocumentStore)]
        retrievers = [node for node in self.nodes if isinstance(node, DenseRetriever)]
        if loaded.root_node != "File" or len(retrievers) != 1 or not isinstance(self.nodes[-1], DenseRetriever):
            raise ConfigurationError(
                "This pipeline cannot encode shards: it needs `inputs: [File]` on its first node and one dense "
                "retriever (e.g. DPRRetriever) as the last node before the document store "
                "(see pipelines/indexing.yml).")
        self.retriever = retrievers[0]
        self.signature = encoder_signature(self.retriever)
        self._scratch: Optional[str] = None

    @classmethod
    def load(cls, pipeline: PipelineSource = "indexing", overrides: Iterable[str] = (),
             pipeline_name: Optional[str] = None) -> "PassageEncoder":
        """The encoding nodes of an indexing pipeline (a name, path or ``PipelineConfig``), its stores pointed
        at a scratch directory that is never written."""
        from dpr_components.pipelines import load_pipeline, read_pipeline_config

        config = read_pipeline_config(pipeline, pipeline_name, overrides=list(overrides))
        scratch = str(scratch_dir("shard-store"))  # a killed run's is removed by the next
        try:
            config = config.with_overrides([f"{name}.path={scratch}" for name in config.store_paths()])
            encoder = cls(load_pipeline(config).pipeline)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        encoder.retriever.document_store = None  # vectors go to shard files, never to the scratch store
        encoder._scratch = scratch
        return encoder

    def encode(self, documents: List[Document]) -> Tuple[List[str], List[Dict[str, Any]], np.ndarray]:
        """(passage ids, passages as {content, meta}, float32 vectors) of ``documents``."""
        passages = documents
        for node in self.nodes[:-1]:
            passages = node.run(documents=passages)[0]["documents"]
        chunks = [self.retriever.embed_documents(passages[start:start + ENCODE_CHUNK])
                  for start in range(0, len(passages), ENCODE_CHUNK)]
        dim = getattr(self.retriever, "embedding_dim", 0) or 0
        embeddings = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros((0, dim), np.float32)
        return ([p.id for p in passages], [{"content": p.content, "meta": dict(p.meta or {})} for p in passages],
                embeddings)

    def close(self) -> None:
        if self._scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)


def corpus_shard(corpus: str, spec: ShardSpec, corpus_format: str = "auto"
                 ) -> Tuple[CorpusDigest, Tuple[int, int], List[Document]]:
    """(digest of the whole corpus, this shard's document range, its documents): two reads of the corpus,
    the first for the count and digest, the second keeping the shard's documents only."""
    digest = corpus_digest(corpus, corpus_format)
    start, end = spec.document_range(digest.documents)
    documents = [document for position, document in enumerate(read_corpus(corpus, corpus_format))
                 if start <= position < end]
    return digest, (start, end), documents


def corpus_digest(corpus: str, corpus_format: str = "auto") -> CorpusDigest:
    digest = CorpusDigest()
    for document in read_corpus(corpus, corpus_format):
        digest.add(str(document.id), str((document.meta or {}).get(TITLE_FIELD, "")), document.content)
    return digest


def encode_shard(corpus: str, spec: ShardSpec, directory: str, pipeline: PipelineSource = "indexing",
                 overrides: Iterable[str] = (), corpus_format: str = "auto", pipeline_name: Optional[str] = None,
                 encoder: Optional[PassageEncoder] = None) -> Dict[str, Any]:
    """Encode shard ``spec`` of ``corpus`` into ``directory`` unless an up-to-date file is there already."""
    own = encoder is None
    encoder = encoder or PassageEncoder.load(pipeline, overrides, pipeline_name)
    try:
        digest, document_range, documents = corpus_shard(corpus, spec, corpus_format)
        summary = {"shard": str(spec), "documents": document_range[1] - document_range[0],
                   "corpus_documents": digest.documents}
        remove_leftovers(Path(directory))  # shards half-written by killed runs
        check_folder_takes(directory, spec.count, digest.hexdigest(), encoder.signature)
        done = existing_shard(directory, spec, digest.hexdigest(), encoder.signature)
        if done is not None:
            return {**summary, "passages": done.passages, "path": str(done.path), "skipped": True}
        ids, passages, embeddings = encoder.encode(documents)
        header = ShardHeader(Path(directory), spec, document_range, digest.documents, digest.hexdigest(),
                             encoder.signature, len(ids))
        path = write_shard(directory, header, ids, passages, embeddings)
        return {**summary, "passages": len(ids), "path": str(path), "skipped": False}
    finally:
        if own:
            encoder.close()


def _topological(pipeline: Any) -> List[str]:
    import networkx as nx

    return list(nx.topological_sort(pipeline.graph))

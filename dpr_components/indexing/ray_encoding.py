"""Encode a corpus's shards as Ray tasks over a cluster's workers, streaming the vectors into a store.

The driver reads the corpus once, cuts it into ``shards`` contiguous document ranges (the same ranges as
``--shard I/N``), and submits each as a Ray task; at most two tasks per worker are in flight, so memory stays
bounded. Each worker process loads the indexing pipeline's encoder once and reuses it for every shard it is
given; a task gets ``cluster CPUs / workers`` CPUs (its torch threads) and, on a cluster with GPUs, one GPU.
Finished shards come back in completion order and are written into the store (and, with ``embeddings``, to
shard files first, which makes the job resumable: a re-run loads finished shards from their files instead of
encoding them). A worker that dies mid-shard (killed, out of memory, node lost) makes Ray run that shard again
(``max_retries``); a shard's passages reach the store only once its task has returned, so every passage ends
there exactly once. One progress bar counts the documents of the whole job.

Needs the ``[ray]`` extra (``pip install "dpr-components[ray]"``). Workers must see the pipeline YAML and the
models at the same paths as the driver (a shared filesystem or the same image), as with any Ray job.

Example::

    from dpr_components.indexing.ray_encoding import index_on_ray

    summary = index_on_ray("psgs_w100.tsv", address="auto", store="wiki_store", pipeline="indexing",
                           overrides=["Retriever.batch_size=64"], shards=256, embeddings="embeddings/")
    summary["passages"], summary["workers"]
"""
import json
import os
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple

import numpy as np
from haystack.schema import Document

from dpr_components.errors import ConfigurationError
from dpr_components.indexing.shard_encoding import PassageEncoder, corpus_digest
from dpr_components.indexing.shards import (
    ShardError,
    ShardHeader,
    ShardSpec,
    check_folder_takes,
    check_store_encoder,
    existing_shard,
    folder_sharding,
    read_shard,
    write_shard,
    write_to_store,
)
from dpr_components.pipelines.loading import PipelineConfig, PipelineSource
from dpr_components.preprocessing.corpus import read_corpus

Encoded = Tuple[List[str], List[Dict[str, Any]], np.ndarray]
_ENCODERS: Dict[str, PassageEncoder] = {}  # per worker process: the model is loaded once per process


def require_ray():
    try:
        import ray
    except ImportError:
        raise ConfigurationError('--ray needs Ray: pip install "dpr-components[ray]"') from None
    return ray


def connect(address: Optional[str]) -> Tuple[Any, str]:
    """Join a Ray cluster; returns (ray, where the job runs). ``address``: "auto" joins the cluster that
    ``ray start`` made on this machine (or ``RAY_ADDRESS``) and starts a local instance when there is none;
    "local" or None always starts a local instance; ``ray://host:port`` or ``host:port`` must be reachable."""
    ray = require_ray()
    if ray.is_initialized():
        return ray, "the Ray instance this process already uses"
    if address == "auto":
        # What ray.init(address=None) reads; Ray's own "auto" would also join any other process's instance.
        from ray._private.services import get_ray_address_from_environment

        address = get_ray_address_from_environment(None, None)  # type: ignore[arg-type]  # ray.init passes None
    local = address in (None, "", "local")
    try:
        ray.init(address="local" if local else address, log_to_driver=False, include_dashboard=False)
    except ConnectionError as error:
        raise ConfigurationError(f"Cannot reach the Ray cluster at address {address!r} ({error}). Give the address "
                                 "of a running cluster, 'auto', or 'local' to start one here.") from None
    cpus = int(ray.cluster_resources().get("CPU", 0))
    return ray, (f"a local Ray instance started for this job ({cpus} CPUs)" if local
                 else f"the Ray cluster at {address} ({cpus} CPUs)")


def encode_documents(config: PipelineConfig, documents: List[Dict[str, Any]], threads: int) -> Encoded:
    """Run inside a Ray worker: passages and vectors of ``documents`` (Haystack document dicts)."""
    key = json.dumps([config.config, config.pipeline_name], sort_keys=True, default=str)
    if key not in _ENCODERS:
        import torch

        torch.set_num_threads(max(1, threads))
        _ENCODERS[key] = PassageEncoder.load(config)
    return _ENCODERS[key].encode([Document.from_dict(document) for document in documents])


def _shard_documents(corpus: str, corpus_format: str, specs: List[ShardSpec], total: int
                     ) -> Iterator[Tuple[ShardSpec, List[Dict[str, Any]]]]:
    """One read of the corpus: each shard's documents (as dicts), in shard order."""
    ranges = [spec.document_range(total) for spec in specs]
    current: List[Dict[str, Any]] = []
    shard = 0
    for position, document in enumerate(read_corpus(corpus, corpus_format)):
        while shard < len(specs) and position >= ranges[shard][1]:
            yield specs[shard], current
            current, shard = [], shard + 1
        current.append({"id": document.id, "content": document.content, "meta": document.meta})
    while shard < len(specs):
        yield specs[shard], current
        current, shard = [], shard + 1


def index_on_ray(corpus: str, address: Optional[str], store: Optional[str] = None,
                 pipeline: PipelineSource = "indexing", overrides: Iterable[str] = (), shards: Optional[int] = None,
                 workers: Optional[int] = None, embeddings: Optional[str] = None, corpus_format: str = "auto",
                 pipeline_name: Optional[str] = None, progress_bar: bool = True, max_retries: int = 3,
                 encode: Callable[..., Encoded] = encode_documents) -> Dict[str, Any]:
    """Encode ``corpus`` in ``shards`` Ray tasks over ``workers`` concurrent workers into the pipeline's store.

    ``address``: see :func:`connect`. ``shards`` defaults to the sharding of this corpus's files already in
    ``embeddings`` (a re-run resumes it), else 4 per worker.

    ``pipeline``: a name, path or ``PipelineConfig`` (the config, plain data, is what the workers receive).
    ``encode(config, documents, threads)`` runs in the workers (default :func:`encode_documents`). Returns
    counts: documents, passages, shards (encoded / loaded from files), workers.
    """
    from tqdm import tqdm

    from dpr_components.pipelines import read_pipeline_config
    from dpr_components.workspace import Workspace

    ray, cluster = connect(address)
    config = read_pipeline_config(pipeline, pipeline_name, store, list(overrides))
    workspace = Workspace.for_pipeline(config)  # writes below build the store's indexes at the end
    loaded = workspace.indexing_pipeline(config)
    document_store = loaded.document_store
    signature = PassageEncoder(loaded.pipeline).signature
    check_store_encoder(document_store, signature)
    digest = corpus_digest(corpus, corpus_format)
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    workers = workers or gpus or max(1, int(resources.get("CPU", 1)))
    threads = max(1, int(resources.get("CPU", 1)) // workers)
    found = folder_sharding(embeddings)  # a re-run over the same folder resumes its sharding
    resumed = found.spec.count if found is not None and found.corpus_digest == digest.hexdigest() else None
    count = shards or resumed or max(1, min(digest.documents, 4 * workers))
    if embeddings:
        check_folder_takes(embeddings, count, digest.hexdigest(), signature)
    specs = [ShardSpec(index, count) for index in range(count)]
    task = ray.remote(encode).options(num_cpus=threads, num_gpus=1 if gpus else 0, max_retries=max_retries)

    summary: Dict[str, Any] = {
        "documents": digest.documents, "passages": 0, "shards": count, "shards_encoded": 0, "shards_from_files": 0,
        "workers": workers, "cluster": cluster, "store": str(getattr(document_store, "path", "") or "")}
    seen: Dict[str, ShardSpec] = {}
    pending: Dict[Any, Tuple[ShardSpec, Tuple[int, int]]] = {}

    def finish(spec: ShardSpec, document_range: Tuple[int, int], encoded: Encoded, from_file: bool) -> None:
        ids, passages, vectors = encoded
        for passage_id in ids:
            if passage_id in seen:
                raise ShardError(f"Passage {passage_id!r} is in shard {seen[passage_id]} and shard {spec}: the "
                                 f"corpus repeats a document id; fix the ids and re-run.")
            seen[passage_id] = spec
        if embeddings and not from_file:  # the file first: a re-run resumes from it
            header = ShardHeader(Path(embeddings), spec, document_range, digest.documents, digest.hexdigest(),
                                 signature, len(ids))
            write_shard(embeddings, header, ids, passages, vectors)
        write_to_store(document_store, ids, passages, vectors, signature)
        summary["passages"] += len(ids)
        bar.update(document_range[1] - document_range[0])
        bar.set_postfix(passages=summary["passages"])

    def wait_for_one() -> None:
        done, _ = ray.wait(list(pending), num_returns=1)
        spec, document_range = pending.pop(done[0])
        finish(spec, document_range, ray.get(done[0]), from_file=False)
        summary["shards_encoded"] += 1

    bar = tqdm(total=digest.documents, unit="doc", desc=f"Encoding on Ray ({workers} workers)",
               disable=not progress_bar)
    try:
        for spec, documents in _shard_documents(corpus, corpus_format, specs, digest.documents):
            document_range = spec.document_range(digest.documents)
            if embeddings and existing_shard(embeddings, spec, digest.hexdigest(), signature):
                _, ids, passages, vectors = read_shard(os.path.join(embeddings, spec.file_name))
                finish(spec, document_range, (ids, passages, vectors), from_file=True)
                summary["shards_from_files"] += 1
                continue
            while len(pending) >= 2 * workers:
                wait_for_one()
            pending[task.remote(loaded.config, documents, threads)] = (spec, document_range)
        while pending:
            wait_for_one()
    finally:
        bar.close()
        for reference in pending:
            ray.cancel(reference)
        workspace.build_indexes()
        workspace.close()
    return summary

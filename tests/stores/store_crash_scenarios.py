"""Work done by child processes of the crash tests; every child ends killed by SIGKILL.

A step is one committed store call: even steps write a batch (new documents plus new vectors for five
documents of the previous batch), odd steps delete two documents of the previous batch. The child reports
each step number after its commit, so the parent knows which states the store may be in after the kill.
"""
import os
import signal
from multiprocessing.connection import Connection
from typing import Dict

import bm25s
import faiss
import numpy as np
from haystack.schema import Document
from store_testing import make_documents

from dpr_components.stores.hybrid_document_store import HybridDocumentStore
from dpr_components.stores.sqlite_documents import DocumentDatabase

DIM = 16
BATCH = 30


def step_documents(step: int):
    """(documents to write, ids to delete) of one step."""
    k = step // 2
    if step % 2:
        return [], [d.id for d in make_documents(BATCH, DIM, seed=k, start=k * BATCH)[10:12]]
    new = make_documents(BATCH, DIM, seed=k, start=k * BATCH)
    previous = make_documents(BATCH, DIM, seed=k - 1, start=(k - 1) * BATCH)[:5] if k else []
    rng = np.random.default_rng(1000 + k)
    changed = [Document(content=d.content, meta=d.meta, embedding=rng.standard_normal(DIM).astype(np.float32))
               for d in previous]
    return new + changed, []


def expected_state(steps_done: int) -> Dict[str, np.ndarray]:
    """Document id -> vector after the first ``steps_done`` steps committed."""
    state: Dict[str, np.ndarray] = {}
    for step in range(steps_done):
        documents, deleted = step_documents(step)
        state.update({d.id: d.embedding for d in documents})
        for doc_id in deleted:
            state.pop(doc_id, None)
    return state


def run_step(store: HybridDocumentStore, step: int) -> None:
    documents, deleted = step_documents(step)
    if documents:
        store.write_documents(documents)
    else:
        store.delete_documents(ids=deleted)


def write_until_killed(path: str, factory: str, report: Connection) -> None:
    """Steps forever, saving the caches and querying in between: a kill may land anywhere."""
    store = HybridDocumentStore(path=path, faiss_index_factory_str=factory, progress_bar=False)
    query = np.ones(DIM, dtype=np.float32)
    step = 0
    while True:
        run_step(store, step)
        step += 1
        report.send(step)
        store.query_by_embedding(query, top_k=3)
        store.build_indexes()
        if step % 3 == 0:
            store.query("paris topic3", top_k=3)


def kill_at(scenario: str, path: str, report: Connection) -> None:
    """Commit two steps (caches saved after the first), then die at one precise point of the third."""
    store = HybridDocumentStore(path=path, progress_bar=False)
    for step in range(2):
        run_step(store, step)
        report.send(step + 1)
        store.query_by_embedding(np.ones(DIM, dtype=np.float32), top_k=3)
        store.query("paris", top_k=3)
        if step == 0:
            store.build_indexes()

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    if scenario == "inside_write_transaction":  # rows inserted, generation bumped, COMMIT not reached
        original = DocumentDatabase.log_changes
        DocumentDatabase.log_changes = lambda *args, **kwargs: (original(*args, **kwargs), die())
        run_step(store, 2)
    elif scenario == "inside_vector_save":  # half a temporary file written, never renamed
        original = faiss.write_index
        faiss.write_index = lambda index, writer: (original(faiss.IndexFlatIP(4), writer), die())
        store.build_indexes()
    elif scenario == "before_change_log_pruning":  # new file in place, old file and change log still there
        DocumentDatabase.forget_changes = die
        store.build_indexes()
    elif scenario == "inside_bm25_save":
        run_step(store, 2)
        report.send(3)

        def half_save(self, directory, **kwargs):
            open(f"{directory}/params.index.json", "w").write("{")
            die()

        bm25s.BM25.save = half_save
        store.query("paris", top_k=3)
    elif scenario == "inside_update_embeddings":  # new vectors of the first batch staged, then killed
        class DyingEncoder:
            batches = 0

            def embed_documents(self, documents):
                self.batches += 1
                if self.batches == 2:
                    die()
                return np.full((len(documents), DIM), 0.5, dtype=np.float32)

        store.update_embeddings(DyingEncoder(), batch_size=10)
    raise AssertionError(f"scenario {scenario!r} did not kill the process")

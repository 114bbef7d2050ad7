"""Work of the child processes of the concurrency test: each opens the store itself, as separate programs do."""
import numpy as np
from store_testing import make_documents

from dpr_components.stores.hybrid_document_store import HybridDocumentStore

DIM, BATCHES, BATCH = 8, 3, 20


def writer(path: str, number: int) -> None:
    store = HybridDocumentStore(path=path, progress_bar=False)
    for batch in range(BATCHES):
        start = 1000 * (number + 1) + batch * BATCH
        store.write_documents(make_documents(BATCH, DIM, seed=start, start=start))
        store.build_indexes()  # writers build and save the caches while the others write
    store.close()


def deleter(path: str, ids: list) -> None:
    store = HybridDocumentStore(path=path, progress_bar=False)
    for chunk in range(0, len(ids), 5):
        store.delete_documents(ids=ids[chunk:chunk + 5])
    store.close()


def reader(path: str, rounds: int) -> None:
    store = HybridDocumentStore(path=path, progress_bar=False, read_only=True)
    query = np.ones(DIM, dtype=np.float32)
    for _ in range(rounds):
        store.query_by_embedding(query, top_k=5)  # any exception fails the process
        store.query("paris", top_k=5)
    store.close()

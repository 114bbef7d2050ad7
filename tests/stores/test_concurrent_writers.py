"""Separate processes writing, deleting, building caches and reading one store at once lose nothing and leave
caches that agree with SQLite (docs/nodes/hybrid-document-store.md, "What survives what")."""
import multiprocessing

import numpy as np
from concurrent_store_work import BATCH, BATCHES, DIM, deleter, reader, writer
from store_testing import make_documents

WRITERS = 4


def test_four_writers_a_deleter_and_a_reader_at_once(open_store, store_path):
    doomed = make_documents(20, DIM, seed=7, start=900)
    first = open_store()
    first.write_documents(doomed)
    first.close()
    context = multiprocessing.get_context("forkserver")
    children = [context.Process(target=writer, args=(str(store_path), number)) for number in range(WRITERS)]
    children += [context.Process(target=deleter, args=(str(store_path), [d.id for d in doomed])),
                 context.Process(target=reader, args=(str(store_path), 30))]
    for child in children:
        child.start()
    for child in children:
        child.join(300)
    assert [child.exitcode for child in children] == [0] * len(children)

    store = open_store()
    expected = {d.id: d.embedding for number in range(WRITERS) for batch in range(BATCHES)
                for d in make_documents(BATCH, DIM, seed=1000 * (number + 1) + batch * BATCH,
                                        start=1000 * (number + 1) + batch * BATCH)}
    stored = {d.id: d.embedding for d in store.get_all_documents(return_embedding=True)}
    assert stored.keys() == expected.keys()
    assert all(np.array_equal(stored[i], expected[i]) for i in expected)
    info = store._database.index_info(store.index)
    vector_ids = np.sort(store._caches.vectors(store.index).ids())
    assert np.array_equal(vector_ids, store._database.row_ids(info, embedding=True))
    query = np.random.default_rng(0).standard_normal(DIM).astype(np.float32)
    ids = list(expected)
    best = np.argsort(-(np.stack([expected[i] for i in ids]) @ query))[:5]
    assert [d.id for d in store.query_by_embedding(query, top_k=5)] == [ids[i] for i in best]
    assert store._caches.bm25(store.index).size == len(expected)

"""Deterministic documents for the HybridDocumentStore tests (imported by the test modules)."""
from typing import List

import numpy as np
from haystack.schema import Document

GENRES = ["news", "blog", "paper", "book"]


def make_documents(count: int, dim: int = 8, seed: int = 0, start: int = 0, embed: bool = True) -> List[Document]:
    """``count`` documents with titles, varied meta (scalars and lists) and, if ``embed``, random vectors."""
    rng = np.random.default_rng(seed)
    documents = []
    for i in range(start, start + count):
        documents.append(Document(
            content=f"passage {i} about {'paris france' if i % 2 else 'berlin germany'} and topic{i % 7}",
            meta={"name": f"Title {i}", "year": 2000 + i % 10, "genre": GENRES[i % 4],
                  "tags": ["even", "x"] if i % 2 == 0 else ["odd"], "rank": float(i)},
            embedding=rng.standard_normal(dim).astype(np.float32) if embed else None,
        ))
    return documents

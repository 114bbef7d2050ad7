"""Document stores: the embedded HybridDocumentStore (SQLite + FAISS + BM25)."""

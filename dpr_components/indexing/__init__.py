"""Indexing at scale: embedding shard files (DPR's generate_dense_embeddings workflow) and Ray."""

"""Retriever nodes."""

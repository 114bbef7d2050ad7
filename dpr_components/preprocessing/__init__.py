"""Corpus reading and DPR's 100-word passage splitting."""

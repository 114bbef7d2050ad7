"""Hybrid fusion of retrievers' ranked lists: the HybridFusion node, its pure math and the tuning sweep."""

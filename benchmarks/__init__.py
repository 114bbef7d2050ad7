"""Benchmarks of dpr-components against Haystack 1.x's own DPR stack. Run ``python benchmarks/run_all.py``."""

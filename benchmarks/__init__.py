"""Benchmarks of dpr-components against Haystack 1.x's own DPR stack. Run ``python benchmarks/run_all.py``."""
import os

# Before Haystack, transformers or tqdm are imported (tqdm reads TQDM_* once, at import).
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TQDM_DISABLE", "1")  # Haystack's BM25 rebuild shows a bar whatever progress_bar says

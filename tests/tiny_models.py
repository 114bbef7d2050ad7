"""Tiny random DPR models for tests: the vocabulary, the config and how a model is saved with its tokenizer
(and a small BM25 + reader YAML to load them in).

Test modules import these directly (``from tiny_models import tiny_dpr_config, save_model``); the
session fixtures in ``tests/conftest.py`` build their models with them.
"""
import json
import string
from pathlib import Path

from transformers import DPRConfig

WORDS = (
    "the of and in to a is was for on as by with from at that which who what when where how city river "
    "capital country born president paris france berlin germany london england war king queen year "
    "population largest first name called language music film world people state new university"
).split()
ACCENTED = list("éèàüöäçñ")


def tiny_vocab() -> list:
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list(string.ascii_lowercase + string.digits + string.punctuation) + ACCENTED
    return specials + chars + ["##" + c for c in string.ascii_lowercase + string.digits] + WORDS


def tiny_dpr_config(**overrides) -> DPRConfig:
    settings = dict(
        vocab_size=len(tiny_vocab()),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        projection_dim=0,
    )
    settings.update(overrides)
    return DPRConfig(**settings)


def save_model(model, tokenizer_class, vocab_file: Path, directory: Path) -> str:
    model.save_pretrained(directory)
    tokenizer_class(vocab_file=str(vocab_file), do_lower_case=True, model_max_length=128).save_pretrained(directory)
    return str(directory)


def bm25_reader_yaml(reader_params: dict) -> str:
    """A Haystack YAML: InMemory BM25 (top 3) -> DPRSpanReader with ``reader_params``, pipeline ``query``."""
    return f"""version: 1.26.4.post0
components:
  - name: DocumentStore
    type: InMemoryDocumentStore
    params: {{use_bm25: true}}
  - name: Retriever
    type: BM25Retriever
    params: {{document_store: DocumentStore, top_k: 3}}
  - name: Reader
    type: DPRSpanReader
    params: {json.dumps(reader_params)}
pipelines:
  - name: query
    nodes:
      - {{name: Retriever, inputs: [Query]}}
      - {{name: Reader, inputs: [Retriever]}}
"""

"""How much work each section does: ``--quick`` (a few minutes) or ``--full``."""
from dataclasses import dataclass, field
from typing import Dict, Tuple


@dataclass(frozen=True)
class Sizes:
    name: str
    # section 1: passages indexed per encoder (all real 100-word passages)
    indexing_passages: Dict[str, int] = field(default_factory=dict)
    # passages for bf16 when the CPU has no native bf16 (emulated there, 10-15x slower than fp32)
    emulated_bf16_passages: Dict[str, int] = field(default_factory=dict)
    # encoders also indexed into Haystack's FAISSDocumentStore (its encoder is the same; the store adds SQL)
    faiss_indexing_encoders: Tuple[str, ...] = ("bert-base", "minilm")
    # sections 2 and 3: passages in the index, queries timed
    index_passages: int = 100_000
    dense_queries: int = 30
    # Haystack's InMemoryDocumentStore rebuilds 100k Documents per dense query (seconds each): it gets the
    # first few of the same questions. Its FAISSDocumentStore takes minutes to fill: --full only.
    haystack_memory_queries: int = 5
    haystack_faiss_queries: bool = False
    bm25_queries: int = 30
    query_encoder: str = "bert-base"
    # section 4: passages read for one question, questions timed
    reader_passages: int = 20
    reader_questions: int = 3
    # section 5: vectors held
    memory_vectors: int = 1_000_000
    memory_dim: int = 768
    gemm_seconds: float = 1.0
    # ours and the baseline alternate this many times (A B A B ...) in the indexing and reader sections
    rounds: int = 3


QUICK = Sizes(
    name="quick",
    indexing_passages={"bert-base": 128, "minilm": 384},
    emulated_bf16_passages={"bert-base": 8, "minilm": 48},
    faiss_indexing_encoders=(),
    index_passages=100_000,
    dense_queries=30,
    haystack_memory_queries=3,
    bm25_queries=30,
    reader_questions=2,
    memory_vectors=250_000,
)

FULL = Sizes(
    name="full",
    indexing_passages={"bert-base": 512, "minilm": 2048},
    emulated_bf16_passages={"bert-base": 32, "minilm": 256},
    index_passages=100_000,
    dense_queries=200,
    haystack_memory_queries=20,
    haystack_faiss_queries=True,
    bm25_queries=200,
    reader_questions=10,
    memory_vectors=1_000_000,
    gemm_seconds=3.0,
    rounds=5,
)

TINY = Sizes(  # for developing the harness on a busy machine
    name="tiny",
    indexing_passages={"minilm": 16},
    emulated_bf16_passages={"minilm": 8},
    index_passages=2_000,
    dense_queries=5,
    haystack_memory_queries=2,
    bm25_queries=5,
    reader_passages=4,
    reader_questions=1,
    memory_vectors=20_000,
    gemm_seconds=0.3,
    rounds=2,
)

SIZES = {"quick": QUICK, "full": FULL, "tiny": TINY}

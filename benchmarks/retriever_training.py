"""Fine-tune all-MiniLM-L6-v2 as a DPR bi-encoder on distant supervision from DEV questions; test it.

1. The mini Wikipedia benchmark's data (4,807 passages; 81 dev / 90 test questions; see
   ``dpr_components.data.wikipedia_mini``) and a HybridDocumentStore (BM25 k1=0.9, b=0.4) over the passages.
2. Training data by distant supervision, as DPR built TriviaQA's: every NQ-dev and TriviaQA-dev question
   (pyserini 0.13.0's lists) except the mini benchmark's 81 dev questions; positive = the highest-ranked
   BM25 passage (top 20) that contains an answer (DPR's ``has_answer``), hard negatives = the highest-ranked
   BM25 passages without one. No test-split question is read before step 4. The 81 mini dev questions, built
   the same way, are the dev set that picks the best checkpoint (DPR's average-rank validation).
3. ``train_retriever`` twice, bounded by ``--max-minutes`` each: with 1 BM25 hard negative per question, and
   with in-batch negatives only. MiniLM is trained as it was pre-trained: mean pooling, L2-normalised,
   cosine / temperature 0.05. ``--train-sides question`` (default) fine-tunes the question encoder only,
   against the frozen MiniLM passage encoder, so the corpus is embedded once for all models;
   ``--train-sides both`` trains one shared encoder (DPR's full objective) and re-embeds the corpus per model.
4. Embed the corpus with each passage encoder (a store per model) and evaluate dev and TEST top-1/5/20/100
   through the project's evaluation: each encoder alone and fused with BM25 (HybridFusion dbsf, weights
   [0.2, 1]: the setting chosen on dev for off-the-shelf MiniLM in docs/mini-wikipedia-benchmark.md, kept
   fixed for all so that no test number picks anything).

Reproduce (most of the time is embedding the 4,807 passages: about 5 minutes per passage encoder on 2 idle
cores, 15-20 minutes on cores shared with other jobs)::

    python benchmarks/retriever_training.py --out runs/retriever_training --max-minutes 6 --precision bf16
"""
import argparse
import json
import logging
import os
import random
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import torch

os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from haystack import Document, Pipeline
from haystack.document_stores import InMemoryDocumentStore
from haystack.nodes import BM25Retriever

from benchmarks.mini_wikipedia import load_passages, markdown_table, minilm_path
from dpr_components.data.wikipedia_mini import build_mini_wikipedia
from dpr_components.evaluation import (
    EvaluationResult,
    evaluate_pipeline,
    load_pyserini_topics,
    load_questions,
)
from dpr_components.fusion.hybrid_fusion import HybridFusion
from dpr_components.retrievers.dpr_retriever import DPRRetriever
from dpr_components.stores.hybrid_document_store import HybridDocumentStore
from dpr_components.training.biencoder import retriever_params
from dpr_components.training.build_data import build_training_examples
from dpr_components.training.data import write_examples
from dpr_components.training.loop import TrainingConfig
from dpr_components.training.retriever_training import RetrieverTrainingConfig, train_retriever
from dpr_components.utils.devices import cpu_description

FUSION = {"mode": "dbsf", "weights": [0.2, 1.0]}


def open_store(directory: Path, documents: List[Document]) -> HybridDocumentStore:
    store = HybridDocumentStore(path=str(directory), embedding_dim=384, similarity="dot_product", progress_bar=True)
    if store.get_document_count() != len(documents):
        store.write_documents(documents, duplicate_documents="overwrite")
    return store


def build_training_data(data_dir: Path, out: Path, store: HybridDocumentStore) -> Dict[str, int]:
    """build-training-data's labelling (BM25 top 20, DPR's has_answer) of NQ dev + TriviaQA dev for training
    and of the mini benchmark's dev questions (excluded from training) for checkpoint selection."""
    mini_dev = load_questions(data_dir / "dev.jsonl")
    pool = [q for name in ("nq-dev", "dpr-trivia-dev") for q in load_pyserini_topics(name)]
    retrieve = lambda texts: store.query_batch(texts, top_k=20)  # noqa: E731
    train, train_stats = build_training_examples(pool, retrieve, exclude=[q.question for q in mini_dev],
                                                 max_negatives=3)
    dev, dev_stats = build_training_examples(mini_dev, retrieve, max_negatives=3)
    random.Random(0).shuffle(train)
    counts = {"dev_questions_read": train_stats.questions, "mini_dev_excluded": train_stats.excluded,
              "train_examples": len(train), "train_skipped_without_positive": train_stats.no_positive,
              "dev_examples": len(dev)}
    write_examples(out / "train.jsonl", train)
    write_examples(out / "dev.jsonl", dev)
    (out / "data_counts.json").write_text(json.dumps(counts, indent=2) + "\n")
    return counts


def train(name: str, out: Path, hard_negatives: int, args) -> Path:
    output = out / "models" / name
    if output.exists():
        return output
    settings = RetrieverTrainingConfig(
        train_file=out / "train.jsonl", dev_file=out / "dev.jsonl", question_model=minilm_path(),
        shared=args.train_sides == "both", freeze_passage_encoder=args.train_sides == "question",
        pooling="mean", normalize=True, similarity="cosine", temperature=0.05, batch_size=args.batch_size,
        hard_negatives=hard_negatives, max_seq_len_query=64, max_seq_len_passage=args.train_passage_length)
    loop = TrainingConfig(output_dir=output, learning_rate=args.learning_rate, warmup_steps=args.warmup_steps,
                          max_minutes=args.max_minutes, num_epochs=1, eval_every=args.eval_every,
                          metric="mrr", seed=0, device="cpu", precision=args.precision, show_progress=True)
    started, load_before = time.time(), os.getloadavg()
    result = train_retriever(settings, loop)
    report = {"steps": result.steps, "stopped_by": result.stopped_by, "seconds": round(time.time() - started, 1),
              "best": result.best_metrics, "load_before": load_before, "load_after": os.getloadavg()}
    (out / f"train_{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    return output


def frozen_passage_store(base: HybridDocumentStore, count: int) -> "InMemoryDocumentStore":
    """The off-the-shelf passage vectors (the frozen passage encoder's) in a store of their own."""
    while base.get_embedding_count() != count:  # another process may still be embedding them
        time.sleep(30)
    store = InMemoryDocumentStore(embedding_dim=384, similarity="dot_product", progress_bar=False)
    store.write_documents(base.get_all_documents(return_embedding=True))
    return store


def dense_retriever(params: Dict, store: HybridDocumentStore, precision: str) -> DPRRetriever:
    return DPRRetriever(document_store=store, top_k=100, batch_size=32, progress_bar=True, precision=precision,
                        num_threads=torch.get_num_threads(), **params)


def evaluate(name: str, retriever, bm25: BM25Retriever, questions, split: str,
             out: Path) -> Dict[str, EvaluationResult]:
    alone = Pipeline()
    alone.add_node(retriever, name="DPR", inputs=["Query"])
    fused = Pipeline()
    fused.add_node(bm25, name="BM25", inputs=["Query"])
    fused.add_node(retriever, name="DPR", inputs=["Query"])
    fused.add_node(HybridFusion(source_names=["BM25", "DPR"], top_k_join=100, **FUSION), name="Fusion",
                   inputs=["BM25", "DPR"])
    runs = {}
    for label, pipeline, params in [(name, alone, {"DPR": {"top_k": 100}}),
                                    (f"{name} + BM25", fused, {"DPR": {"top_k": 100}, "BM25": {"top_k": 100}})]:
        runs[label] = evaluate_pipeline(pipeline, questions, params=params, name=label,
                                        output_path=out / "runs" / f"{label.replace(' ', '_')}.{split}.jsonl")
    return runs


def saved_rows(out: Path) -> List[tuple]:
    """Every model's dev and test runs written under ``out/runs`` (by this or another process)."""
    order = ["MiniLM off-the-shelf", "fine-tuned, BM25 hard negatives", "fine-tuned, in-batch negatives only"]
    rows = []
    for label in order:
        for run in (label, f"{label} + BM25"):
            paths = [out / "runs" / f"{run.replace(' ', '_')}.{split}.jsonl" for split in ("dev", "test")]
            if all(path.exists() for path in paths):
                rows.append((run, *[EvaluationResult.read_jsonl(path) for path in paths]))
    return rows


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="runs/retriever_training")
    parser.add_argument("--max-minutes", type=float, default=6.0, help="wall-time bound of EACH training run")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--warmup-steps", type=int, default=5)
    parser.add_argument("--eval-every", type=int, default=10)
    parser.add_argument("--train-passage-length", type=int, default=128)
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"],
                        help="training autocast and corpus embedding (bf16: native on AVX-512 BF16 / AMX CPUs)")
    parser.add_argument("--train-sides", default="question", choices=["question", "both"],
                        help="question: fine-tune the question encoder against the frozen MiniLM passage encoder, "
                        "so the off-the-shelf store's vectors are reused (no re-embedding); both: one shared "
                        "encoder trained on both sides, the corpus re-embedded per model")
    parser.add_argument("--num-threads", type=int, default=1,
                        help="torch threads (default 1: on a CPU shared with other jobs, 2 threads were ~15x slower)")
    parser.add_argument("--variants", default="off_the_shelf,hard_negatives,in_batch_only",
                        help="which models to evaluate (comma-separated); separate processes may run different ones "
                        "into the same --out, each table then shows every run found there")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.num_threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"CPU: {cpu_description()}, {os.cpu_count()} cores, load average {os.getloadavg()}", flush=True)

    data_dir = out / "data"
    build_mini_wikipedia(data_dir)
    documents = load_passages(data_dir / "passages.jsonl")
    store_dir = lambda name: out / "stores" / (name or "off_the_shelf")  # noqa: E731
    if not (out / "data_counts.json").exists():
        build_training_data(data_dir, out, open_store(store_dir(None), documents))
    counts = json.loads((out / "data_counts.json").read_text())
    print(f"training data: {counts}", flush=True)

    dev_questions = load_questions(data_dir / "dev.jsonl")
    test_questions = load_questions(data_dir / "test.jsonl")  # read only for evaluation, never for training
    rows: List[tuple] = []
    summary = {"cpu": cpu_description(), "data": counts, "fusion": FUSION, "precision": args.precision, "runs": {}}
    off_the_shelf = {"query_embedding_model": minilm_path(), "passage_embedding_model": minilm_path(),
                     "pooling": "mean", "normalize": True}
    known = {"off_the_shelf": ("MiniLM off-the-shelf", None, None),
             "hard_negatives": ("fine-tuned, BM25 hard negatives", "hard_negatives", 1),
             "in_batch_only": ("fine-tuned, in-batch negatives only", "in_batch_only", 0)}
    variants = [known[v.strip()] for v in args.variants.split(",") if v.strip()]
    for label, name, hard in variants:
        params = off_the_shelf if name is None else retriever_params(train(name, out, hard, args))
        if name is not None:
            summary[f"train_{name}"] = json.loads((out / f"train_{name}.json").read_text())
        if name is not None and args.train_sides == "question":
            store = frozen_passage_store(open_store(store_dir(None), documents), len(documents))
        else:
            store = open_store(store_dir(name), documents)  # one store per model: its vectors, BM25 on the same text
        text_store = open_store(store_dir(None), documents) if isinstance(store, InMemoryDocumentStore) else store
        bm25 = BM25Retriever(document_store=text_store, top_k=100, scale_score=False)  # fusion needs raw scores
        if not rows:
            bm25_alone = Pipeline()
            bm25_alone.add_node(bm25, name="BM25", inputs=["Query"])
            bm25_params = {"BM25": {"top_k": 100}}
            rows.append(("BM25 (k1=0.9, b=0.4)", *[evaluate_pipeline(bm25_alone, q, params=bm25_params, name="BM25")
                                                   for q in (dev_questions, test_questions)]))
        retriever = dense_retriever(params, store, args.precision)
        started, load = time.time(), os.getloadavg()
        if store.get_embedding_count() != len(documents):
            store.update_embeddings(retriever)
        summary.setdefault("embedding", {})[label] = {"seconds": round(time.time() - started, 1),
                                                      "load_before": load, "load_after": os.getloadavg()}
        dev = evaluate(label, retriever, bm25, dev_questions, "dev", out)
        test = evaluate(label, retriever, bm25, test_questions, "test", out)
        for run in dev:
            summary["runs"][run] = {"dev": dev[run].summary(), "test": test[run].summary()}
        summary["load_after"] = os.getloadavg()
        (out / f"results_{name or 'off_the_shelf'}.json").write_text(json.dumps(summary, indent=2) + "\n")
        markdown = markdown_table(rows + saved_rows(out))
        print("\n" + markdown, flush=True)
        (out / "results.md").write_text(markdown + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

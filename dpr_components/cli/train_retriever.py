"""``dpr-components train-retriever``: a thin shell over :func:`dpr_components.training.retriever_training.train_retriever`.

Usage::

    dpr-components train-retriever --train train.jsonl --dev dev.jsonl --output out/minilm-dpr \\
        --question-model /models/all-MiniLM-L6-v2 --shared --pooling mean --normalize \\
        --similarity cosine --temperature 0.05 --batch-size 16 --hard-negatives 1 --max-minutes 10

    # then re-embed a store with the new passage encoder and query it:
    dpr-components index corpus.jsonl --store my_store --reembed \\
        --param Retriever.query_embedding_model=out/minilm-dpr/encoder ...   (printed by this command)
"""
import argparse
from typing import Any, Dict, List

from dpr_components.training.biencoder import retriever_params


def register(commands: Any) -> argparse.ArgumentParser:
    parser = commands.add_parser("train-retriever", help="train DPR's bi-encoder (in-batch + hard negatives)")
    data = parser.add_argument_group("data")
    data.add_argument("--train", required=True, metavar="FILE", help="DPR training JSON (.json list or .jsonl)")
    data.add_argument("--dev", metavar="FILE", help="dev set in the same format (best checkpoint)")
    data.add_argument("--output", required=True, metavar="DIR", help="where the best pair is written (atomically)")
    model = parser.add_argument_group("model")
    model.add_argument("--question-model", required=True, metavar="PATH_OR_ID",
                       help="DPR question encoder or any BERT encoder (e.g. all-MiniLM-L6-v2)")
    model.add_argument("--passage-model", metavar="PATH_OR_ID", help="DPR context encoder (default: --question-model)")
    model.add_argument("--shared", action="store_true", help="one encoder for questions and passages")
    model.add_argument("--pooling", default="cls", choices=["cls", "mean"], help="non-DPR encoders (default cls)")
    model.add_argument("--normalize", action="store_true", help="L2-normalise the vectors (MiniLM)")
    model.add_argument("--similarity", default="dot", choices=["dot", "cosine"], help="default dot, as DPR")
    model.add_argument("--temperature", type=float, default=1.0, help="scores are divided by it (MiniLM: 0.05)")
    model.add_argument("--freeze-passage-encoder", action="store_true",
                       help="train the question encoder only: the passage vectors do not change")
    model.add_argument("--save-format", default="auto", choices=["auto", "dpr", "native"])
    batches = parser.add_argument_group("batches")
    batches.add_argument("--batch-size", type=int, default=16, help="questions per batch (default 16)")
    batches.add_argument("--hard-negatives", type=int, default=1, help="per question; 0 = in-batch only (default 1)")
    batches.add_argument("--chunk-size", type=int, metavar="N", help="gradient caching: encode N texts at a time")
    batches.add_argument("--max-seq-len-query", type=int, default=64)
    batches.add_argument("--max-seq-len-passage", type=int, default=256)
    validation = parser.add_argument_group("validation")
    validation.add_argument("--validation", default="average_rank", choices=["average_rank", "retrieval", "none"])
    validation.add_argument("--dev-corpus", metavar="FILE", help="passages JSONL re-embedded for --validation retrieval")
    validation.add_argument("--metric", help="dev metric that picks the best checkpoint (default mrr, or top_20)")
    loop = parser.add_argument_group("loop")
    loop.add_argument("--learning-rate", type=float, default=2e-5)
    loop.add_argument("--weight-decay", type=float, default=0.0)
    loop.add_argument("--warmup-steps", type=int, default=0)
    loop.add_argument("--max-grad-norm", type=float, default=2.0, help="DPR's default 2.0")
    loop.add_argument("--accumulation", type=int, default=1)
    loop.add_argument("--epochs", type=int, metavar="N")
    loop.add_argument("--max-steps", type=int, metavar="N")
    loop.add_argument("--max-minutes", type=float, metavar="M")
    loop.add_argument("--eval-every", type=int, default=0, metavar="STEPS", help="default: at the end only")
    loop.add_argument("--seed", type=int, default=42)
    loop.add_argument("--device", default="auto")
    loop.add_argument("--num-threads", type=int, metavar="N",
                      help="torch CPU threads (on a CPU busy with other jobs, 1 thread was ~15x faster than 2)")
    loop.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    loop.add_argument("--no-resume", action="store_true", help="start over instead of resuming <output>.work")
    loop.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    loop.add_argument("--no-progress", action="store_true")
    parser.add_argument("--json", action="store_true", help="print JSON for programs instead of text")
    parser.set_defaults(run=run_command)
    return parser


def run_command(args: argparse.Namespace) -> int:
    from dpr_components.cli.output import to_json

    summary = run(args)
    print(to_json(summary) if args.json else describe(summary))
    return 0


def run(args: argparse.Namespace) -> Dict[str, Any]:
    from dpr_components.training.loop import TrainingConfig
    from dpr_components.training.retriever_training import RetrieverTrainingConfig, train_retriever
    from dpr_components.utils.models import set_num_threads

    set_num_threads(args.num_threads)

    settings = RetrieverTrainingConfig(
        train_file=args.train, dev_file=args.dev, question_model=args.question_model,
        passage_model=args.passage_model, shared=args.shared, pooling=args.pooling, normalize=args.normalize,
        similarity=args.similarity, temperature=args.temperature, batch_size=args.batch_size,
        hard_negatives=args.hard_negatives, chunk_size=args.chunk_size, max_seq_len_query=args.max_seq_len_query,
        max_seq_len_passage=args.max_seq_len_passage, validation=args.validation, dev_corpus=args.dev_corpus,
        save_format=args.save_format, freeze_passage_encoder=args.freeze_passage_encoder)
    loop = TrainingConfig(
        output_dir=args.output, learning_rate=args.learning_rate, weight_decay=args.weight_decay,
        warmup_steps=args.warmup_steps, max_grad_norm=args.max_grad_norm, accumulation=args.accumulation,
        num_epochs=args.epochs, max_steps=args.max_steps, max_minutes=args.max_minutes, eval_every=args.eval_every,
        metric=args.metric, seed=args.seed, device=args.device, precision=args.precision, resume=not args.no_resume,
        overwrite=args.overwrite, show_progress=not (args.no_progress or args.json))
    result = train_retriever(settings, loop)
    return {"output": str(result.output_dir), "steps": result.steps, "stopped_by": result.stopped_by,
            "best_metrics": result.best_metrics, "device": result.device, "precision": result.precision,
            "seconds": round(result.seconds, 1), "retriever_params": retriever_params(result.output_dir)}


def describe(summary: Dict[str, Any]) -> str:
    params: List[str] = [f"--param Retriever.{key}={value}" for key, value in summary["retriever_params"].items()]
    best = ", ".join(f"{k}={v:.4g}" for k, v in summary["best_metrics"].items() if isinstance(v, float))
    return (f"Trained {summary['steps']} steps ({summary['stopped_by']}, {summary['seconds']} s on "
            f"{summary['device']}, {summary['precision']}). Best dev: {best or 'no dev set'}.\n"
            f"Wrote {summary['output']}. Use it (re-embed the store once with --reembed):\n  "
            + " \\\n  ".join(params))

"""``dpr-components build-training-data``, ``cloze-questions``, ``train-reader`` and ``average-readers``: thin shells
over :mod:`dpr_components.training`.

Usage::

    dpr-components build-training-data --questions pyserini:nq-dev --store my_store \\
        --pipeline hybrid_retrieval --top-k 20 --output nq-dev-train.jsonl --exclude mini/dev.jsonl
    dpr-components train-reader --train nq-dev-train.jsonl --init-model $MINILM --output my_reader \\
        --max-minutes 10 --passages-per-question 8
    dpr-components average-readers my_reader other_run_of_it --output my_soup
    dpr-components ask "who wrote animal farm?" --pipeline hybrid_qa --store my_store \\
        --param Reader.model_name_or_path=my_reader
"""
import argparse
from typing import Any, Dict

from dpr_components.cli.options import pipeline_options, progress


def register(commands: argparse._SubParsersAction) -> None:
    build = commands.add_parser("build-training-data", parents=[pipeline_options("hybrid_retrieval")],
                                help="DPR-format training data: retrieve passages for questions, label by has_answer")
    build.add_argument("--questions", required=True, action="append", metavar="FILE",
                       help="question file (.jsonl, DPR .tsv/.csv) or pyserini:NAME; repeatable")
    build.add_argument("--output", required=True, metavar="FILE", help=".jsonl or .json (a list), written atomically")
    build.add_argument("--corpus", metavar="FILE",
                       help="label against BM25 over this corpus's 100-word passages, held in memory, instead of "
                       "a store's pipeline (any format `index` reads; no index or encoder needed)")
    build.add_argument("--top-k", type=int, default=20, metavar="K", help="passages retrieved per question (20)")
    build.add_argument("--exclude", action="append", default=[], metavar="FILE",
                       help="leave out the questions of this file (e.g. your evaluation's dev set); repeatable")
    build.add_argument("--limit", type=int, metavar="N", help="only the first N questions")
    build.add_argument("--max-positives", type=int, metavar="N",
                       help="keep only the N highest-ranked positive passages (DPR's max_positives; default: all)")
    build.add_argument("--no-progress", action="store_true")
    build.set_defaults(run=run_build)

    cloze = commands.add_parser("cloze-questions", help="synthetic cloze questions from a corpus's passages "
                                                        "(in-domain reader training data; label them with build-training-data)")
    cloze.add_argument("--corpus", required=True, metavar="FILE",
                       help="documents in any format `index` reads, cut into 100-word passages as `index` cuts them")
    cloze.add_argument("--output", required=True, metavar="FILE", help="question file (.jsonl), written atomically")
    cloze.add_argument("--per-passage", type=int, default=3, metavar="N", help="questions per passage (3)")
    cloze.add_argument("--seed", type=int, default=0)
    cloze.set_defaults(run=run_cloze)

    train = commands.add_parser("train-reader", help="train DPR's reader (DPRReader) on DPR-format JSON")
    train.add_argument("--train", required=True, action="append", metavar="FILE", help=".json/.jsonl; repeatable")
    train.add_argument("--dev", metavar="FILE", help="dev examples: EM every --eval-every steps keeps the best")
    train.add_argument("--init-model", required=True, metavar="PATH",
                       help="a reader (DPRReader, train-reader output) or an encoder AutoModel loads (MiniLM, MPNet)")
    train.add_argument("--output", required=True, metavar="DIR", help="where the reader checkpoint goes")
    for flag, kind, default, text in (
            ("--passages-per-question", int, 24, "M passages per question: 1 positive + M-1 negatives (24)"),
            ("--questions-per-batch", int, 2, "questions per micro-batch (2)"),
            ("--max-seq-len", int, 256, "tokens per window (256)"),
            ("--learning-rate", float, 1e-5, "AdamW learning rate (1e-5)"),
            ("--warmup-steps", int, 0, "linear warm-up steps (0)"),
            ("--accumulation", int, 1, "micro-batches per optimizer step (1)"),
            ("--max-grad-norm", float, 1.0, "gradient clipping (1.0; 0 disables)"),
            ("--epochs", int, None, "passes over the data (default 1 unless --max-steps)"),
            ("--max-steps", int, None, "stop after N optimizer steps"),
            ("--max-minutes", float, None, "stop after this much wall time"),
            ("--eval-every", int, 0, "dev evaluation every N steps (0: at the end only)"),
            ("--checkpoint-every", int, 100, "resumable checkpoint every N steps (100)"),
            ("--seed", int, 42, "random seed (42)"),
            ("--num-threads", int, None, "torch CPU threads (default: torch's; 1 is faster on a busy CPU)")):
        train.add_argument(flag, type=kind, default=default, help=text)
    train.add_argument("--span-loss", choices=["mml", "mean"], default="mml",
                       help="mml: marginal likelihood of all answer spans (DPR paper); mean: DPR's released code")
    train.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    train.add_argument("--precision", default="auto", help="auto (bf16 where native) | fp32 | bf16")
    train.add_argument("--no-resume", action="store_true", help="ignore a checkpoint left by an earlier run")
    train.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    train.add_argument("--no-progress", action="store_true")
    train.set_defaults(run=run_train)

    soup = commands.add_parser("average-readers", help="a 'model soup': the uniform weight average of reader "
                                                       "checkpoints fine-tuned from the same start")
    soup.add_argument("readers", nargs="+", metavar="DIR", help="DPRReader checkpoints (two or more)")
    soup.add_argument("--output", required=True, metavar="DIR", help="where the averaged checkpoint goes")
    soup.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    soup.set_defaults(run=run_average)


def run_build(args: argparse.Namespace) -> int:
    from dpr_components.cli.output import to_json
    from dpr_components.training.build_data import build_training_data

    stats = build_training_data(args.questions, args.output, args.pipeline, args.store, args.param, args.top_k,
                                args.exclude, args.limit, args.pipeline_name, args.max_positives,
                                progress_bar=progress(args), corpus=args.corpus)
    print(to_json(vars(stats)) if args.json else f"{stats.describe()} Wrote {args.output}.")
    return 0


def run_cloze(args: argparse.Namespace) -> int:
    from dpr_components.training.cloze import write_cloze_questions

    count = write_cloze_questions(args.corpus, args.output, args.per_passage, args.seed)
    print(f"Wrote {count} cloze questions to {args.output}.")
    return 0


def run_train(args: argparse.Namespace) -> int:
    from dpr_components.cli.output import to_json
    from dpr_components.training.loop import TrainingConfig
    from dpr_components.training.reader import ReaderSettings, train_reader

    settings = ReaderSettings(passages_per_question=args.passages_per_question,
                              questions_per_batch=args.questions_per_batch, max_seq_len=args.max_seq_len,
                              span_loss=args.span_loss, seed=args.seed)
    config = TrainingConfig(output_dir=args.output, learning_rate=args.learning_rate, warmup_steps=args.warmup_steps,
                            accumulation=args.accumulation, max_grad_norm=args.max_grad_norm, num_epochs=args.epochs,
                            max_steps=args.max_steps, max_minutes=args.max_minutes, eval_every=args.eval_every,
                            checkpoint_every=args.checkpoint_every, seed=args.seed, device=args.device,
                            precision=args.precision, num_threads=args.num_threads, resume=not args.no_resume,
                            overwrite=args.overwrite,
                            show_progress=not args.no_progress)
    result = train_reader(args.train, args.init_model, config, dev=args.dev, settings=settings)
    summary: Dict[str, Any] = {"output": str(result.output_dir), "steps": result.steps, "stopped_by": result.stopped_by,
                               "device": result.device, "precision": result.precision,
                               "minutes": round(result.seconds / 60, 2), "best_dev": result.best_metrics}
    print(to_json(summary))
    return 0


def run_average(args: argparse.Namespace) -> int:
    from dpr_components.training.soup import average_readers

    output = average_readers(args.readers, args.output, overwrite=args.overwrite)
    print(f"Wrote the average of {len(args.readers)} readers to {output}.")
    return 0

"""``dpr-components build-training-data``, ``cloze-questions``, ``train-reader`` and ``average-readers``: thin shells
over :mod:`dpr_components.training`.

Usage::

    dpr-components build-training-data --questions pyserini:nq-dev --store my_store \\
        --pipeline hybrid_retrieval --top-k 20 --output nq-dev-train.jsonl --exclude mini/dev.jsonl
    dpr-components train-reader --train nq-dev-train.jsonl --init-model $MINILM --output my_reader \\
        --max-steps 600 --passages-per-question 8
    dpr-components average-readers my_reader other_run_of_it --output my_soup
    dpr-components ask "who wrote animal farm?" --pipeline hybrid_qa --store my_store \\
        --param Reader.model_name_or_path=my_reader
"""
import argparse
from typing import Any, Dict

from dpr_components.cli.options import pipeline_options, progress
from dpr_components.training.settings import ReaderSettings, TrainingConfig
from dpr_components.utils.settings import add_options, read_options


def register(commands: argparse._SubParsersAction) -> None:
    from dpr_components.cli.output import output_options

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

    cloze = commands.add_parser("cloze-questions", parents=[output_options()],
                                help="synthetic cloze questions from a corpus's passages (in-domain reader training "
                                "data; label them with build-training-data)")
    cloze.add_argument("--corpus", required=True, metavar="FILE",
                       help="documents in any format `index` reads, cut into 100-word passages as `index` cuts them")
    cloze.add_argument("--output", required=True, metavar="FILE", help="question file (.jsonl), written atomically")
    cloze.add_argument("--per-passage", type=int, default=3, metavar="N", help="questions per passage (3)")
    cloze.add_argument("--seed", type=int, default=0)
    cloze.set_defaults(run=run_cloze)

    train = commands.add_parser("train-reader", parents=[output_options()],
                                help="train DPR's reader (DPRReader) on DPR-format JSON")
    data = train.add_argument_group("data")
    data.add_argument("--train", required=True, action="append", metavar="FILE", help=".json/.jsonl; repeatable")
    data.add_argument("--dev", metavar="FILE", help="dev examples: EM every --eval-every steps keeps the best")
    data.add_argument("--init-model", required=True, metavar="PATH",
                      help="a reader (DPRReader, train-reader output) or an encoder AutoModel loads (MiniLM, MPNet)")
    add_options(train.add_argument_group("reader"), ReaderSettings)
    add_options(train.add_argument_group("loop"), TrainingConfig)
    train.set_defaults(run=run_train)

    soup = commands.add_parser("average-readers", parents=[output_options()],
                               help="a 'model soup': the uniform weight average of reader checkpoints fine-tuned "
                               "from the same start")
    soup.add_argument("readers", nargs="+", metavar="DIR", help="DPRReader checkpoints (two or more)")
    soup.add_argument("--output", required=True, metavar="DIR", help="where the averaged checkpoint goes")
    soup.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    soup.set_defaults(run=run_average)


def run_build(args: argparse.Namespace) -> int:
    from dpr_components.cli.output import emit
    from dpr_components.training.build_data import build_training_data

    stats = build_training_data(args.questions, args.output, args.pipeline, args.store, args.param, args.top_k,
                                args.exclude, args.limit, args.pipeline_name, args.max_positives,
                                progress_bar=progress(args), corpus=args.corpus)
    emit(args, {**vars(stats), "output": args.output}, f"{stats.describe()} Wrote {args.output}.")
    return 0


def run_cloze(args: argparse.Namespace) -> int:
    from dpr_components.cli.output import emit
    from dpr_components.training.cloze import write_cloze_questions

    count = write_cloze_questions(args.corpus, args.output, args.per_passage, args.seed)
    emit(args, {"questions": count, "output": args.output}, f"Wrote {count} cloze questions to {args.output}.")
    return 0


def run_train(args: argparse.Namespace) -> int:
    from dpr_components.cli.output import emit
    from dpr_components.training.reader import train_reader

    config = read_options(TrainingConfig, args, show_progress=progress(args))
    settings = read_options(ReaderSettings, args)
    result = train_reader(args.train, args.init_model, config, dev=args.dev, settings=settings)
    summary = training_summary(result)
    emit(args, summary, describe_training(summary))
    return 0


def training_summary(result: Any) -> Dict[str, Any]:
    """What a finished training reports (a :class:`~dpr_components.training.loop.TrainingResult`), as plain data."""
    return {"output": str(result.output_dir), "steps": result.steps, "planned_steps": result.planned_steps,
            "stopped_by": result.stopped_by, "device": result.device, "precision": result.precision,
            "seconds": round(result.seconds, 1), "best_dev": result.best_metrics}


def describe_training(summary: Dict[str, Any]) -> str:
    """``training_summary`` for people: steps, why it stopped, time, best dev metrics, where the model is."""
    best = {k: v for k, v in summary["best_dev"].items() if k != "step"}
    dev = (", ".join(f"{k}={v:.4g}" for k, v in best.items()) + f" at step {int(summary['best_dev']['step'])}"
           if best else "no dev set")
    return (f"Trained {summary['steps']} of {summary['planned_steps']} planned steps (stopped by "
            f"{summary['stopped_by']}; {summary['seconds']} s on {summary['device']}, {summary['precision']}). "
            f"Best dev: {dev}. Wrote {summary['output']}.")


def run_average(args: argparse.Namespace) -> int:
    from dpr_components.cli.output import emit
    from dpr_components.training.soup import average_readers

    output = average_readers(args.readers, args.output, overwrite=args.overwrite)
    emit(args, {"output": str(output), "inputs": args.readers},
         f"Wrote the average of {len(args.readers)} readers to {output}.")
    return 0

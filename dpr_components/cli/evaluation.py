"""``dpr-components eval`` and ``sweep``: arguments and printing; the work is :meth:`Workspace.evaluate` and
:meth:`Workspace.sweep` on the store opened read-only."""
import argparse

from dpr_components.cli.options import (
    parse_floats,
    pipeline_options,
    progress,
    question_set_options,
    read_config,
    split_list,
)


def register(commands: argparse._SubParsersAction) -> None:
    evaluate = commands.add_parser("eval", parents=[pipeline_options("dense_retrieval")],
                                   help="top-k accuracy, MRR (and EM/F1 with a reader) on a question set")
    question_set_options(evaluate)
    evaluate.add_argument("--top-k", type=int, metavar="K",
                          help="results of the output node (default: 100 for retrieval pipelines)")
    evaluate.add_argument("--name", help="run name in tables and plots (default: the pipeline's file name)")
    evaluate.add_argument("--output", metavar="FILE.jsonl", help="write one JSON line per question")
    evaluate.add_argument("--compare", action="append", default=[], metavar="RUN.jsonl",
                          help="add a run written by --output to the table and plot (repeatable)")
    evaluate.add_argument("--plot", metavar="FILE.png", help="save an accuracy-vs-k plot")
    evaluate.add_argument("--batch-size", type=int, default=32, metavar="N", help="questions per batch")
    evaluate.set_defaults(run=run_eval)

    sweep = commands.add_parser("sweep", parents=[pipeline_options("hybrid_retrieval")],
                                help="tune the pipeline's HybridFusion on (dev) questions")
    question_set_options(sweep)
    sweep.add_argument("--depth", type=int, default=100, metavar="K", help="passages per source (default 100)")
    sweep.add_argument("--modes", default="linear,rrf,dbsf", help="comma-separated (default linear,rrf,dbsf)")
    sweep.add_argument("--alphas", metavar="A,B,...", help="weights tried for one source (default: a grid 0.1-3)")
    sweep.add_argument("--alpha-source", type=int, default=0, metavar="I",
                       help="index of the source the alpha weighs (default 0: the first, e.g. BM25)")
    sweep.add_argument("--normalizations", default="none,centered,minmax,zscore", help="for linear mode")
    sweep.add_argument("--metric", default="top_20", help="what the best setting maximises (default top_20)")
    sweep.add_argument("--rows", type=int, default=15, metavar="N", help="fused settings printed (default 15)")
    sweep.set_defaults(run=run_sweep)


def run_eval(args: argparse.Namespace) -> int:
    from dpr_components.cli.output import emit
    from dpr_components.evaluation import EvaluationResult, plot_accuracy_vs_k, results_table
    from dpr_components.workspace import Workspace

    compared = [EvaluationResult.read_jsonl(path) for path in args.compare]  # bad files fail before models load
    config = read_config(args)
    with Workspace.for_pipeline(config, read_only=True) as workspace:
        result = workspace.evaluate(args.questions, config, top_k=args.top_k, name=args.name, output=args.output,
                                    batch_size=args.batch_size, limit=args.limit, match=args.match,
                                    progress_bar=progress(args))
    runs = [result] + compared
    if args.plot:
        plot_accuracy_vs_k(runs, args.plot)
    written = "".join(f"\nWrote {path}" for path in filter(None, [args.output, args.plot]))
    emit(args, [run.summary() for run in runs], lambda: results_table(runs) + written)
    return 0


def run_sweep(args: argparse.Namespace) -> int:
    from dpr_components.cli.output import emit
    from dpr_components.utils.validation import positive_int
    from dpr_components.workspace import Workspace

    alphas = parse_floats("--alphas", args.alphas)
    rows = positive_int("--rows", args.rows)
    config = read_config(args)
    with Workspace.for_pipeline(config, read_only=True) as workspace:
        report = workspace.sweep(args.questions, config, depth=args.depth, modes=split_list(args.modes),
                                 alphas=alphas, normalizations=split_list(args.normalizations),
                                 alpha_source=args.alpha_source, metric=args.metric, limit=args.limit,
                                 match=args.match, progress_bar=progress(args))
    emit(args, {key: value for key, value in report.items() if key != "table"}, lambda: sweep_text(report, rows))
    return 0


def sweep_text(report: dict, rows: int) -> str:
    """The sweep for people: each source alone, the best ``rows`` fused settings, and how to apply the best."""
    table = report["table"].splitlines()
    shown = 1 + len(report["sources"]) + rows  # header, each source alone, the best fused settings
    best = report["best"]
    return "\n".join([
        f"{report['questions']} questions, top {report['depth']} of each source ({', '.join(report['sources'])}); "
        f"fused settings sorted by {report['metric']}:",
        "\n".join(table[:shown]) + (f"\n... ({len(table) - shown} more rows)" if len(table) > shown else ""),
        f"\nBest {report['metric']}: {best['setting']}. Apply it with:",
        "  " + " ".join(f"--param '{param}'" for param in best["params"])])

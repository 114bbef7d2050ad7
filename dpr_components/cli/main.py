"""The ``dpr-components`` command line (also ``python -m dpr_components``).

Usage::

    dpr-components index corpus.jsonl --store my_store
    dpr-components retrieve "who wrote animal farm?" --store my_store --top-k 3
    dpr-components ask "who wrote animal farm?" --pipeline hybrid_qa --store my_store --json
    dpr-components demo

    # any model, any parameter, without editing the YAML:
    dpr-components retrieve "..." --param Retriever.query_embedding_model=/models/qenc \\
                                  --param Retriever.passage_embedding_model=/models/cenc

In Python: ``from dpr_components.cli.main import main; main(["retrieve", "...", "--json"])`` returns the exit
status (0 ok, 1 unexpected failure, 2 a problem with the input or configuration, 130 interrupted).
"""
import argparse
import json
import logging
import os
import sys
from typing import List, Optional, Sequence

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _pipeline_options(default_pipeline: str) -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("pipeline")
    group.add_argument("--pipeline", default=default_pipeline, metavar="FILE",
                       help=f"YAML file or bundled pipeline name (default: {default_pipeline})")
    group.add_argument("--pipeline-name", metavar="NAME", help="which pipeline of a YAML that defines several")
    group.add_argument("--store", metavar="DIR", help="HybridDocumentStore directory (sets its `path` param)")
    group.add_argument("--param", "-p", action="append", default=[], metavar="COMPONENT.PARAM=VALUE",
                       help="override a component parameter (repeatable); VALUE is read as YAML")
    group.add_argument("--json", action="store_true", help="print JSON for programs instead of text")
    return options


def build_parser() -> argparse.ArgumentParser:
    from dpr_components.cli.pipeline_config import bundled_pipelines

    parser = argparse.ArgumentParser(
        prog="dpr-components",
        description="Dense Passage Retrieval pipelines (Haystack 1.x nodes) from the command line.",
        epilog="Environment variables <COMPONENT>_PARAMS_<PARAM> (e.g. RETRIEVER_PARAMS_TOP_K=5) also override "
        f"parameters; --param wins over them. Bundled pipelines: {', '.join(bundled_pipelines())}.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and library logs")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    index = commands.add_parser("index", parents=[_pipeline_options("indexing")],
                                help="split, embed and store a corpus (re-running skips what is stored)")
    index.add_argument("corpus", help="a corpus file (.tsv DPR passages, .jsonl, .txt, .md) or a directory")
    index.add_argument("--format", default="auto", choices=["auto", "dpr_tsv", "jsonl", "text", "markdown"])
    index.add_argument("--batch-passages", type=int, default=256, metavar="N",
                       help="documents are fed to the pipeline in groups of about N passages (default 256)")
    index.add_argument("--no-progress", action="store_true", help="no progress bar")
    index.add_argument("--reembed", action="store_true",
                       help="first re-embed every stored passage with the pipeline's (new) passage encoder")

    for name, default, text in (("retrieve", "dense_retrieval", "top passages for questions"),
                                ("ask", "dense_qa", "answers for questions, with their source passages")):
        command = commands.add_parser(name, parents=[_pipeline_options(default)], help=text)
        command.add_argument("questions", nargs="*", metavar="QUESTION")
        command.add_argument("--questions-file", metavar="FILE", help="one question a line")
        command.add_argument("--top-k", type=int, metavar="K", help="results per question from the output node")
        command.add_argument("--filters", metavar="JSON", help='Haystack filters, e.g. \'{"name": ["Paris"]}\'')

    evaluate = commands.add_parser("eval", parents=[_pipeline_options("dense_retrieval")],
                                   help="top-k accuracy, MRR (and EM/F1 with a reader) on a question set")
    _question_set_options(evaluate)
    evaluate.add_argument("--top-k", type=int, metavar="K",
                          help="results of the output node (default: 100 for retrieval pipelines)")
    evaluate.add_argument("--name", help="run name in tables and plots (default: the pipeline's file name)")
    evaluate.add_argument("--output", metavar="FILE.jsonl", help="write one JSON line per question")
    evaluate.add_argument("--compare", action="append", default=[], metavar="RUN.jsonl",
                          help="add a run written by --output to the table and plot (repeatable)")
    evaluate.add_argument("--plot", metavar="FILE.png", help="save an accuracy-vs-k plot")
    evaluate.add_argument("--batch-size", type=int, default=32, metavar="N", help="questions per batch")

    sweep = commands.add_parser("sweep", parents=[_pipeline_options("hybrid_retrieval")],
                                help="tune the pipeline's HybridFusion on (dev) questions")
    _question_set_options(sweep)
    sweep.add_argument("--depth", type=int, default=100, metavar="K", help="passages per source (default 100)")
    sweep.add_argument("--modes", default="linear,rrf,dbsf", help="comma-separated (default linear,rrf,dbsf)")
    sweep.add_argument("--alphas", metavar="A,B,...", help="weights tried for one source (default: a grid 0.1-3)")
    sweep.add_argument("--alpha-source", type=int, default=0, metavar="I",
                       help="index of the source the alpha weighs (default 0: the first, e.g. BM25)")
    sweep.add_argument("--normalizations", default="none,centered,minmax,zscore", help="for linear mode")
    sweep.add_argument("--metric", default="top_20", help="what the best setting maximises (default top_20)")
    sweep.add_argument("--rows", type=int, default=15, metavar="N", help="fused settings printed (default 15)")

    from dpr_components.cli import train_retriever

    train_retriever.add_parser(commands)

    demo = commands.add_parser("demo", help="the offline demo: Wikipedia sample, MiniLM + BM25, hybrid QA")
    demo.add_argument("--store", default="demo_store", metavar="DIR", help="demo cache directory (default demo_store)")
    demo.add_argument("--question", action="append", metavar="Q", help="ask this instead of the sample questions")
    demo.add_argument("--reader-model", metavar="PATH_OR_ID", help="DPR reader checkpoint (default: the YAML's)")
    demo.add_argument("--top-k", type=int, default=3, metavar="K", help="passages shown per question (default 3)")
    demo.add_argument("--rebuild", action="store_true", help="delete the cached demo store first")
    return parser


def _question_set_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--questions", required=True, metavar="FILE",
                         help="DPR qas .tsv/.csv, .jsonl ({question, answers}) or pyserini:NAME (e.g. pyserini:nq-dev)")
    command.add_argument("--limit", type=int, metavar="N", help="only the first N questions")
    command.add_argument("--no-progress", action="store_true", help="no progress bar")


def _configure_logging(debug: bool) -> None:
    logging.basicConfig(level=logging.INFO if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not debug:
        for noisy in ("haystack", "transformers", "sentence_transformers", "faiss", "bm25s"):
            logging.getLogger(noisy).setLevel(logging.ERROR)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _questions(args: argparse.Namespace) -> List[str]:
    questions = list(args.questions)
    if args.questions_file:
        with open(args.questions_file, encoding="utf-8") as stream:
            questions += [line.strip() for line in stream if line.strip()]
    return questions


def _prepare_models(args: argparse.Namespace) -> None:
    """Fail fast instead of retrying an unreachable model hub (see dpr_components.cli.hub)."""
    from dpr_components.cli.hub import go_offline_if_unreachable, model_ids
    from dpr_components.cli.pipeline_config import component_params

    go_offline_if_unreachable(model_ids(component_params(args.pipeline, params=args.param, store=args.store)))


def run_command(args: argparse.Namespace) -> int:
    from dpr_components.cli.output import format_result, to_json

    if args.command == "demo":
        from dpr_components.cli.demo import run_demo

        return run_demo(store_dir=args.store, questions=args.question, reader_model=args.reader_model,
                        top_k=args.top_k, rebuild=args.rebuild)
    if args.command == "train-retriever":
        from dpr_components.cli import train_retriever

        summary = train_retriever.run(args)
        print(to_json(summary) if args.json else train_retriever.describe(summary))
        return EXIT_OK
    _prepare_models(args)
    if args.command == "index":
        from dpr_components.cli.indexing import describe, index_corpus

        summary = index_corpus(args.corpus, pipeline=args.pipeline, store=args.store, params=args.param,
                               corpus_format=args.format, batch_passages=args.batch_passages,
                               pipeline_name=args.pipeline_name, progress_bar=not (args.no_progress or args.json),
                               reembed=args.reembed)
        print(to_json(summary) if args.json else describe(summary))
        return EXIT_OK
    if args.command == "eval":
        return _evaluate(args)
    if args.command == "sweep":
        return _sweep(args)
    from dpr_components.cli.querying import run_queries
    from dpr_components.errors import ConfigurationError

    try:
        filters = json.loads(args.filters) if args.filters else None
    except json.JSONDecodeError as error:
        raise ConfigurationError(f"--filters is not valid JSON ({error.msg}); e.g. --filters '{{\"name\": [\"Paris\"]}}'.")
    results = run_queries(_questions(args), pipeline=args.pipeline, store=args.store, params=args.param,
                          top_k=args.top_k, filters=filters, pipeline_name=args.pipeline_name)
    print(to_json(results) if args.json else "\n\n".join(format_result(result) for result in results))
    return EXIT_OK


def _evaluate(args: argparse.Namespace) -> int:
    from dpr_components.cli.evaluation import evaluate
    from dpr_components.cli.output import to_json
    from dpr_components.evaluation import EvaluationResult, plot_accuracy_vs_k, results_table

    result = evaluate(args.pipeline, args.questions, store=args.store, params=args.param, top_k=args.top_k,
                      name=args.name, output=args.output, batch_size=args.batch_size, limit=args.limit,
                      pipeline_name=args.pipeline_name, progress_bar=not (args.no_progress or args.json))
    runs = [result] + [EvaluationResult.read_jsonl(path) for path in args.compare]
    if args.plot:
        plot_accuracy_vs_k(runs, args.plot)
    if args.json:
        print(to_json([run.summary() for run in runs]))
    else:
        print(results_table(runs))
        for path in filter(None, [args.output, args.plot]):
            print(f"Wrote {path}")
    return EXIT_OK


def _sweep(args: argparse.Namespace) -> int:
    from dpr_components.cli.evaluation import sweep_fusion
    from dpr_components.cli.output import to_json

    split = lambda text: [item.strip() for item in text.split(",") if item.strip()]  # noqa: E731
    alphas = [float(alpha) for alpha in split(args.alphas)] if args.alphas else None
    report = sweep_fusion(args.pipeline, args.questions, store=args.store, params=args.param, depth=args.depth,
                          modes=split(args.modes), alphas=alphas, normalizations=split(args.normalizations),
                          alpha_source=args.alpha_source, metric=args.metric, limit=args.limit,
                          pipeline_name=args.pipeline_name, progress_bar=not (args.no_progress or args.json))
    if args.json:
        print(to_json({key: value for key, value in report.items() if key != "table"}))
        return EXIT_OK
    table = report["table"].splitlines()
    shown = 1 + len(report["sources"]) + args.rows  # header, each source alone, the best fused settings
    print(f"{report['questions']} questions, top {report['depth']} of each source ({', '.join(report['sources'])}); "
          f"fused settings sorted by {report['metric']}:")
    print("\n".join(table[:shown]) + (f"\n... ({len(table) - shown} more rows)" if len(table) > shown else ""))
    best = report["best"]
    print(f"\nBest {report['metric']}: {best['setting']}. Apply it with:")
    print("  " + " ".join(f"--param '{param}'" for param in best["params"]))
    return EXIT_OK


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the CLI; returns the exit status instead of exiting (``sys.exit(main())`` does that)."""
    args = build_parser().parse_args(argv)
    _configure_logging(args.debug)
    try:
        return run_command(args)
    except KeyboardInterrupt:
        print("Interrupted. What was stored is kept; re-run the same command to continue.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # one clear line for the errors people meet; tracebacks with --debug
        if args.debug:
            raise
        from dpr_components.cli.errors import explain

        message = explain(error)
        if message is None:
            print(f"error: unexpected {type(error).__name__}: {error} (re-run with --debug for the traceback)",
                  file=sys.stderr)
            return EXIT_FAILURE
        print(f"error: {message}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())

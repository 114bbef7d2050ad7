"""``dpr-components index``: arguments and printing; the work is :func:`dpr_components.pipelines.index_corpus`."""
import argparse

from dpr_components.cli.options import pipeline_options, progress, read_config


def register(commands: argparse._SubParsersAction) -> None:
    index = commands.add_parser("index", parents=[pipeline_options("indexing")],
                                help="split, embed and store a corpus (re-running skips what is stored)")
    index.add_argument("corpus", help="a corpus file (.tsv DPR passages, .jsonl, .txt, .md) or a directory")
    index.add_argument("--format", default="auto", choices=["auto", "dpr_tsv", "jsonl", "text", "markdown"])
    index.add_argument("--batch-passages", type=int, default=256, metavar="N",
                       help="documents are fed to the pipeline in groups of about N passages (default 256)")
    index.add_argument("--no-progress", action="store_true", help="no progress bar")
    index.set_defaults(run=run_index)


def run_index(args: argparse.Namespace) -> int:
    from dpr_components.cli.output import to_json
    from dpr_components.pipelines import describe, index_corpus

    summary = index_corpus(args.corpus, pipeline=read_config(args), corpus_format=args.format,
                           batch_passages=args.batch_passages, progress_bar=progress(args))
    print(to_json(summary) if args.json else describe(summary))
    return 0

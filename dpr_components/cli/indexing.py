"""``dpr-components index``: arguments and printing; the work is :meth:`Workspace.index`."""
import argparse

from dpr_components.cli.options import pipeline_options, progress, read_config


def register(commands: argparse._SubParsersAction) -> None:
    index = commands.add_parser("index", parents=[pipeline_options("indexing")],
                                help="split, embed and store a corpus (re-running skips what is stored unchanged)")
    index.add_argument("corpus", nargs="?", help="a corpus file (.tsv DPR passages, .jsonl, .txt, .md) or a directory")
    index.add_argument("--format", default="auto", choices=["auto", "dpr_tsv", "jsonl", "text", "markdown"])
    index.add_argument("--batch-passages", type=int, default=256, metavar="N",
                       help="documents are fed to the pipeline in groups of about N passages (default 256)")
    index.add_argument("--no-progress", action="store_true", help="no progress bar")
    index.add_argument("--reembed", action="store_true",
                       help="first re-embed every stored passage with the pipeline's (new) passage encoder")
    scale = index.add_argument_group("sharded / distributed encoding (docs/scaling.md)")
    scale.add_argument("--shard", metavar="I/N", help="encode only shard I (0-based) of N into --embeddings DIR")
    scale.add_argument("--embeddings", metavar="DIR", help="shard files: written by --shard/--ray; without a "
                       "corpus, all of DIR is checked and loaded into the store")
    scale.add_argument("--ray", metavar="ADDRESS", help='encode the shards as Ray tasks ("auto", "local" or '
                       'ray://host:port; needs the [ray] extra)')
    scale.add_argument("--shards", type=int, metavar="N", help="shards of a --ray job (default 4 per worker)")
    scale.add_argument("--workers", type=int, metavar="N", help="concurrent Ray workers (default: GPUs, else CPUs)")
    index.set_defaults(run=run_index)


def run_index(args: argparse.Namespace) -> int:
    from dpr_components.cli.output import emit

    if args.shard or args.embeddings or args.ray:
        from dpr_components.cli.sharded_indexing import index_sharded

        summary, text = index_sharded(args)
        emit(args, summary, text)
        return 0
    if not args.corpus:
        from dpr_components.errors import ConfigurationError

        raise ConfigurationError("index needs a corpus (or --embeddings DIR to load embedding shard files).")
    from dpr_components.pipelines.indexing import describe
    from dpr_components.workspace import Workspace

    config = read_config(args)
    with Workspace.for_pipeline(config) as workspace:
        summary = workspace.index(args.corpus, config, corpus_format=args.format, batch_passages=args.batch_passages,
                                  progress_bar=progress(args), reembed=args.reembed)
    emit(args, summary, describe(summary))
    return 0

"""The ``dpr-components`` command line (also ``python -m dpr_components``): argparse and printing only.

Usage::

    dpr-components index corpus.jsonl --store my_store
    dpr-components retrieve "who wrote animal farm?" --store my_store --top-k 3
    dpr-components ask "who wrote animal farm?" --pipeline hybrid_qa --store my_store --json
    dpr-components demo

    # any model, any parameter, without editing the YAML:
    dpr-components index corpus.jsonl --store my_store --param Retriever.query_embedding_model=/models/qenc \\
                                                       --param Retriever.passage_embedding_model=/models/cenc
    # later commands on that store use the encoder it recorded: no --param needed

The work is done by :class:`dpr_components.workspace.Workspace` (the library Python users call). Each command
lives in
a module of ``COMMAND_MODULES`` whose ``register(commands)`` adds its sub-parser and sets ``run`` (a
function of the parsed arguments returning the exit status); add a command by adding its module there.

In Python: ``from dpr_components.cli.main import main; main(["retrieve", "...", "--json"])`` returns the exit
status (0 ok, 1 unexpected failure, 2 a problem with the input or configuration, 130 interrupted; ``--debug``
adds the traceback, not another status). Every command prints text for people, or one JSON document with
``--json`` (:mod:`dpr_components.cli.output`). Only argparse and the standard library are imported before a
command runs, so ``--help``, ``--version`` and argument errors answer at once.
"""
import argparse
import importlib
import logging
import os
import sys
import traceback
from typing import Optional, Sequence

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

# One module per command group, in the order `--help` lists them; each has `register(commands)`.
COMMAND_MODULES = (
    "dpr_components.cli.indexing",     # index
    "dpr_components.cli.querying",     # retrieve, ask
    "dpr_components.cli.evaluation",   # eval, sweep
    "dpr_components.cli.train_retriever",  # train-retriever
    "dpr_components.cli.training",     # build-training-data, cloze-questions, train-reader
    "dpr_components.cli.demo",         # demo
    "dpr_components.cli.models",       # fetch-model
    "dpr_components.cli.data",         # fetch-data
    "dpr_components.cli.store_commands",  # backup, restore
    "dpr_components.serving.cli",      # serve (FastAPI is imported only when it runs)
)


def build_parser() -> argparse.ArgumentParser:
    from dpr_components import __version__
    from dpr_components.pipelines.files import bundled_pipelines

    parser = argparse.ArgumentParser(
        prog="dpr-components",
        description="Dense Passage Retrieval pipelines (Haystack 1.x nodes) from the command line.",
        epilog="Environment variables <COMPONENT>_PARAMS_<PARAM> (e.g. RETRIEVER_PARAMS_TOP_K=5) also override "
        f"parameters; --param wins over them. Bundled pipelines: {', '.join(bundled_pipelines())}.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and library logs")
    parser.add_argument("--version", action="version", version=f"dpr-components {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(commands)
    return parser


def _configure_logging(debug: bool) -> None:
    logging.basicConfig(level=logging.INFO if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not debug:
        for noisy in ("haystack", "transformers", "sentence_transformers", "faiss", "bm25s"):
            logging.getLogger(noisy).setLevel(logging.ERROR)
        if sys.stderr.isatty():  # long steps (opening the store, loading models) say what they are doing
            steps = logging.getLogger("dpr_components.workspace")
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(message)s"))
            steps.addHandler(handler)
            steps.setLevel(logging.INFO)
            steps.propagate = False
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _quiet_broken_pipe() -> int:
    """``dpr-components ... | head``: the reader left; stop without a traceback (also at interpreter exit)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (e.g. captured in tests)
        pass
    return EXIT_OK


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the CLI; returns the exit status instead of exiting (``sys.exit(main())`` does that)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    _configure_logging(args.debug)
    try:
        status = args.run(args)
        sys.stdout.flush()  # a closed pipe shows up here, inside the handler below
        return status
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except KeyboardInterrupt:
        print("Interrupted. What was stored is kept; re-run the same command to continue.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # noqa: BLE001 -- one line for every error (tracebacks with --debug), exit 1 or 2
        from dpr_components.cli.errors import explain

        if args.debug:
            traceback.print_exc()
        message = explain(error, argv)
        if message is None:
            print(f"error: unexpected {type(error).__name__}: {error} (re-run with --debug for the traceback)",
                  file=sys.stderr)
            return EXIT_FAILURE
        print(f"error: {message}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())

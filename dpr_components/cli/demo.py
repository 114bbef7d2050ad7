"""``dpr-components demo``: argparse only; the demo itself is :mod:`dpr_components.demo.run`."""
import argparse

from dpr_components.cli.output import output_options


def register(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser("demo", parents=[output_options()],
                               help="the offline demo: Wikipedia sample, MiniLM + BM25, hybrid QA")
    demo.add_argument("--store", default="demo_store", metavar="DIR", help="demo cache directory (default demo_store)")
    demo.add_argument("--question", action="append", metavar="Q", help="ask this instead of the sample questions")
    demo.add_argument("--reader-model", metavar="PATH_OR_ID", help="DPR reader checkpoint (default: the YAML's)")
    demo.add_argument("--top-k", type=int, default=3, metavar="K", help="passages shown per question (default 3)")
    demo.add_argument("--rebuild", action="store_true", help="delete the cached demo store first")
    demo.add_argument("--param", "-p", action="append", default=[], metavar="COMPONENT.PARAM=VALUE",
                      help="override a hybrid_qa parameter, e.g. Reader.model_name_or_path=DIR (skips training)")
    demo.add_argument("--reader-minutes", type=float, metavar="MIN",
                      help="cap on the first run's reader training time (default: none; it trains its planned "
                      "steps, and says so when the cap cuts them short)")
    demo.set_defaults(run=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from dpr_components.cli.output import emit, for_people
    from dpr_components.demo.run import run_demo

    with for_people(args):  # the steps and answers; under --json on stderr
        report = run_demo(store_dir=args.store, questions=args.question, reader_model=args.reader_model,
                          top_k=args.top_k, rebuild=args.rebuild, params=args.param, reader_minutes=args.reader_minutes)
    if args.json:
        emit(args, report, "")
    return 0

"""``dpr-components retrieve`` and ``ask``: arguments and printing; the work is
:func:`dpr_components.pipelines.run_queries`."""
import argparse
from typing import List

from dpr_components.cli.options import parse_filters, pipeline_options, read_config


def register(commands: argparse._SubParsersAction) -> None:
    for name, default, text in (("retrieve", "dense_retrieval", "top passages for questions"),
                                ("ask", "dense_qa", "answers for questions, with their source passages")):
        command = commands.add_parser(name, parents=[pipeline_options(default)], help=text)
        command.add_argument("questions", nargs="*", metavar="QUESTION")
        command.add_argument("--questions-file", metavar="FILE",
                             help="one question a line, or a question set as eval reads it (.jsonl, DPR qas .tsv, "
                             "pyserini:NAME)")
        command.add_argument("--top-k", type=int, metavar="K", help="results per question from the output node")
        command.add_argument("--filters", metavar="JSON", help='Haystack filters, e.g. \'{"name": ["Paris"]}\'')
        command.add_argument("--batch-size", type=int, default=32, metavar="N", help="questions per batch (default 32)")
        command.set_defaults(run=run_questions)


def questions_of(args: argparse.Namespace) -> List[str]:
    from dpr_components.pipelines import read_question_texts

    return list(args.questions) + (read_question_texts(args.questions_file) if args.questions_file else [])


def run_questions(args: argparse.Namespace) -> int:
    from dpr_components.cli.output import format_result, to_json
    from dpr_components.pipelines import run_queries

    results = run_queries(read_config(args), questions_of(args), top_k=args.top_k, filters=parse_filters(args.filters),
                          batch_size=args.batch_size)
    print(to_json(results) if args.json else "\n\n".join(format_result(result) for result in results))
    return 0

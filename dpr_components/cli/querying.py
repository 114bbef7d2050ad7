"""``dpr-components retrieve`` and ``ask``: arguments and printing; the work is :meth:`Workspace.query` on the
store opened read-only."""
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
    from dpr_components.pipelines.querying import question_list, read_question_texts

    return question_list(list(args.questions) + (read_question_texts(args.questions_file) if args.questions_file
                                                 else []))


def run_questions(args: argparse.Namespace) -> int:
    from dpr_components.cli.output import emit
    from dpr_components.pipelines.results import format_result
    from dpr_components.workspace import Workspace

    config, questions, filters = read_config(args), questions_of(args), parse_filters(args.filters)
    with Workspace.for_pipeline(config, read_only=True) as workspace:
        results = workspace.query(questions, config, top_k=args.top_k, filters=filters, batch_size=args.batch_size)
    emit(args, results, lambda: "\n\n".join(format_result(result) for result in results))
    return 0

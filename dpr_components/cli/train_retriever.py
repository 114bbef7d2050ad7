"""``dpr-components train-retriever``: a thin shell over
:func:`dpr_components.training.retriever_training.train_retriever`.

Usage::

    dpr-components train-retriever --train train.jsonl --dev dev.jsonl --output out/minilm-dpr \\
        --question-model /models/all-MiniLM-L6-v2 --shared --pooling mean --normalize \\
        --similarity cosine --temperature 0.05 --batch-size 16 --hard-negatives 1 --max-steps 500

    # then re-embed a store with the new passage encoder and query it:
    dpr-components index corpus.jsonl --store my_store --reembed \\
        --param Retriever.query_embedding_model=out/minilm-dpr/encoder ...   (printed by this command)
"""
import argparse
from typing import Any, Dict, List

from dpr_components.cli.options import progress
from dpr_components.training.settings import RetrieverTrainingConfig, TrainingConfig
from dpr_components.utils.settings import add_options, read_options


def register(commands: Any) -> argparse.ArgumentParser:
    from dpr_components.cli.output import output_options

    parser = commands.add_parser("train-retriever", parents=[output_options()],
                                 help="train DPR's bi-encoder (in-batch + hard negatives)")
    add_options(parser.add_argument_group("retriever"), RetrieverTrainingConfig)
    add_options(parser.add_argument_group("loop"), TrainingConfig)
    parser.set_defaults(run=run_command)
    return parser


def run_command(args: argparse.Namespace) -> int:
    from dpr_components.cli.output import emit

    summary = run(args)
    emit(args, summary, describe(summary))
    return 0


def run(args: argparse.Namespace) -> Dict[str, Any]:
    from dpr_components.cli.training import training_summary
    from dpr_components.training.biencoder import retriever_params
    from dpr_components.training.retriever_training import train_retriever

    result = train_retriever(read_options(RetrieverTrainingConfig, args),
                             read_options(TrainingConfig, args, show_progress=progress(args)))
    return {**training_summary(result), "retriever_params": retriever_params(result.output_dir)}


def describe(summary: Dict[str, Any]) -> str:
    from dpr_components.cli.training import describe_training

    params: List[str] = [f"--param Retriever.{key}={value}" for key, value in summary["retriever_params"].items()]
    return (describe_training(summary) + " Use it (re-embed the store once with --reembed):\n  "
            + " \\\n  ".join(params))

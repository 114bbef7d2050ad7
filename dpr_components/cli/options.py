"""Options shared by several commands, and reading them into the library's inputs (config read once).

Usage (inside a command module)::

    command = commands.add_parser("retrieve", parents=[pipeline_options("dense_retrieval")])
    ...
    config = read_config(args)      # the YAML read and overridden once; hub models checked before loading
"""
import argparse
import json
from typing import Any, Dict, List, Optional

from dpr_components.errors import ConfigurationError


def pipeline_options(default_pipeline: str) -> argparse.ArgumentParser:
    """``--pipeline --pipeline-name --store --param --json`` (a parent parser)."""
    from dpr_components.cli.output import output_options

    options = argparse.ArgumentParser(add_help=False, parents=[output_options()])
    group = options.add_argument_group("pipeline")
    group.add_argument("--pipeline", default=default_pipeline, metavar="FILE",
                       help=f"YAML file or bundled pipeline name (default: {default_pipeline})")
    group.add_argument("--pipeline-name", metavar="NAME", help="which pipeline of a YAML that defines several")
    group.add_argument("--store", metavar="DIR", help="HybridDocumentStore directory (sets its `path` param); "
                       "an existing store's recorded encoder is used unless --param says otherwise")
    group.add_argument("--param", "-p", action="append", default=[], metavar="COMPONENT.PARAM=VALUE",
                       help="override a component parameter (repeatable); VALUE is read as YAML")
    return options


def question_set_options(command: argparse.ArgumentParser) -> None:
    """``--questions --limit --match --no-progress`` for commands that score a question set."""
    command.add_argument("--questions", required=True, metavar="FILE",
                         help="DPR qas .tsv/.csv, .jsonl ({question, answers}) or pyserini:NAME (e.g. pyserini:nq-dev)")
    command.add_argument("--limit", type=int, metavar="N", help="only the first N questions")
    command.add_argument("--match", choices=["string", "regex"],
                         help="how answers are matched: string (DPR's token match) or regex (answers are "
                         "regular expressions, e.g. CuratedTREC); default: the file's own, else string")
    command.add_argument("--no-progress", action="store_true", help="no progress bar")


def read_config(args: argparse.Namespace) -> Any:
    """The command's :class:`PipelineConfig`, read once; hub models it names are checked (fail fast offline)."""
    from dpr_components.pipelines import read_pipeline_config
    from dpr_components.utils.hub import go_offline_if_unreachable, model_ids

    config = read_pipeline_config(args.pipeline, pipeline_name=args.pipeline_name, store=args.store,
                                  overrides=args.param)
    go_offline_if_unreachable(model_ids(config.component_params()))
    return config


def progress(args: argparse.Namespace) -> bool:
    return not (getattr(args, "no_progress", False) or args.json)


def split_list(text: str) -> List[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``."""
    return [item.strip() for item in text.split(",") if item.strip()]


def parse_floats(option: str, text: Optional[str]) -> Optional[List[float]]:
    """Comma-separated numbers (``--alphas 0.5,1.0``), or a one-line error naming the bad item."""
    if text is None:
        return None
    values = []
    for item in split_list(text):
        try:
            values.append(float(item))
        except ValueError:
            raise ConfigurationError(
                f"{option}: {item!r} is not a number; give comma-separated numbers, e.g. {option} 0.5,1.0,1.3."
            ) from None
    if not values:
        raise ConfigurationError(f"{option} is empty; give comma-separated numbers, e.g. {option} 0.5,1.0,1.3.")
    return values


def parse_filters(text: Optional[str]) -> Optional[Dict[str, Any]]:
    """``--filters`` JSON, or a one-line error with an example."""
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigurationError(
            f"--filters is not valid JSON ({error.msg}); e.g. --filters '{{\"name\": [\"Paris\"]}}'."
        ) from None

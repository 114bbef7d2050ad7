"""The output convention of every command (the training commands included): text for people by default, one
JSON document for programs with ``--json``. Results are formatted by the library
(:func:`dpr_components.pipelines.results.format_result`); this module only decides where things go.

Usage (inside a command module)::

    from dpr_components.cli.output import emit, output_options

    command = commands.add_parser("index", parents=[output_options()])
    ...
    emit(args, summary, describe(summary))   # JSON of summary with --json, else the text
    with for_people(args):                   # what is printed inside (steps, progress) is for people:
        train(...)                           # stdout, or stderr under --json
"""
import argparse
import json
import sys
from contextlib import contextmanager, nullcontext, redirect_stdout
from typing import Any, Callable, Iterator, Union

from dpr_components.pipelines.results import plain


def output_options() -> argparse.ArgumentParser:
    """``--json`` (a parent parser): every command prints text for people unless asked for JSON."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--json", action="store_true", help="print one JSON document for programs instead of text")
    return options


def to_json(payload: Any) -> str:
    return json.dumps(plain(payload), ensure_ascii=False, indent=2, default=str)


def emit(args: argparse.Namespace, payload: Any, text: Union[str, Callable[[], str]]) -> None:
    """The command's result: ``payload`` as JSON with ``--json``, else ``text`` (or what it returns)."""
    print(to_json(payload) if getattr(args, "json", False) else (text() if callable(text) else text), flush=True)


@contextmanager
def for_people(args: argparse.Namespace) -> Iterator[None]:
    """What is printed inside is for people: on stdout, or on stderr under ``--json`` (stdout stays one JSON
    document)."""
    with redirect_stdout(sys.stderr) if getattr(args, "json", False) else nullcontext():
        yield

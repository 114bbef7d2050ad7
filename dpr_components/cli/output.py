"""Printing pipeline results: readable text for people, plain JSON for programs.

Usage::

    from dpr_components.cli.output import format_result
    from dpr_components.pipelines import result_to_dict

    result = pipeline.run(query="who wrote animal farm?")
    print(format_result(result_to_dict(result)))
"""
import argparse
import json
import textwrap
from typing import Any, Callable, List, Mapping, Optional, Union

from dpr_components.pipelines.results import plain

SNIPPET_CHARS = 300


def source_scores(meta: Mapping[str, Any]) -> Optional[str]:
    """``"BM25 21.37 (#1) · Retriever 0.612 (#4)"`` from HybridFusion's ``meta["fusion"]``, if present."""
    fusion = meta.get("fusion")
    if not isinstance(fusion, Mapping) or not fusion:
        return None
    parts = []
    for source, value in fusion.items():
        if isinstance(value, Mapping):
            score, rank = value.get("score"), value.get("rank")
            shown = "missing" if score is None else f"{score:.4g}"
            parts.append(f"{source} {shown}" + (f" (#{rank})" if rank is not None else ""))
        else:
            parts.append(f"{source} {value}")
    return " · ".join(parts)


def _snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + " …"


def _indent(text: str, prefix: str = "      ") -> str:
    return textwrap.fill(text, width=100, initial_indent=prefix, subsequent_indent=prefix)


def format_documents(documents: List[Mapping[str, Any]]) -> List[str]:
    lines = []
    for rank, document in enumerate(documents, start=1):
        score = "" if document["score"] is None else f"{document['score']:.4f}  "
        lines.append(f"  {rank:>2}. {score}{document['title'] or '(untitled)'}  [id {document['id']}]")
        sources = source_scores(document["meta"])
        if sources:
            lines.append(f"      scores: {sources}")
        lines.append(_indent(_snippet(document["content"])))
    return lines


def format_answers(answers: List[Mapping[str, Any]]) -> List[str]:
    lines = []
    for rank, answer in enumerate(answers, start=1):
        score = "" if answer["score"] is None else f"  (score {answer['score']:.3g})"  # marginal scores can be tiny
        lines.append(f"  {rank:>2}. {answer['answer'] or '(no answer)'}{score}")
        source = answer["source"]
        context = source["content"] if source else answer["context"]
        if answer["title"]:
            lines.append(f"      from: {answer['title']}" + (f"  [id {source['id']}]" if source else ""))
        if context:
            lines.append(_indent(_snippet(context)))
    return lines


def format_result(result: Mapping[str, Any]) -> str:
    lines = [f"Q: {result['query']}"]
    if "answers" in result:
        lines += format_answers(result["answers"]) or ["   (no answers)"]
    else:
        lines += format_documents(result["documents"]) or ["   (no passages found)"]
    return "\n".join(lines)


def to_json(payload: Any) -> str:
    return json.dumps(plain(payload), ensure_ascii=False, indent=2, default=str)


def output_options() -> argparse.ArgumentParser:
    """``--json`` (a parent parser): every command prints text for people unless asked for JSON."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--json", action="store_true", help="print one JSON document for programs instead of text")
    return options


def emit(args: argparse.Namespace, payload: Any, text: Union[str, Callable[[], str]]) -> None:
    """The command's result: ``payload`` as JSON with ``--json``, else ``text`` (or what it returns)."""
    print(to_json(payload) if getattr(args, "json", False) else (text() if callable(text) else text), flush=True)

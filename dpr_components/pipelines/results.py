"""Pipeline results as plain JSON-friendly dicts (the query, its passages and, for QA pipelines, answers with
their source passages), and as text for people. Titles are read with the store's passage schema.

Usage::

    from dpr_components.pipelines.results import format_result, result_to_dict

    result = loaded.pipeline.run(query="who wrote animal farm?")
    as_dict = result_to_dict(result, workspace.schema)
    as_dict["documents"][0]["title"]
    print(format_result(as_dict))          # Q: who wrote animal farm? / 1. 0.8123  Animal Farm  [id 7-0] ...
"""
import textwrap
from typing import Any, Dict, List, Mapping, Optional

from dpr_components.schema import PASSAGES, PassageSchema

SNIPPET_CHARS = 300


def plain(value: Any) -> Any:
    """JSON-friendly copies of numpy scalars/arrays and nested containers."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def document_to_dict(document: Any, schema: PassageSchema = PASSAGES) -> Dict[str, Any]:
    return {
        "id": document.id,
        "score": plain(document.score),
        "title": (document.meta or {}).get(schema.title_field),
        "content": document.content,
        "meta": plain(document.meta or {}),
    }


def answer_to_dict(answer: Any, documents_by_id: Mapping[str, Any], schema: PassageSchema = PASSAGES) -> Dict[str, Any]:
    sources = [documents_by_id[i] for i in (answer.document_ids or []) if i in documents_by_id]
    return {
        "answer": answer.answer,
        "score": plain(answer.score),
        "context": answer.context,
        "document_ids": list(answer.document_ids or []),
        "offsets_in_document": [
            {"start": span.start, "end": span.end} for span in (answer.offsets_in_document or []) if span is not None
        ],
        "title": (answer.meta or {}).get(schema.title_field) or (sources[0]["title"] if sources else None),
        "source": sources[0] if sources else None,
        "meta": plain(answer.meta or {}),
    }


def result_to_dict(result: Mapping[str, Any], schema: PassageSchema = PASSAGES) -> Dict[str, Any]:
    """The query, its documents and (for QA pipelines) its answers with their source passages."""
    documents = [document_to_dict(d, schema) for d in result.get("documents") or []]
    by_id = {d["id"]: d for d in documents}
    output: Dict[str, Any] = {"query": result.get("query"), "documents": documents}
    if "answers" in result:
        output["answers"] = [answer_to_dict(a, by_id, schema) for a in result["answers"]]
    return output


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

"""Pipeline results as plain JSON-friendly dicts: the query, its passages and (for QA pipelines) answers.

Usage::

    from dpr_components.pipelines.results import result_to_dict

    result = loaded.pipeline.run(query="who wrote animal farm?")
    result_to_dict(result)["documents"][0]["title"]
"""
from typing import Any, Dict, Mapping

from dpr_components.schema import TITLE_FIELD  # the meta field the corpus readers put the title in


def plain(value: Any) -> Any:
    """JSON-friendly copies of numpy scalars/arrays and nested containers."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def document_to_dict(document: Any) -> Dict[str, Any]:
    return {
        "id": document.id,
        "score": plain(document.score),
        "title": (document.meta or {}).get(TITLE_FIELD),
        "content": document.content,
        "meta": plain(document.meta or {}),
    }


def answer_to_dict(answer: Any, documents_by_id: Mapping[str, Any]) -> Dict[str, Any]:
    sources = [documents_by_id[i] for i in (answer.document_ids or []) if i in documents_by_id]
    return {
        "answer": answer.answer,
        "score": plain(answer.score),
        "context": answer.context,
        "document_ids": list(answer.document_ids or []),
        "offsets_in_document": [
            {"start": span.start, "end": span.end} for span in (answer.offsets_in_document or []) if span is not None
        ],
        "title": (answer.meta or {}).get(TITLE_FIELD) or (sources[0]["title"] if sources else None),
        "source": sources[0] if sources else None,
        "meta": plain(answer.meta or {}),
    }


def result_to_dict(result: Mapping[str, Any]) -> Dict[str, Any]:
    """The query, its documents and (for QA pipelines) its answers with their source passages."""
    documents = [document_to_dict(d) for d in result.get("documents") or []]
    by_id = {d["id"]: d for d in documents}
    output: Dict[str, Any] = {"query": result.get("query"), "documents": documents}
    if "answers" in result:
        output["answers"] = [answer_to_dict(a, by_id) for a in result["answers"]]
    return output

"""Request and response JSON, shaped like Haystack 1.x ``rest_api/schema.py``.

Requests forbid unknown fields (as Haystack's ``RequestBaseModel`` does) so a typo fails loudly. Responses
are Haystack's ``Document.to_dict()`` / ``Answer.to_dict()`` with ``None`` fields left out, as Haystack's
``response_model_exclude_none=True`` does; embeddings are never sent (Haystack's ``/documents`` endpoints
null them too).

Usage::

    from dpr_components.serving.schemas import QueryRequest, query_response

    request = QueryRequest(query="who wrote hamlet?", params={"Retriever": {"top_k": 5}})
    body = query_response(pipeline.run(query=request.query, params=request.params))
    body["documents"][0]["content"], body["answers"][0]["answer"]
"""
from typing import Any, Dict, List, Optional

from pydantic import BaseModel, Extra, Field, validator

from dpr_components.serving.checks import checked_filters, checked_query, checked_values
from dpr_components.serving.errors import InvalidRequestError


class RequestModel(BaseModel):
    """A JSON object with exactly the model's fields, each value checked by :mod:`.checks`, with no coercion:
    pydantic v1 would read ``[]`` as ``{}``, ``"yes"`` as true, and a body without ``filters`` as "no filter",
    which for a delete means "everything". ``_strict`` names fields whose JSON type must match exactly."""

    _strict: Dict[str, type] = {}
    _checked_per_item: frozenset = frozenset()  # fields whose items are checked one by one, later
    _hint = ""

    class Config:
        extra = Extra.forbid

    @classmethod
    def validate(cls, value: Any) -> "RequestModel":
        if not isinstance(value, (dict, cls)):
            raise InvalidRequestError(f"The request body must be a JSON object with the fields "
                                      f"{', '.join(cls.__fields__)}, not {type(value).__name__}{cls._hint}.")
        unknown = [key for key in value if key not in cls.__fields__] if isinstance(value, dict) else []
        if unknown:
            raise InvalidRequestError(f"unknown field {unknown[0]!r}: this endpoint takes "
                                      f"{', '.join(cls.__fields__)}{cls._hint}.")
        return super().validate(value)

    @validator("*", pre=True)
    def _checked(cls, value: Any, field: Any) -> Any:
        kind = cls._strict.get(field.name)
        if value is not None and kind is not None and (
                not isinstance(value, kind) or (kind is not bool and isinstance(value, bool))):
            raise InvalidRequestError(f"{field.name} must be {_KIND_NAMES[kind]}, got {value!r}.")
        return value if field.name in cls._checked_per_item else checked_values(value, field.name)


_KIND_NAMES = {bool: "true or false", dict: "an object", str: "a string"}


class QueryRequest(RequestModel):
    query: str = Field(..., description="The question")
    params: Optional[Dict[str, Any]] = Field(None, description='e.g. {"Retriever": {"top_k": 5}, "filters": {...}}')
    debug: Optional[bool] = False

    _strict = {"params": dict, "debug": bool}

    @validator("query", pre=True)
    def _query(cls, value: Any) -> str:
        return checked_query(value)


class BatchQueryRequest(RequestModel):
    # Each question is checked on its own (service.query_batch): one bad question must not fail the others.
    queries: List[Any] = Field(..., min_items=1, max_items=256, description="Questions, answered in one batch")
    params: Optional[Dict[str, Any]] = None

    _strict = {"params": dict}
    _checked_per_item = frozenset({"queries"})


class FilterRequest(RequestModel):
    # Dict[str, Any], not Haystack's Union[str, int, ...]: pydantic v1 would turn the 0 of {"_split_id": 0}
    # into "0" (the first type of the Union that accepts it), and the filter would match nothing.
    filters: Optional[Dict[str, Any]] = Field(None, description='Haystack filters, e.g. {"name": ["Paris"]}')

    _hint = ' (put the filter inside it: {"filters": {"name": ["Paris"]}})'

    @validator("filters", pre=True)
    def _filters(cls, value: Any) -> Any:
        return checked_filters(value)


class LabelRequest(RequestModel):
    """Haystack's ``CreateLabelSerialized``: one piece of feedback on an answer, stored as a Haystack Label."""

    id: Optional[str] = None
    query: str
    document: Dict[str, Any]
    is_correct_answer: bool
    is_correct_document: bool
    origin: str = Field(..., description='"user-feedback" or "gold-label"')
    answer: Optional[Dict[str, Any]] = None
    no_answer: Optional[bool] = None
    pipeline_id: Optional[str] = None
    created_at: Optional[str] = None
    updated_at: Optional[str] = None
    meta: Optional[Dict[str, Any]] = None
    filters: Optional[Dict[str, Any]] = None

    _strict = {"id": str, "document": dict, "is_correct_answer": bool, "is_correct_document": bool,
               "origin": str, "answer": dict, "no_answer": bool, "pipeline_id": str, "meta": dict, "filters": dict}

    @validator("query", pre=True)
    def _query(cls, value: Any) -> str:
        return checked_query(value)

    @validator("origin")
    def _origin(cls, value: str) -> str:
        if value not in ("user-feedback", "gold-label"):
            raise InvalidRequestError(f'origin must be "user-feedback" or "gold-label", got {value!r}.')
        return value


class Span(BaseModel):
    start: int
    end: int


class DocumentModel(BaseModel):
    id: str
    content: Any
    content_type: str = "text"
    meta: Dict[str, Any] = {}
    id_hash_keys: Optional[List[str]] = None
    score: Optional[float] = None


class AnswerModel(BaseModel):
    answer: str
    type: str = "extractive"
    score: Optional[float] = None
    context: Optional[str] = None
    offsets_in_document: Optional[List[Span]] = None
    offsets_in_context: Optional[List[Span]] = None
    document_ids: Optional[List[str]] = None
    meta: Optional[Dict[str, Any]] = None


class QueryResponse(BaseModel):
    query: str
    answers: List[AnswerModel] = []
    documents: List[DocumentModel] = []
    debug: Optional[Dict[str, Any]] = Field(None, alias="_debug")


class ErrorResponse(BaseModel):
    errors: List[str] = Field(..., description="What went wrong and how to fix it")


class HealthResponse(BaseModel):
    version: str = Field(..., description="Haystack version")
    cpu: Dict[str, float]
    memory: Dict[str, float]
    gpus: List[Dict[str, Any]] = []
    queries_waiting: int = 0
    batches_run: int = 0
    queries_run: int = 0


def plain(value: Any) -> Any:
    """JSON-ready copy: numpy scalars and arrays to Python, ``None`` entries of mappings dropped."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def document_json(document: Any) -> Dict[str, Any]:
    data = document.to_dict()
    data.pop("embedding", None)
    return plain(data)


def answer_json(answer: Any) -> Dict[str, Any]:
    return plain(answer.to_dict())


def query_response(result: Dict[str, Any]) -> Dict[str, Any]:
    """``{query, answers, documents[, _debug]}`` from a pipeline result, empty lists when a key is absent."""
    body = {
        "query": result.get("query"),
        "answers": [answer_json(a) for a in result.get("answers") or []],
        "documents": [document_json(d) for d in result.get("documents") or []],
    }
    if result.get("_debug") is not None:
        body["_debug"] = plain(_debug_json(result["_debug"]))
    return body


def _debug_json(debug: Any) -> Any:
    """Haystack's ``_debug`` holds Documents and Answers inside node outputs: serialise those too."""
    if isinstance(debug, dict):
        return {k: _debug_json(v) for k, v in debug.items()}
    if isinstance(debug, (list, tuple)):
        return [_debug_json(v) for v in debug]
    if hasattr(debug, "to_dict") and hasattr(debug, "id") and hasattr(debug, "content"):
        return document_json(debug)
    if hasattr(debug, "to_dict") and hasattr(debug, "answer"):
        return answer_json(debug)
    if isinstance(debug, (str, int, float, bool)) or debug is None or hasattr(debug, "tolist"):
        return debug
    return str(debug)

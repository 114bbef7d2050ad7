"""Haystack's feedback endpoints over the store's labels: users' judgements of answers, kept beside the documents.

What Haystack 1.x ``rest_api/controller/feedback.py`` does, on the store's own label methods
(``write_labels``, ``get_all_labels``, ``delete_labels``): a feedback is a Haystack ``Label`` (``origin``
``"user-feedback"`` unless it says ``"gold-label"``); ``eval`` gives the share of correct answers and documents
among the user feedback (optionally filtered); ``export`` is SQuAD JSON of the user feedback, with the whole
document as context or ``context_size`` characters around the answer. Unlike Haystack, the export is not also
written to a file in the server's working directory.

Usage::

    from dpr_components.serving.feedback import Feedback

    feedback = Feedback(store)
    feedback.add({"query": "who?", "document": {"content": "..."}, "is_correct_answer": True,
                  "is_correct_document": True, "origin": "user-feedback"})
    feedback.metrics(None)          # {"answer_accuracy": 1.0, "document_accuracy": 1.0, "n_feedback": 1}
    feedback.squad(full_document_context=True)
"""
from typing import Any, Dict, List, Optional

from dpr_components.serving.errors import InvalidRequestError

USER_FEEDBACK = "user-feedback"


class Feedback:
    """Labels of a store, as Haystack's REST API serves them."""

    def __init__(self, store: Any):
        self.store = store

    def add(self, label: Dict[str, Any], index: Optional[str] = None) -> None:
        from haystack.schema import Label

        try:
            built = Label.from_dict({key: value for key, value in label.items() if value is not None})
        except Exception as error:  # noqa: BLE001 -- Haystack raises TypeError/ValueError/KeyError alike here
            raise InvalidRequestError(f"The feedback is not a valid Haystack label ({type(error).__name__}: "
                                      f"{error}).") from None
        self.store.write_labels([built], index=index)

    def all(self, index: Optional[str] = None) -> List[Dict[str, Any]]:
        return [label.to_dict() for label in self.store.get_all_labels(index=index)]

    def delete_user_feedback(self, index: Optional[str] = None) -> int:
        """Delete the labels of origin ``user-feedback`` (gold labels stay); how many."""
        ids = [label.id for label in self.store.get_all_labels(index=index) if label.origin == USER_FEEDBACK]
        if ids:
            self.store.delete_labels(ids=ids, index=index)
        return len(ids)

    def metrics(self, filters: Optional[Dict[str, Any]], index: Optional[str] = None) -> Dict[str, Any]:
        labels = self.store.get_all_labels(filters={**(filters or {}), "origin": [USER_FEEDBACK]}, index=index)
        if not labels:
            return {"answer_accuracy": None, "document_accuracy": None, "n_feedback": 0}
        return {"answer_accuracy": sum(bool(label.is_correct_answer) for label in labels) / len(labels),
                "document_accuracy": sum(bool(label.is_correct_document) for label in labels) / len(labels),
                "n_feedback": len(labels)}

    def squad(self, context_size: int = 100_000, full_document_context: bool = True,
              only_positive_labels: bool = False, index: Optional[str] = None) -> Dict[str, Any]:
        """SQuAD ``{"data": [...]}`` of the user feedback; a label with the right document but a wrong answer is
        neither a SQuAD answer nor an "impossible" question, so it is left out."""
        filters: Dict[str, Any] = {"origin": [USER_FEEDBACK]}
        if only_positive_labels:
            filters["is_correct_answer"] = [True]
        labels = [label for label in self.store.get_all_labels(filters=filters, index=index)
                  if not (label.is_correct_document and label.is_correct_answer is False)]
        return {"data": [_squad_item(label, context_size, full_document_context) for label in labels]}


def _squad_item(label: Any, context_size: int, full_document_context: bool) -> Dict[str, Any]:
    answer = label.answer.answer if label.answer else ""
    offsets = label.answer.offsets_in_document if label.answer else None
    start = getattr(offsets[0], "start", getattr(offsets[0], "row", 0)) if offsets else 0
    text = label.document.content if isinstance(label.document.content, str) else str(label.document.content)
    context, answer_start = text, start
    if not full_document_context:  # about context_size characters, the answer in the middle where possible
        around = max(0, (context_size - len(answer)) // 2)
        begin = max(0, min(start - around, len(text) - context_size))
        context, answer_start = text[begin:begin + max(context_size, len(answer))], start - begin
    impossible = label.is_correct_answer is False and label.is_correct_document is False
    question = {"question": label.query, "id": label.id, "is_impossible": impossible,
                "answers": [] if impossible else [{"text": answer, "answer_start": answer_start}]}
    return {"paragraphs": [{"context": context, "id": label.document.id, "qas": [question]}]}

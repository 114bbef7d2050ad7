"""Rows read back as the very documents Haystack's own constructor builds (the fast path skips validation)."""
import numpy as np
import pandas as pd
import pytest
from haystack.schema import Document

from dpr_components.stores.document_rows import document_row, to_document

DOCUMENTS = [
    Document(content="Paris is the capital of France.", id="plain"),
    Document(content="Lyon", meta={"name": "Lyon", "tags": ["a", "b"], "year": 2020, "score": 0.5, "none": None}),
    Document(content="with vector", embedding=np.arange(4, dtype=np.float32), id_hash_keys=["content", "meta"],
             meta={"nested": {"k": [1, 2]}}),
    Document(content=pd.DataFrame({"city": ["Paris", "Lyon"], "people": [2.1, 0.5]}), content_type="table"),
]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda d: d.id)
def test_row_round_trip_equals_a_validated_document(document):
    row, _ = document_row(document, None)
    read = to_document((1, *row))
    expected = Document.from_dict({**document.to_dict(), "id_hash_keys": document.id_hash_keys})
    assert read == expected
    read_dict, expected_dict = read.to_dict(), expected.to_dict()
    assert np.array_equal(read_dict.pop("embedding"), expected_dict.pop("embedding"))
    assert read_dict == expected_dict
    read_fields, expected_fields = dict(vars(read)), dict(vars(expected))
    assert np.array_equal(read_fields.pop("embedding"), expected_fields.pop("embedding"))
    if document.content_type == "table":
        pd.testing.assert_frame_equal(read_fields.pop("content"), expected_fields.pop("content"))
    assert read_fields == expected_fields
    assert read.score is None and read.id == document.id and isinstance(read.id_hash_keys, list)
    read.meta["added"] = 1  # documents share no mutable state
    assert "added" not in to_document((1, *row)).meta

"""One passage schema: the store's BM25 indexes the title field the other nodes use (dpr_components.schema)."""
import pytest
from haystack.schema import Document

from dpr_components.errors import ConfigurationError
from dpr_components.preprocessing.passages import DPRPassageSplitter
from dpr_components.schema import PASSAGES, PassageSchema


def test_bm25_indexes_the_configured_title_field_which_the_store_records(open_store):
    passages = DPRPassageSplitter(title_field="heading").split(
        [Document(content="a city on the seine", id="p", meta={"heading": "Lutetia"})])
    assert passages[0].meta == {"heading": "Lutetia", PASSAGES.split_id_field: 0, PASSAGES.source_id_field: "p"}
    store = open_store(title_field="heading")
    store.write_documents(passages)
    assert [d.id for d in store.query("lutetia")] == ["p-0"]  # the title is searchable
    store.update_document_meta("p-0", {"heading": "Paris"})  # a changed title is re-indexed
    assert store.query("lutetia") == [] and [d.id for d in store.query("paris")] == ["p-0"]
    store.close()
    reopened = open_store()  # no title_field: the recorded one (main: "name", so every title was lost)
    assert reopened.title_field == "heading" and [d.id for d in reopened.query("paris")] == ["p-0"]
    reopened.close()
    with pytest.raises(ConfigurationError, match="title is in meta\\['heading'\\], not title_field 'name'"):
        open_store(title_field="name")


def test_the_schema_refuses_field_names_it_cannot_address():
    with pytest.raises(ConfigurationError, match="title_field must be a non-empty meta field name"):
        PassageSchema(title_field='a"b')
    assert PassageSchema(title_field="heading").title({"heading": 3}) == "3"

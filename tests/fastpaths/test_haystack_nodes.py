"""Haystack's node registry and parameter types: the private internals (BaseComponent._subclasses, the JSON schema
of haystack.nodes._json_schema) and the public fallbacks (__subclasses__, the __init__ annotations) agree."""
import inspect

import pytest

from dpr_components import register_nodes
from dpr_components.errors import ConfigurationError
from dpr_components.fastpaths.haystack_nodes import parameter_problems, registered_nodes
from dpr_components.pipelines.checks import check_components

SAMPLES = [None, 1, 1.5, True, 10**30, "s", "token", "BM25L", [1], ["a"], [1.5], [True], [None], [1, 2], {"a": 1},
           {"a": "b"}]
# Where pydantic's schema is not what the annotation says, the plain check follows the annotation:
# a Literal holding None (or an Optional one) loses None from the enum; a Union with an unresolved name is
# "string or null" there, while the same name inside a List takes anything.
SCHEMA_QUIRKS = {("EntityExtractor", "aggregation_strategy"), ("PreProcessor", "split_by"),
                 ("WhisperTranscriber", "device")}
OURS_AND_COMMON = {"DPRRetriever", "DPRSpanReader", "HybridDocumentStore", "HybridFusion", "DPRPassageSplitter",
                   "BM25Retriever", "EmbeddingRetriever", "DensePassageRetriever", "JoinDocuments", "TextConverter",
                   "PDFToTextConverter", "FileTypeClassifier", "FARMReader", "InMemoryDocumentStore",
                   "ElasticsearchDocumentStore"}


def both(monkeypatch, name, call):
    """``call()`` with the fast path ``name`` on, then off."""
    monkeypatch.setenv("DPR_FASTPATHS", "on")
    fast = call()
    monkeypatch.setenv("DPR_FASTPATHS", f"-{name}")
    return fast, call()


def test_the_registry_is_the_same_without_haystacks_private_dict(monkeypatch):
    register_nodes()
    fast, plain = both(monkeypatch, "haystack_registry", lambda: dict(registered_nodes()))
    assert fast == plain and {"DPRRetriever", "HybridDocumentStore", "BM25Retriever"} <= set(plain)


def test_parameter_types_get_the_same_verdicts_without_haystacks_schema(monkeypatch):
    register_nodes()
    compared = 0
    for name, cls in registered_nodes().items():
        params = [p for p in list(inspect.signature(cls.__init__).parameters)[1:] if p not in ("args", "kwargs")]
        for value in SAMPLES:
            given = dict.fromkeys(params, value)
            fast, plain = both(monkeypatch, "haystack_schema",
                               lambda cls=cls, given=given: parameter_problems(cls, given))
            differ = {param for param in set(fast) ^ set(plain) if (name, param) not in SCHEMA_QUIRKS}
            assert not differ, f"{name}: {sorted(differ)} given {value!r}: schema {fast}, annotations {plain}"
            if name in OURS_AND_COMMON and not isinstance(value, (list, dict)):  # the same kinds named
                # (a wrong item inside a list or dict: the schema names the item's kind, the plain check the
                # parameter's)
                for param in set(fast) & set(plain) - {p for n, p in SCHEMA_QUIRKS if n == name}:
                    assert set(fast[param].split(" or ")) == set(plain[param].split(" or ")), (name, param)
            compared += len(params)
    assert compared > 5000


@pytest.mark.parametrize("params, message", [
    ({"top_k": "many"}, r"'BM25' \(BM25Retriever\): parameter 'top_k' got 'many', expected integer"),
    ({"top_k": 3, "scale_score": "yes"}, r"parameter 'scale_score' got 'yes', expected boolean"),
    ({"top_k": [3]}, r"parameter 'top_k' got \[3\], expected integer"),
])
def test_a_pipeline_with_a_wrong_type_is_refused_alike(monkeypatch, params, message):
    config = {"components": [{"name": "Store", "type": "InMemoryDocumentStore", "params": {"use_bm25": True}},
                             {"name": "BM25", "type": "BM25Retriever", "params": {"document_store": "Store",
                                                                                  **params}}]}
    for setting in ("on", "-haystack_schema", "off"):
        monkeypatch.setenv("DPR_FASTPATHS", setting)
        with pytest.raises(ConfigurationError, match=message):
            check_components(config)

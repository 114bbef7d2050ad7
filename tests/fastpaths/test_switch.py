"""DPR_FASTPATHS: one switch for the fast paths on private internals; with each off, the plain code gives the same
vectors and answers (the per-path parity tests: tests/encoders (cls_only), test_packed_linear.py)."""
import numpy as np
import pytest
from haystack.schema import Document

from dpr_components.encoders import TextEncoder
from dpr_components.errors import ConfigurationError
from dpr_components.fastpaths import FastPath, enabled
from dpr_components.fastpaths.cls_only import FirstTokenLayer
from dpr_components.fastpaths.packed_linear import PackedLinear, packing_available
from dpr_components.readers.dpr_span_reader import DPRSpanReader

PASSAGES = [("Paris", "paris is the capital of france ."), ("", "the king was born in berlin , germany .")]


@pytest.mark.parametrize("setting, cls_only, packed", [
    (None, True, True), ("on", True, True), ("off", False, False), ("cls_only", True, False),
    ("-packed_linear", True, False), (" packed_linear , cls_only ", True, True), ("-cls_only", False, True)])
def test_the_switch(monkeypatch, setting, cls_only, packed):
    if setting is None:
        monkeypatch.delenv("DPR_FASTPATHS", raising=False)
    else:
        monkeypatch.setenv("DPR_FASTPATHS", setting)
    assert (enabled(FastPath.CLS_ONLY), enabled("packed_linear")) == (cls_only, packed)


def test_an_unknown_fast_path_is_named(monkeypatch):
    monkeypatch.setenv("DPR_FASTPATHS", "-cls_onyl")
    with pytest.raises(ConfigurationError, match="Unknown FastPath 'cls_onyl'. Valid values: 'cls_only'"):
        enabled(FastPath.CLS_ONLY)


def modules(model):
    return {type(m) for m in model.modules()}


def test_encoder_vectors_equal_with_fast_paths_off(tiny_context_encoder, monkeypatch):
    fast = TextEncoder(tiny_context_encoder, precision="fp32", device="cpu")
    assert FirstTokenLayer in modules(fast.model) and (PackedLinear in modules(fast.model) or not packing_available())
    monkeypatch.setenv("DPR_FASTPATHS", "off")
    plain = TextEncoder(tiny_context_encoder, precision="fp32", device="cpu")
    assert not {FirstTokenLayer, PackedLinear} & modules(plain.model)
    np.testing.assert_allclose(fast.encode(PASSAGES, 64), plain.encode(PASSAGES, 64), atol=1e-5, rtol=0)


def test_reader_answers_equal_with_fast_paths_off(tiny_reader, monkeypatch):
    docs = [Document(text, meta={"name": title}) for title, text in PASSAGES]
    fast = DPRSpanReader(tiny_reader, max_seq_len=64, top_k=5, precision="fp32", device="cpu")
    monkeypatch.setenv("DPR_FASTPATHS", "off")
    plain = DPRSpanReader(tiny_reader, max_seq_len=64, top_k=5, precision="fp32", device="cpu")
    assert PackedLinear not in modules(plain.model)
    first, second = (r.predict("who was born in berlin", docs)["answers"] for r in (fast, plain))
    assert [a.answer for a in first] == [a.answer for a in second]
    np.testing.assert_allclose([a.meta["span_score"] for a in first], [a.meta["span_score"] for a in second],
                               atol=1e-4)

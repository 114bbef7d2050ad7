"""EncoderSignature identifies a checkpoint by what it computes, not by the path it was loaded from."""
import json
import os
import shutil

import pytest
from transformers import BertConfig, BertModel, BertTokenizerFast

from dpr_components.encoders.signature import EncoderSignature
from dpr_components.encoders.text_encoder import TextEncoder


@pytest.fixture(scope="module")
def tiny_bert_encoder(tmp_path_factory, tiny_vocab_file) -> str:
    """A random BertModel (AutoModel-loaded, pooled by pooling=cls|mean) with its tokenizer."""
    directory = tmp_path_factory.mktemp("tiny_bert")
    config = BertConfig(vocab_size=len(tiny_vocab_file.read_text().split()), hidden_size=32, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(directory)
    BertTokenizerFast(vocab_file=str(tiny_vocab_file)).save_pretrained(directory)
    return str(directory)


def signature_of(path: str, pooling: str = "cls", normalize: bool = False) -> EncoderSignature:
    encoder = TextEncoder(path, pooling=pooling, normalize=normalize)
    return EncoderSignature.from_encoders(encoder, encoder, 64, 256)


def test_same_checkpoint_by_relative_path_trailing_slash_or_moved_has_one_signature(
        tiny_context_encoder, tmp_path, monkeypatch):
    original = signature_of(tiny_context_encoder)
    moved = shutil.copytree(tiny_context_encoder, tmp_path / "elsewhere" / "ctx")
    monkeypatch.chdir(tmp_path)
    for variant in [str(moved) + os.sep, os.path.relpath(moved), "./elsewhere/ctx/"]:
        other = signature_of(variant)
        assert other == original and not original.differences(other), variant
        assert other.query_source == variant  # where it came from is kept as a hint, never compared


def test_a_different_checkpoint_has_another_signature(tiny_context_encoder, tiny_question_encoder):
    context, question = signature_of(tiny_context_encoder), signature_of(tiny_question_encoder)
    assert context != question
    assert any(d.startswith("query_weights") for d in context.differences(question))


def test_pooling_and_normalisation_are_part_of_the_signature(tiny_bert_encoder):
    cls, mean = signature_of(tiny_bert_encoder, "cls"), signature_of(tiny_bert_encoder, "mean")
    assert [d.split(":")[0] for d in cls.differences(mean)] == ["pooling"]
    normalized = signature_of(tiny_bert_encoder, "cls", normalize=True)
    assert [d.split(":")[0] for d in cls.differences(normalized)] == ["normalize"]


def test_precision_does_not_change_the_signature(tiny_context_encoder):
    fp32 = TextEncoder(tiny_context_encoder)
    int8 = TextEncoder(tiny_context_encoder, precision="int8")
    assert fp32.weights_digest == int8.weights_digest


def test_round_trips_through_json_and_is_frozen(tiny_context_encoder):
    signature = signature_of(tiny_context_encoder)
    again = EncoderSignature.from_dict(json.loads(json.dumps(signature.to_dict())))
    assert again == signature and again.query_source == signature.query_source
    with pytest.raises(AttributeError, match="pooling"):
        signature.pooling = "mean"  # type: ignore[misc]


def test_signatures_recorded_by_older_versions_are_read_and_compared_on_what_they_hold(tiny_context_encoder):
    legacy = EncoderSignature.from_dict({"query_model": "/old/venv/ctx", "passage_model": "/old/venv/ctx",
                                         "pooling": "pooler_output", "normalize": False, "embedding_dim": 32})
    assert not legacy.complete and legacy.query_source == "/old/venv/ctx"
    current = signature_of(tiny_context_encoder)
    assert current.complete and legacy.differences(current) == []
    assert legacy.differences(EncoderSignature.from_dict({**current.to_dict(), "pooling": "mean"}))

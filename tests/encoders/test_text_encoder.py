import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoTokenizer, DPRContextEncoder, DPRQuestionEncoder

from dpr_components.encoders import Pooling, TextEncoder
from dpr_components.errors import ConfigurationError, ModelLoadError

QUESTIONS = [
    "who was born in paris",
    "what is the largest city in the country of germany and what river runs through it",
    "king",
    "when was the university of london called the first university in england",
]
PASSAGES = [
    ("paris", "paris is the capital and largest city of france"),
    ("berlin", "berlin is the capital of germany " * 20),  # longer than max_length: truncated
    ("", "the queen was born in london"),
    ("music", "film"),
]


def dpr_reference(model_class, path, texts, max_length):
    """DPR's own recipe: tokenizer ids, attention mask, all segment ids 0, pooler_output; one text at a time."""
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = model_class.from_pretrained(path).eval()
    vectors = []
    with torch.no_grad():
        for text in texts:
            first, second = text if isinstance(text, tuple) else (text, None)
            inputs = tokenizer(first, second, truncation=True, max_length=max_length, return_tensors="pt")
            output = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                           token_type_ids=torch.zeros_like(inputs["input_ids"]))
            vectors.append(output.pooler_output[0].numpy())
    return np.stack(vectors)


def test_question_vectors_equal_dpr_question_encoder(tiny_question_encoder):
    encoder = TextEncoder(tiny_question_encoder)
    vectors = encoder.encode(QUESTIONS, max_length=64, batch_size=3)
    assert vectors.dtype == np.float32 and vectors.shape == (len(QUESTIONS), 32)
    reference = dpr_reference(DPRQuestionEncoder, tiny_question_encoder, QUESTIONS, 64)
    np.testing.assert_allclose(vectors, reference, atol=1e-4, rtol=0)


def test_question_vectors_equal_plain_tokenizer_call(tiny_question_encoder):
    # A question has one segment, so DPRQuestionEncoder(**tokenizer(q)) is the same reference.
    tokenizer = AutoTokenizer.from_pretrained(tiny_question_encoder)
    model = DPRQuestionEncoder.from_pretrained(tiny_question_encoder).eval()
    with torch.no_grad():
        reference = model(**tokenizer(QUESTIONS[1], return_tensors="pt")).pooler_output.numpy()
    np.testing.assert_allclose(TextEncoder(tiny_question_encoder).encode(QUESTIONS[1:2], 64), reference, atol=1e-4)


def test_title_text_pairs_equal_dpr_context_encoder(tiny_context_encoder):
    encoder = TextEncoder(tiny_context_encoder)
    vectors = encoder.encode(PASSAGES, max_length=32, batch_size=2)
    reference = dpr_reference(DPRContextEncoder, tiny_context_encoder, PASSAGES, 32)
    np.testing.assert_allclose(vectors, reference, atol=1e-4, rtol=0)
    # The title matters: the same text without it is a different vector.
    without_title = encoder.encode([text for _, text in PASSAGES], max_length=32)
    assert np.abs(without_title[0] - vectors[0]).max() > 1e-3


def test_mixed_length_batches_equal_one_at_a_time(tiny_context_encoder):
    encoder = TextEncoder(tiny_context_encoder)
    texts = [f"{'the war ' * (n % 7 + 1)}in paris {n}" for n in range(11)]
    batched = encoder.encode(texts, max_length=64, batch_size=4)
    single = np.concatenate([encoder.encode([text], max_length=64) for text in texts])
    np.testing.assert_allclose(batched, single, atol=1e-5, rtol=0)
    assert np.abs(batched[0] - batched[1]).max() > 1e-3  # rows really differ: order is checked


def test_empty_input_gives_empty_array(tiny_context_encoder):
    assert TextEncoder(tiny_context_encoder).encode([], max_length=16).shape == (0, 32)


def test_mixing_strings_and_pairs_is_refused(tiny_context_encoder):
    with pytest.raises(ConfigurationError, match="only strings or only"):
        TextEncoder(tiny_context_encoder).encode(["paris", ("paris", "france")], max_length=16)


@pytest.mark.parametrize("precision", ["bf16", "int8"])
def test_reduced_precision_stays_close_and_returns_float32(tiny_context_encoder, precision):
    exact = TextEncoder(tiny_context_encoder).encode(QUESTIONS, max_length=32)
    reduced = TextEncoder(tiny_context_encoder, precision=precision).encode(QUESTIONS, max_length=32)
    assert reduced.dtype == np.float32
    cosine = (exact * reduced).sum(1) / np.linalg.norm(exact, axis=1) / np.linalg.norm(reduced, axis=1)
    assert cosine.min() > 0.95
    assert np.abs(exact - reduced).max() > 0  # really a different computation


@pytest.mark.slow
def test_mean_pooling_and_normalize_equal_manual_computation(minilm_path):
    encoder = TextEncoder(minilm_path, pooling="mean", normalize=True)
    assert encoder.embedding_dim == 384 and not encoder.uses_dpr_pooler
    vectors = encoder.encode(QUESTIONS, max_length=128, batch_size=3)

    tokenizer = AutoTokenizer.from_pretrained(minilm_path)
    model = AutoModel.from_pretrained(minilm_path).eval()
    with torch.no_grad():
        inputs = tokenizer(QUESTIONS, padding=True, return_tensors="pt")
        hidden = model(**inputs).last_hidden_state
        mask = inputs["attention_mask"].unsqueeze(-1).float()
        mean = (hidden * mask).sum(1) / mask.sum(1)
        reference = (mean / mean.norm(dim=1, keepdim=True)).numpy()
    np.testing.assert_allclose(vectors, reference, atol=1e-4, rtol=0)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)

    cls_vectors = TextEncoder(minilm_path, pooling=Pooling.CLS).encode(QUESTIONS[:1], max_length=128)
    np.testing.assert_allclose(cls_vectors[0], hidden[0, 0].numpy(), atol=1e-4, rtol=0)


def test_missing_directory_names_the_path(tmp_path):
    missing = tmp_path / "no_such_model"
    with pytest.raises(ModelLoadError, match="no_such_model.*does not exist.*text encoder"):
        TextEncoder(str(missing))


def test_directory_without_model_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(ModelLoadError, match="not a transformers model directory.*text encoder"):
        TextEncoder(str(tmp_path))


def test_dpr_reader_is_refused(tiny_reader):
    with pytest.raises(ModelLoadError, match="DPRReader.*question or context encoder"):
        TextEncoder(tiny_reader)


def test_config_without_weights_is_refused(tmp_path, tiny_question_encoder):
    (tmp_path / "config.json").write_text(open(f"{tiny_question_encoder}/config.json").read())
    with pytest.raises(ModelLoadError, match="Could not load the tokenizer of"):
        TextEncoder(str(tmp_path))
    AutoTokenizer.from_pretrained(tiny_question_encoder).save_pretrained(tmp_path)
    with pytest.raises(ModelLoadError, match="Could not load the weights of"):
        TextEncoder(str(tmp_path))


def test_mean_pooling_on_a_dpr_checkpoint_is_refused(tiny_question_encoder):
    with pytest.raises(ConfigurationError, match="pooler_output. Use pooling: cls"):
        TextEncoder(tiny_question_encoder, pooling="mean")


def test_unknown_pooling_lists_the_valid_values(tiny_question_encoder):
    with pytest.raises(ConfigurationError, match="'cls', 'mean'"):
        TextEncoder(tiny_question_encoder, pooling="max")


def test_auto_precision_is_resolved_and_shown(tiny_context_encoder, monkeypatch):
    monkeypatch.setenv("DPR_COMPONENTS_AUTO_PRECISION", "bf16")
    encoder = TextEncoder(tiny_context_encoder)
    assert encoder.precision.value == "bf16" and "precision=bf16" in repr(encoder)
    assert next(encoder.model.parameters()).dtype == torch.bfloat16


def test_batches_spread_over_several_devices_equal_one_device(tiny_context_encoder):
    texts = [f"{'the war ' * (n % 5 + 1)}in paris {n}" for n in range(13)]
    one = TextEncoder(tiny_context_encoder, precision="fp32", device="cpu")
    two = TextEncoder(tiny_context_encoder, precision="fp32", devices=["cpu", "cpu"])
    assert len(two.replicas) == 2 and two.replicas[0] is not two.replicas[1]
    np.testing.assert_allclose(two.encode(texts, max_length=32, batch_size=2),
                               one.encode(texts, max_length=32, batch_size=2), atol=1e-6, rtol=0)
    assert TextEncoder(tiny_context_encoder, devices=["cpu", "cpu"], use_gpu=False).devices == [torch.device("cpu")]


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_cls_only_last_layer_equals_the_full_pass(tiny_context_encoder, attention):
    from dpr_components.fastpaths.cls_only import FirstTokenLayer, compute_last_layer_for_cls_only

    tokenizer = AutoTokenizer.from_pretrained(tiny_context_encoder)
    full = DPRContextEncoder.from_pretrained(tiny_context_encoder, attn_implementation=attention).eval()
    short = DPRContextEncoder.from_pretrained(tiny_context_encoder, attn_implementation=attention).eval()
    assert compute_last_layer_for_cls_only(short)
    assert isinstance(short.ctx_encoder.bert_model.encoder.layer[-1], FirstTokenLayer)
    inputs = tokenizer([t for t, _ in PASSAGES], [p for _, p in PASSAGES], padding=True, truncation=True,
                       max_length=32, return_tensors="pt", return_token_type_ids=False)
    assert (inputs["attention_mask"] == 0).any()  # padding present: the mask slice is exercised
    with torch.no_grad():
        expected = full(**inputs).pooler_output
        got = short(**inputs)
    assert got.pooler_output.shape == expected.shape
    torch.testing.assert_close(got.pooler_output, expected, atol=1e-5, rtol=1e-5)
    assert not compute_last_layer_for_cls_only(torch.nn.Linear(2, 2))


def test_mean_pooled_encoders_keep_every_token(minilm_path):
    from dpr_components.fastpaths.cls_only import FirstTokenLayer

    encoder = TextEncoder(minilm_path, pooling="mean", normalize=True)
    assert not any(isinstance(m, FirstTokenLayer) for m in encoder.model.modules())

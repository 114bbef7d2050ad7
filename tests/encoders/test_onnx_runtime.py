"""runtime: onnxruntime — the same vectors as torch's (fp32), close ones (int8), one export per checkpoint."""
import sys

import numpy as np
import pytest
import torch

from dpr_components.encoders import TextEncoder
from dpr_components.encoders.onnx_runtime import cache_root, check_settings
from dpr_components.errors import ConfigurationError
from dpr_components.utils.choices import Precision

pytest.importorskip("onnxruntime", reason='runtime onnxruntime needs the [onnx] extra')

QUESTIONS = ["who was born in paris", "king", "what is the largest city in the country of germany and what river"]
PASSAGES = [("paris", "paris is the capital and largest city of france"),
            ("berlin", "berlin is the capital of germany " * 20), ("", "the queen was born in london")]


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DPR_COMPONENTS_CACHE", str(tmp_path / "cache"))


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


@pytest.mark.parametrize("fixture, pooling", [("tiny_context_encoder", "cls"), ("tiny_question_encoder", "cls"),
                                              ("minilm_path", "mean"), ("minilm_path", "cls")])
def test_fp32_vectors_equal_torch(request, fixture, pooling):
    path = request.getfixturevalue(fixture)
    settings = dict(pooling=pooling, precision="fp32", device="cpu")
    ours = TextEncoder(path, runtime="onnxruntime", **settings)
    torch_vectors = TextEncoder(path, **settings).encode(PASSAGES, 256, batch_size=2)
    onnx_vectors = ours.encode(PASSAGES, 256, batch_size=2)  # padded batches of two lengths
    np.testing.assert_allclose(onnx_vectors, torch_vectors, rtol=1e-4, atol=1e-4)
    assert ours.weights_digest == TextEncoder(path, **settings).weights_digest  # the same model for the store


def test_int8_is_close_to_fp32_and_quantised(minilm_path):
    fp32 = TextEncoder(minilm_path, pooling="mean", normalize=True, precision="fp32", device="cpu")
    int8 = TextEncoder(minilm_path, pooling="mean", normalize=True, precision="int8", device="cpu",
                       runtime="onnxruntime")
    texts = QUESTIONS + [text for _, text in PASSAGES]
    values = cosines(fp32.encode(texts, 128), int8.encode(texts, 128))
    assert values.min() > 0.98
    assert values.min() < 0.99999  # really quantised, not the fp32 graph
    operators = {node.op_type for node in __import__("onnx").load(str(int8.model.path)).graph.node}
    assert "DynamicQuantizeLinear" in operators and "MatMul" in operators  # FFN output projections stay fp32


def test_export_is_cached_per_checkpoint_and_precision(tiny_context_encoder):
    first = TextEncoder(tiny_context_encoder, precision="fp32", device="cpu", runtime="onnxruntime")
    stamp = first.model.path.stat().st_mtime_ns
    again = TextEncoder(tiny_context_encoder, precision="fp32", device="cpu", runtime="onnxruntime")
    assert again.model.path == first.model.path and again.model.path.stat().st_mtime_ns == stamp
    int8 = TextEncoder(tiny_context_encoder, precision="int8", device="cpu", runtime="onnxruntime")
    assert int8.model.path != first.model.path
    assert sorted(p.name for p in cache_root().iterdir()) == sorted([first.model.path.name, int8.model.path.name])


def test_auto_precision_is_fp32(tiny_context_encoder):
    assert TextEncoder(tiny_context_encoder, device="cpu", runtime="onnxruntime").precision.value == "fp32"


@pytest.mark.parametrize("settings, message", [
    (dict(precision="bf16"), "fp32 or int8, not bf16"),
    (dict(runtime="tensorrt"), "Valid values: 'torch', 'onnxruntime'"),
])
def test_bad_settings_are_refused(tiny_context_encoder, settings, message):
    settings = {"device": "cpu", "runtime": "onnxruntime", **settings}
    with pytest.raises(ConfigurationError, match=message):
        TextEncoder(tiny_context_encoder, **settings)


def test_gpu_is_refused():
    with pytest.raises(ConfigurationError, match="runs on the CPU, not cuda:0"):
        check_settings(Precision.FP32, torch.device("cuda:0"))  # no GPU needed to build the device object


def test_missing_extra_names_it(tiny_context_encoder, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # what an environment without the extra imports
    with pytest.raises(ConfigurationError, match=r'pip install "dpr-components\[onnx\]"'):
        TextEncoder(tiny_context_encoder, precision="fp32", device="cpu", runtime="onnxruntime")


ARTICLES = [
    {"id": "fr", "title": "France", "text": "The capital of France is Paris. " * 20 + "France exports wine. " * 10},
    {"id": "de", "title": "Germany", "text": "The capital of Germany is Berlin. " * 20 + "Germany makes cars. " * 10},
    {"id": "it", "title": "Italy", "text": "Rome is the capital of Italy. " * 20 + "Italy has pasta. " * 10},
]


def test_a_store_indexed_with_torch_answers_alike_through_onnxruntime_in_a_yaml_pipeline(tiny_store):
    from dpr_components.workspace import Workspace

    workspace = Workspace(tiny_store(ARTICLES), read_only=True)
    questions = ["capital of France?", "what does Germany make?", "what does Italy have?"]
    expected = workspace.query(questions, "dense_retrieval", top_k=4)
    onnx = workspace.query_pipeline("dense_retrieval",  # the store's recorded encoder must accept it
                                    {"Retriever.runtime": "onnxruntime", "Retriever.precision": "fp32"})
    assert onnx.node("Retriever").query_encoder.runtime.value == "onnxruntime"
    for ours, reference in zip(workspace.query(questions, onnx, top_k=4), expected):
        assert [d["id"] for d in ours["documents"]] == [d["id"] for d in reference["documents"]]
        np.testing.assert_allclose([d["score"] for d in ours["documents"]],
                                   [d["score"] for d in reference["documents"]], rtol=1e-4)

"""MPNet as a DPRRetriever encoder (issue 28.4): no token type ids, mean pooling, normalised; the shared encoder
rules give training and inference the same vectors; the real all-mpnet-base-v2 matches sentence-transformers."""
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from haystack.document_stores import InMemoryDocumentStore
from haystack.schema import Document
from transformers import AutoModel, AutoTokenizer, BertConfig, RobertaConfig

from dpr_components.errors import ConfigurationError
from dpr_components.modeling.checkpoints import usable_positions
from dpr_components.retrievers.dpr_retriever import DPRRetriever
from dpr_components.training.biencoder import BiEncoder, embed

SENTENCES = ["who was born in paris?", "the capital of france is paris.", "berlin is the largest city of germany"]
PASSAGES = [("Paris", "paris is the capital of france ."), ("Berlin", "berlin is the largest city of germany ."),
            ("", "the music of london is called world music .")]


def mean_pooled(directory, texts):
    tokenizer, model = AutoTokenizer.from_pretrained(directory), AutoModel.from_pretrained(directory).eval()
    inputs = tokenizer(texts, padding=True, return_tensors="pt", return_token_type_ids=False)
    with torch.no_grad():
        hidden = model(**inputs).last_hidden_state
    mask = inputs["attention_mask"].unsqueeze(-1).float()
    return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()


def test_tiny_mpnet_retrieves_with_mean_pooling(tiny_encoders):
    mpnet = tiny_encoders["mpnet"]
    store = InMemoryDocumentStore(embedding_dim=32, similarity="dot_product")
    store.write_documents([Document(text, meta={"name": title}) for title, text in PASSAGES])
    retriever = DPRRetriever(store, query_embedding_model=mpnet, passage_embedding_model=mpnet, pooling="mean",
                             normalize=True, max_seq_len_passage=64, progress_bar=False)
    assert retriever.encoder_signature.pooling == "mean" and retriever.embedding_dim == 32
    np.testing.assert_allclose(retriever.embed_queries(SENTENCES), mean_pooled(mpnet, SENTENCES), atol=1e-5)
    store.update_embeddings(retriever)
    assert len(retriever.retrieve(SENTENCES[0], top_k=2)) == 2
    # the bi-encoder trainer embeds with the same rules
    model = BiEncoder.from_pretrained(mpnet, shared=True, pooling="mean", normalize=True)
    np.testing.assert_allclose(embed(model, "passage", PASSAGES, 64), retriever.passage_encoder.encode(PASSAGES, 64),
                               atol=1e-5)


def test_positions_after_the_padding_index_are_not_readable(tiny_encoders):
    assert usable_positions(RobertaConfig(max_position_embeddings=514)) == 512  # 514 - (pad_token_id 1 + 1)
    assert usable_positions(BertConfig()) == 512
    with pytest.raises(ConfigurationError, match="max_seq_len_passage=130 exceeds .* <= 129"):
        DPRRetriever(None, query_embedding_model=tiny_encoders["mpnet"], passage_embedding_model=tiny_encoders["mpnet"],
                     pooling="mean", max_seq_len_passage=130)


def real_mpnet() -> Path:
    """all-mpnet-base-v2 fetched by `dpr-components fetch-model` (DPR_TEST_MPNET, else ./models/)."""
    return Path(os.environ.get("DPR_TEST_MPNET", Path(__file__).parents[2] / "models" / "all-mpnet-base-v2"))


@pytest.mark.skipif(not (real_mpnet() / "model.safetensors").is_file(),
                    reason="all-mpnet-base-v2 not fetched (dpr-components fetch-model all-mpnet-base-v2 --output "
                           "models, or set DPR_TEST_MPNET)")
def test_real_mpnet_embeds_like_sentence_transformers():
    from sentence_transformers import SentenceTransformer

    from dpr_components.encoders import TextEncoder

    theirs = SentenceTransformer(str(real_mpnet()), device="cpu").encode(SENTENCES, convert_to_numpy=True)
    ours = TextEncoder(str(real_mpnet()), pooling="mean", normalize=True, precision="fp32", device="cpu")
    np.testing.assert_allclose(ours.encode(SENTENCES, max_length=128), theirs, atol=2e-5, rtol=0)
    assert ours.embedding_dim == 768 and ours.architecture == "MPNetForMaskedLM"


def test_a_sentence_transformers_folder_used_otherwise_than_trained_is_warned_about(tiny_encoders, tmp_path, caplog):
    import json
    import shutil

    from dpr_components.encoders import TextEncoder

    folder = tmp_path / "st_mpnet"
    shutil.copytree(tiny_encoders["mpnet"], folder)
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_mean_tokens": True}))
    modules = "sentence_transformers.models"
    (folder / "modules.json").write_text(json.dumps([{"path": "", "type": f"{modules}.Transformer"},
                                                     {"path": "1_Pooling", "type": f"{modules}.Pooling"},
                                                     {"path": "2_Normalize",
                                                      "type": "sentence_transformers.models.Normalize"}]))
    with caplog.at_level("WARNING", logger="dpr_components.modeling.encoders"):
        TextEncoder(str(folder), pooling="mean", normalize=True)
        assert not caplog.records
        TextEncoder(str(folder))  # DPRRetriever's defaults: cls, not normalised
    assert "trained with pooling mean, normalize True" in caplog.text

"""Every path that writes vectors passes one check (issue 27.2, 31.1): Haystack's own retrievers rewriting an
index update its encoder record, vectors that would mix two encoders are refused, and NaN / non-numeric
vectors never replace good ones, also when a new encoder replaces them all."""
import numpy as np
import pandas as pd
import pytest
import torch
from haystack import Pipeline
from haystack.nodes import DensePassageRetriever, EmbeddingRetriever
from haystack.schema import Document
from tiny_models import save_model, tiny_dpr_config
from transformers import (
    DPRContextEncoder,
    DPRContextEncoderTokenizerFast,
    DPRQuestionEncoder,
    DPRQuestionEncoderTokenizerFast,
)

from dpr_components.errors import StoreError
from dpr_components.retrievers.dpr_retriever import DPRRetriever

TEXTS = ["paris is the capital and largest city of france", "berlin is the capital of germany",
         "london is the capital of england on the river", "the first war of the king and queen of england",
         "music and film of the new world", "the university was called the first university of the country"]
QUESTION = "what is the capital of germany"


def documents(texts=TEXTS):
    return [Document(content=text, meta={"name": text.split()[0]}) for text in texts]


def dpr(store, question_encoder, context_encoder, **params):
    return DPRRetriever(store, question_encoder, context_encoder, max_seq_len_passage=48, progress_bar=False, **params)


def stored_vectors(store):
    return {d.id: d.embedding for d in store.get_all_documents(return_embedding=True)}


@pytest.fixture(scope="module")
def other_encoders(tmp_path_factory, tiny_vocab_file):
    """A second pair of tiny DPR encoders (other random weights, the same size as conftest's)."""
    torch.manual_seed(5)
    question = save_model(DPRQuestionEncoder(tiny_dpr_config()), DPRQuestionEncoderTokenizerFast, tiny_vocab_file,
                          tmp_path_factory.mktemp("other_question"))
    context = save_model(DPRContextEncoder(tiny_dpr_config()), DPRContextEncoderTokenizerFast, tiny_vocab_file,
                         tmp_path_factory.mktemp("other_context"))
    return question, context


@pytest.fixture(scope="module")
def nan_context_encoder(tmp_path_factory, tiny_vocab_file):
    """A tiny DPR passage encoder whose every output is NaN (one NaN weight before the last layer norm)."""
    torch.manual_seed(6)
    model = DPRContextEncoder(tiny_dpr_config())
    with torch.no_grad():
        model.ctx_encoder.bert_model.encoder.layer[-1].output.dense.weight[0, 0] = float("nan")
    return save_model(model, DPRContextEncoderTokenizerFast, tiny_vocab_file, tmp_path_factory.mktemp("nan_context"))


def test_haystack_dense_passage_retriever_rewriting_an_index_updates_its_record(
        open_store, tiny_question_encoder, tiny_context_encoder, other_encoders):
    store = open_store()
    store.write_documents(documents())
    old = dpr(store, tiny_question_encoder, tiny_context_encoder)
    store.update_embeddings(old)
    haystack_dpr = DensePassageRetriever(store, query_embedding_model=other_encoders[0],
                                         passage_embedding_model=other_encoders[1], max_seq_len_passage=48,
                                         use_gpu=False, progress_bar=False)
    store.update_embeddings(haystack_dpr)  # Haystack's retriever: no signature, every vector replaced

    with pytest.raises(StoreError, match="another encoder .*DensePassageRetriever"):
        old.retrieve(QUESTION)  # the old encoder no longer matches the vectors
    same = dpr(store, *other_encoders)  # the models that made them, in our retriever: accepted
    assert [d.id for d in same.retrieve(QUESTION, top_k=3)] == [d.id for d in haystack_dpr.retrieve(QUESTION, top_k=3)]

    # An indexing pipeline with the old encoder would now mix two encoders' vectors in one index: refused.
    indexing = Pipeline()
    indexing.add_node(old, name="Retriever", inputs=["File"])
    indexing.add_node(store, name="Store", inputs=["Retriever"])
    before = stored_vectors(store)
    with pytest.raises(Exception, match="Store.*would be mixed"):  # Haystack names the node that raised
        indexing.run(documents=documents(["the river of the new city"]))
    assert stored_vectors(store).keys() == before.keys()


def test_vectors_without_a_signature_cannot_join_a_signed_index(open_store, tiny_question_encoder,
                                                                tiny_context_encoder, other_encoders):
    store = open_store()
    store.write_documents(documents())
    ours = dpr(store, tiny_question_encoder, tiny_context_encoder)
    store.update_embeddings(ours)
    new = documents(["the river of the new city"])
    vectors = ours.embed_documents(new)
    with pytest.raises(StoreError, match="would be mixed .*encoder_signature"):  # unknown encoder: refused
        store.write_documents([Document(content=new[0].content, embedding=vectors[0])])
    store.write_documents([Document(content=new[0].content, embedding=vectors[0])],
                          encoder_signature=ours.encoder_signature)
    assert store.get_embedding_count() == len(TEXTS) + 1

    store.write_documents(documents(["a passage without a vector"]))
    haystack_dpr = DensePassageRetriever(store, query_embedding_model=other_encoders[0],
                                         passage_embedding_model=other_encoders[1], max_seq_len_passage=48,
                                         use_gpu=False, progress_bar=False)
    with pytest.raises(StoreError, match="would be mixed"):  # refused before anything is embedded
        store.update_embeddings(haystack_dpr, update_existing_embeddings=False)
    assert store.get_embedding_count() == len(TEXTS) + 1 and store.recorded_encoder() == ours.encoder_signature


@pytest.mark.slow
def test_embedding_retriever_rewriting_an_index_is_recorded_as_its_model(open_store, minilm_path):
    store = open_store()
    store.write_documents(documents())
    store.update_embeddings(DPRRetriever(store, minilm_path, minilm_path, pooling="cls", progress_bar=False))
    haystack = EmbeddingRetriever(document_store=store, embedding_model=minilm_path, use_gpu=False,
                                  model_format="sentence_transformers", progress_bar=False)
    store.update_embeddings(haystack)  # mean-pooled, normalised vectors replace the [CLS] ones
    ours = DPRRetriever(store, minilm_path, minilm_path, pooling="mean", normalize=True, progress_bar=False)
    hits = ours.retrieve(QUESTION, top_k=3)  # the model that made them: accepted, with the same ranking
    assert [d.id for d in hits] == [d.id for d in haystack.retrieve(QUESTION, top_k=3)]
    assert store.recorded_encoder() is None  # no signature: the record names the retriever and its model
    store.update_embeddings(ours)  # replacing every vector: recorded as the signed encoder
    assert store.recorded_encoder() == ours.encoder_signature


def test_nan_vectors_of_a_new_encoder_keep_every_stored_vector(open_store, tiny_question_encoder,
                                                                 tiny_context_encoder, nan_context_encoder):
    store = open_store()
    store.write_documents(documents())
    good = dpr(store, tiny_question_encoder, tiny_context_encoder)
    store.update_embeddings(good)
    before = stored_vectors(store)
    broken = dpr(store, tiny_question_encoder, nan_context_encoder)
    with pytest.raises(StoreError, match="NaN or infinite"):
        store.update_embeddings(broken)  # what `index --reembed` runs
    after = stored_vectors(store)
    assert after.keys() == before.keys() and all(np.array_equal(after[i], before[i]) for i in before)
    assert store.recorded_encoder() == good.encoder_signature
    assert all(np.isfinite(d.score) for d in good.retrieve(QUESTION, top_k=3))


def test_a_new_encoder_failing_halfway_keeps_the_old_vectors(open_store, tiny_question_encoder,
                                                               tiny_context_encoder, other_encoders):
    store = open_store()
    store.write_documents(documents())
    old = dpr(store, tiny_question_encoder, tiny_context_encoder)
    store.update_embeddings(old)
    # A table passage (with a vector of the old encoder) that the new DPRRetriever refuses to embed, last.
    table = Document(content=pd.DataFrame({"a": ["1"], "b": ["2"]}), content_type="table", id="zz-table",
                     embedding=np.ones(32, dtype=np.float32))
    store.write_documents([table], encoder_signature=old.encoder_signature)
    before = stored_vectors(store)
    new = dpr(store, *other_encoders, batch_size=2)
    with pytest.raises(Exception, match="embeds text documents"):
        store.update_embeddings(new, batch_size=2)  # the first batches were embedded, then it failed
    after = stored_vectors(store)
    assert all(np.array_equal(after[i], before[i]) for i in before)
    assert store.recorded_encoder() == old.encoder_signature and old.retrieve(QUESTION)


@pytest.mark.parametrize("embedding", ["0.1 0.2", ["0.1", "0.2"], [0.1, float("inf")]])
def test_bad_embeddings_through_the_python_api_are_one_store_error(open_store, embedding):
    store = open_store()
    store.write_documents([Document(content="kept", embedding=np.ones(2, dtype=np.float32))])
    with pytest.raises(StoreError, match="numbers|NaN or infinite"):
        store.write_documents([{"content": "new", "embedding": embedding}])
    with pytest.raises(StoreError, match="numbers|NaN or infinite"):
        store.query_by_embedding(np.array(embedding, dtype=object) if isinstance(embedding, list) else embedding)
    assert store.get_document_count() == 1

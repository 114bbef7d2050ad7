"""The real trained all-MiniLM-L6-v2 (one model for both sides, mean pooling, normalize) on real Wikipedia text."""
import numpy as np
import pytest
from haystack.document_stores import InMemoryDocumentStore
from haystack.schema import Document

from dpr_components.retrievers.dpr_retriever import DPRRetriever

# Openings of English Wikipedia articles, from the dump excerpt shipped in gensim's test data.
PASSAGES = {
    "Albedo": (
        "Albedo or reflection coefficient, derived from Latin albedo \"whiteness\", is the diffuse "
        "reflectivity or reflecting power of a surface. It is the ratio of reflected radiation from the "
        "surface to incident radiation upon it. It is measured on a scale from zero for no reflection of "
        "a perfectly black surface to 1 for perfect reflection of a white surface."
    ),
    "Apollo 11": (
        "Apollo 11 was the first spaceflight that landed humans on the Moon. Americans Neil Armstrong and"
        " Buzz Aldrin landed on July 20, 1969, at 20:18 UTC. Armstrong became the first to step onto the "
        "lunar surface six hours later on July 21 at 02:56 UTC; Aldrin joined him about 20 minutes later."
    ),
    "Aardvark": (
        "The aardvark (Orycteropus afer) is a medium-sized, burrowing, nocturnal mammal native to Africa."
        " It is the only living species of the order Tubulidentata. A nocturnal feeder, it subsists on "
        "ants and termites, which it will dig out of their hills using its sharp claws and powerful legs."
    ),
    "Andorra": (
        "Andorra, officially the Principality of Andorra, is a sovereign landlocked microstate in "
        "Southwestern Europe, located in the eastern Pyrenees mountains and bordered by Spain and France."
        " Its capital Andorra la Vella is the highest capital city in Europe."
    ),
    "Abraham Lincoln": (
        "Abraham Lincoln (February 12, 1809 - April 15, 1865) was the 16th President of the United "
        "States, serving from March 1861 until his assassination in April 1865. Lincoln led the United "
        "States through its Civil War, preserved the Union and abolished slavery."
    ),
    "Atlantic Ocean": (
        "The Atlantic Ocean is the second largest of the world's oceanic divisions, following the Pacific"
        " Ocean. It covers approximately 20 percent of the Earth's surface and about 29 percent of its "
        "water surface area. Its name refers to Atlas of Greek mythology."
    ),
    "Albert Einstein": (
        "Albert Einstein (14 March 1879 - 18 April 1955) was a German-born theoretical physicist. He "
        "developed the general theory of relativity, one of the two pillars of modern physics. He "
        "received the 1921 Nobel Prize in Physics for his discovery of the law of the photoelectric "
        "effect."
    ),
    "Alkali metal": (
        "The alkali metals are a group in the periodic table consisting of the chemical elements lithium,"
        " sodium, potassium, rubidium, caesium, and francium. They are all shiny, soft, highly reactive "
        "metals at standard temperature and pressure."
    ),
}
QUESTIONS = {
    "who was the first man to walk on the moon": "Apollo 11",
    "what animal eats ants and termites in africa": "Aardvark",
    "who was president during the american civil war": "Abraham Lincoln",
    "who came up with the theory of relativity": "Albert Einstein",
}


@pytest.mark.slow
def test_minilm_retrieves_the_right_wikipedia_passage(minilm_path):
    store = InMemoryDocumentStore(embedding_dim=384, similarity="dot_product")
    store.write_documents([Document(content=text, meta={"name": title}) for title, text in PASSAGES.items()])
    retriever = DPRRetriever(store, query_embedding_model=minilm_path, passage_embedding_model=minilm_path,
                             pooling="mean", normalize=True, progress_bar=False)
    assert retriever.query_encoder is retriever.passage_encoder  # one model loaded once serves both sides
    store.update_embeddings(retriever)

    results = retriever.retrieve_batch(list(QUESTIONS), top_k=3)
    assert [documents[0].meta["name"] for documents in results] == list(QUESTIONS.values())
    for documents in results:
        assert documents[0].score > documents[1].score  # raw cosine: vectors are unit length
        assert -1.0 <= documents[-1].score <= documents[0].score <= 1.0

    embeddings = np.stack([doc.embedding for doc in store.get_all_documents(return_embedding=True)])
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)

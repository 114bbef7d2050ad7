"""Tiny random encoders of every architecture family the reader supports, built once per session."""
import pytest
import torch

from tiny_models import ENCODER_FAMILIES, tiny_encoder

CITIES = [("paris", "france"), ("berlin", "germany"), ("london", "england")]


def toy_texts():
    """(question, answer, positive (title, text), negatives) of three toy questions."""
    rows = []
    for city, country in CITIES:
        positive = (city.title(), f"the king was born in the city of {city} . {city} is the capital of {country} "
                                  "and its largest city .")
        negatives = [(other.title(), f"the music of {other} is called world music by many people .")
                     for other, _ in CITIES if other != city]
        rows.append((f"what is the capital of {country}", city, positive, negatives))
    return rows


def corpus():
    texts = [text for _, _, positive, negatives in toy_texts() for _, text in [positive, *negatives]]
    texts += [question for question, *_ in toy_texts()] + [title.title() for title, _ in CITIES]
    return texts * 20


@pytest.fixture(scope="session")
def tiny_encoders(tmp_path_factory, tiny_vocab_file) -> dict:
    """``{family: directory}`` of random tiny encoders (BERT, ELECTRA, MPNet, RoBERTa, DeBERTa-v2)."""
    root = tmp_path_factory.mktemp("tiny_encoders")
    encoders = {}
    for seed, family in enumerate(ENCODER_FAMILIES):
        torch.manual_seed(seed)
        encoders[family] = tiny_encoder(family, root / family, tiny_vocab_file, corpus())
    return encoders

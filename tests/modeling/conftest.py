"""Tiny random encoders of every architecture family the reader supports, built once per session."""
import pytest
import torch
from tiny_models import ENCODER_FAMILIES, tiny_encoder
from toy_reading import corpus


@pytest.fixture(scope="session")
def tiny_encoders(tmp_path_factory, tiny_vocab_file) -> dict:
    """``{family: directory}`` of random tiny encoders (BERT, ELECTRA, MPNet, RoBERTa, DeBERTa-v2)."""
    root = tmp_path_factory.mktemp("tiny_encoders")
    encoders = {}
    for seed, family in enumerate(ENCODER_FAMILIES):
        torch.manual_seed(seed)
        encoders[family] = tiny_encoder(family, root / family, tiny_vocab_file, corpus())
    return encoders

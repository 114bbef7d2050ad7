"""Fixtures for the HybridDocumentStore tests: a fresh store directory, opened stores closed after each test."""
from pathlib import Path
from typing import Callable

import pytest

from dpr_components.stores.hybrid_document_store import HybridDocumentStore


@pytest.fixture
def store_path(tmp_path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def open_store(store_path) -> Callable[..., HybridDocumentStore]:
    """Opens HybridDocumentStore(s) on the test's store directory; closes them after the test."""
    opened = []

    def factory(**params) -> HybridDocumentStore:
        params.setdefault("path", str(store_path))
        params.setdefault("progress_bar", False)
        store = HybridDocumentStore(**params)
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()

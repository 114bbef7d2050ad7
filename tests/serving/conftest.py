"""A real uvicorn server on a free 127.0.0.1 port over a small store, built with the tiny random models."""
import shutil

import pytest

pytest.importorskip("fastapi", reason='the REST API tests need pip install "dpr-components[serve]"')

from haystack import Document
from rest_testing import API_KEY, ARTICLES, running_server, tiny_params


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory, tiny_question_encoder, tiny_context_encoder, tiny_reader):
    from dpr_components.pipelines import load_pipeline

    path = tmp_path_factory.mktemp("rest_store") / "store"
    params = [p for p in tiny_params(tiny_question_encoder, tiny_context_encoder, tiny_reader)
              if p.startswith("Retriever.")]
    indexing = load_pipeline("indexing", overrides=params, store=str(path)).pipeline
    indexing.run(documents=[Document(text, meta={"name": title}, id=title) for title, text in ARTICLES.items()])
    indexing.get_document_store().close()
    return path


@pytest.fixture
def store_copy(store_dir, tmp_path):
    """A private copy of the module's store: for tests that delete or overwrite passages."""
    return shutil.copytree(store_dir, tmp_path / "store")


@pytest.fixture(scope="module")
def settings_for(tiny_question_encoder, tiny_context_encoder, tiny_reader):
    """``settings_for(store, **changes)``: ServeSettings of hybrid_qa over ``store`` with the tiny models."""
    from dpr_components.serving import ServeSettings

    def settings(store, **changes):
        values = dict(pipeline="hybrid_qa", store=str(store), api_key=API_KEY, max_body_bytes=64 * 1024,
                      params=tiny_params(tiny_question_encoder, tiny_context_encoder, tiny_reader), batch_window_ms=5)
        return ServeSettings(**{**values, **changes})

    return settings


@pytest.fixture(scope="module")
def service(store_dir, settings_for):
    from dpr_components.serving import load_service

    return load_service(settings_for(store_dir))


@pytest.fixture(scope="module")
def server(service):
    """Base URL of the running server."""
    from dpr_components.serving import create_app
    from dpr_components.serving.server import background_server

    with background_server(create_app(service)) as url:
        yield url


@pytest.fixture
def private_server(store_copy, settings_for):
    """(URL, service) of a server over a private copy of the store."""
    with running_server(settings_for(store_copy)) as running:
        yield running

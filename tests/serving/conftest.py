"""A real uvicorn server on a free 127.0.0.1 port over a small store, built with the tiny random models."""
import pytest

pytest.importorskip("fastapi", reason='the REST API tests need pip install "dpr-components[serve]"')

from haystack import Document  # noqa: E402

from rest_testing import API_KEY, ARTICLES, tiny_params  # noqa: E402


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


@pytest.fixture(scope="module")
def service(store_dir, tiny_question_encoder, tiny_context_encoder, tiny_reader):
    from dpr_components.serving import ServeSettings, load_service

    settings = ServeSettings(pipeline="hybrid_qa", store=str(store_dir), api_key=API_KEY,
                             params=tiny_params(tiny_question_encoder, tiny_context_encoder, tiny_reader),
                             max_body_bytes=64 * 1024, batch_window_ms=5)
    return load_service(settings)


@pytest.fixture(scope="module")
def server(service):
    """Base URL of the running server."""
    from dpr_components.serving import create_app
    from dpr_components.serving.server import background_server

    with background_server(create_app(service)) as url:
        yield url

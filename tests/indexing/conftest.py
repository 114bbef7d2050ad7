"""A small corpus, the tiny-model pipeline overrides and the unsharded reference store (built once)."""
import json

import numpy as np
import pytest
from shard_testing import store_contents

from dpr_components.cli.main import EXIT_OK, main

WORDS = "the city river capital country king queen year music film world people state new university".split()


def make_articles(count: int = 12):
    rng = np.random.default_rng(0)
    return [{"id": f"doc{i}", "title": f"Title {i}",
             "text": " ".join(rng.choice(WORDS, size=int(rng.integers(20, 260))))}
            for i in range(count)]


@pytest.fixture(scope="session")
def tiny_params(tiny_question_encoder, tiny_context_encoder):
    return [f"Retriever.query_embedding_model={tiny_question_encoder}",
            f"Retriever.passage_embedding_model={tiny_context_encoder}",
            "Retriever.max_seq_len_passage=128"]


@pytest.fixture(scope="session")
def tiny_cli(tiny_params):
    return [item for param in tiny_params for item in ("-p", param)]


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "corpus.jsonl"
    path.write_text("".join(json.dumps(a) + "\n" for a in make_articles()), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def unsharded(tmp_path_factory, corpus, tiny_cli):
    """{passage id: (content, meta, vector)} of one plain `dpr-components index` run."""
    store_dir = tmp_path_factory.mktemp("unsharded") / "store"
    assert main(["index", str(corpus), "--store", str(store_dir), "--no-progress", *tiny_cli]) == EXIT_OK
    return store_contents(store_dir)


@pytest.fixture(scope="session")
def local_ray():
    """A real local Ray instance (2 CPUs) in this process, for the tests that encode on Ray."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()

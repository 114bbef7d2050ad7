"""Ray (a real local instance, 2 CPUs): the same store as the single-process run, and a killed worker retried."""
import os
import signal

import pytest
from shard_testing import assert_same_store, store_contents

from dpr_components.indexing.ray_encoding import encode_documents, index_on_ray
from dpr_components.indexing.shards import check_shards

pytestmark = pytest.mark.slow  # Ray workers start and import the models: ~20-40 s for this module


def test_ray_run_gives_the_single_process_store(local_ray, tmp_path, corpus, tiny_params, unsharded):
    summary = index_on_ray(str(corpus), "local", store=str(tmp_path / "store"), overrides=tiny_params, shards=5,
                           workers=2, embeddings=str(tmp_path / "emb"), progress_bar=False)
    assert (summary["shards_encoded"], summary["passages"], summary["workers"]) == (5, len(unsharded), 2)
    assert len(check_shards(tmp_path / "emb")) == 5  # the streamed shards were also written, resumably
    assert_same_store(store_contents(tmp_path / "store"), unsharded)

    again = index_on_ray(str(corpus), "local", store=str(tmp_path / "store"), overrides=tiny_params, shards=5,
                         workers=2, embeddings=str(tmp_path / "emb"), progress_bar=False)
    assert (again["shards_encoded"], again["shards_from_files"]) == (0, 5)
    assert_same_store(store_contents(tmp_path / "store"), unsharded)


def test_worker_killed_mid_shard_is_retried(local_ray, tmp_path, corpus, tiny_params, unsharded):
    marker = str(tmp_path / "killed-once")

    def encode_but_die_once(config, documents, threads):
        # Real work on half of the shard, then the worker process is killed (SIGKILL) the first time only.
        encode_documents(config, documents[: len(documents) // 2], threads)
        if any(document["id"] == "doc5" for document in documents) and not os.path.exists(marker):
            open(marker, "x").close()
            os.kill(os.getpid(), signal.SIGKILL)
        return encode_documents(config, documents, threads)

    summary = index_on_ray(str(corpus), "local", store=str(tmp_path / "store"), overrides=tiny_params, shards=4,
                           workers=2, progress_bar=False, encode=encode_but_die_once)
    assert os.path.exists(marker), "no worker was killed: the test did not exercise a retry"
    assert (summary["shards_encoded"], summary["passages"]) == (4, len(unsharded))
    assert_same_store(store_contents(tmp_path / "store"), unsharded)  # every passage exactly once

"""docs/scaling.md's commands in the order the page gives them (issue 30.3): shards made anywhere, loaded into a
new store without naming the encoder, loaded twice, then a Ray run over the same embeddings folder, and
``--ray auto`` on a machine where no Ray is running."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from shard_testing import assert_same_store, store_contents

from dpr_components.cli.main import EXIT_OK, main
from dpr_components.indexing.shard_encoding import encode_shard
from dpr_components.indexing.shards import ShardError, ShardSpec, check_shards

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def emb(tmp_path_factory, corpus, tiny_cli):
    directory = tmp_path_factory.mktemp("emb")
    for index in range(2):
        argv = ["index", str(corpus), "--shard", f"{index}/2", "--embeddings", str(directory), "--json", *tiny_cli]
        assert main(argv) == EXIT_OK
    return directory


def test_shards_load_into_a_new_store_with_their_recorded_encoder(tmp_path, emb, unsharded, capsys):
    # As the page writes it: no encoder --param. The shards say which encoder made them; the default
    # facebook/dpr-* checkpoints of indexing.yml (not available offline) must not be loaded at all.
    store = tmp_path / "wiki_store"
    assert main(["index", "--embeddings", str(emb), "--store", str(store)]) == EXIT_OK, capsys.readouterr().err
    assert capsys.readouterr().out.startswith("Loaded 2 shards")
    assert_same_store(store_contents(store), unsharded)
    # and the store answers with the shards' encoder, again without naming it
    assert main(["retrieve", "title", "--store", str(store), "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)[0]["documents"]


def test_loading_the_same_shards_again_says_they_are_there(tmp_path, emb, capsys):
    store = tmp_path / "wiki_store"
    assert main(["index", "--embeddings", str(emb), "--store", str(store), "--json"]) == EXIT_OK
    first = json.loads(capsys.readouterr().out)
    assert main(["index", "--embeddings", str(emb), "--store", str(store), "--json"]) == EXIT_OK
    again = json.loads(capsys.readouterr().out)
    assert (first["shards_loaded"], first["shards_already_loaded"]) == (2, 0)
    assert (again["shards_loaded"], again["shards_already_loaded"]) == (0, 2)
    assert main(["index", "--embeddings", str(emb), "--store", str(store)]) == EXIT_OK
    assert "already" in capsys.readouterr().out


def test_a_folder_holds_one_sharding_so_it_stays_loadable(tmp_path, corpus, emb, tiny_params):
    directory = tmp_path / "emb"
    directory.mkdir()
    for path in emb.iterdir():
        (directory / path.name).write_bytes(path.read_bytes())
    with pytest.raises(ShardError, match=r"sharded in 2, this job in 3.*or 2 shards to resume"):
        encode_shard(str(corpus), ShardSpec(0, 3), str(directory), overrides=tiny_params)
    assert len(check_shards(directory)) == 2  # nothing was added: the folder still loads


@pytest.mark.slow  # a local Ray instance and its workers: ~20-40 s
def test_a_ray_run_over_the_folder_resumes_its_sharding(local_ray, tmp_path, corpus, emb, tiny_params, unsharded):
    from dpr_components.indexing.ray_encoding import index_on_ray

    directory = tmp_path / "emb"
    directory.mkdir()
    for path in emb.iterdir():
        (directory / path.name).write_bytes(path.read_bytes())
    summary = index_on_ray(str(corpus), "local", store=str(tmp_path / "store"), overrides=tiny_params,
                           embeddings=str(directory), progress_bar=False)  # the page gives no --shards
    assert (summary["shards"], summary["shards_from_files"], summary["shards_encoded"]) == (2, 2, 0)
    assert_same_store(store_contents(tmp_path / "store"), unsharded)
    with pytest.raises(ShardError, match=r"sharded in 2, this job in 3"):
        index_on_ray(str(corpus), "local", store=str(tmp_path / "store2"), overrides=tiny_params, shards=3,
                     embeddings=str(directory), progress_bar=False)
    assert len(check_shards(directory)) == 2


@pytest.mark.slow  # starts a Ray instance in a fresh process: ~20-40 s
def test_ray_auto_starts_a_local_instance_when_none_runs(tmp_path, corpus, tiny_cli):
    ray_tmp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    env = {key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"}
    env.update(PYTHONPATH=str(ROOT), RAY_TMPDIR=ray_tmp)  # no cluster was ever started there
    try:
        done = subprocess.run([sys.executable, "-m", "dpr_components", "index", str(corpus), "--ray", "auto",
                               "--store", str(tmp_path / "store"), "--no-progress", *tiny_cli],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "local Ray" in done.stdout and "passages" in done.stdout

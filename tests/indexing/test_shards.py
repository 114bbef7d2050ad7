"""Shard files: N shards loaded in any order equal one unsharded run; bad shard sets are refused by name."""
import json
import shutil

import pytest
from shard_testing import assert_same_store, store_contents

from dpr_components.cli.main import EXIT_OK, EXIT_USAGE, main
from dpr_components.indexing.shard_encoding import PassageEncoder, encode_shard
from dpr_components.indexing.shards import ShardError, ShardSpec, check_shards, load_shards
from dpr_components.stores.hybrid_document_store import HybridDocumentStore

SHARDS = 4


@pytest.fixture(scope="module")
def encoder(tiny_params):
    encoder = PassageEncoder.load("indexing", tiny_params)
    yield encoder
    encoder.close()


@pytest.fixture(scope="module")
def shard_dir(tmp_path_factory, corpus, encoder):
    directory = tmp_path_factory.mktemp("shards")
    for index in (2, 0, 3, 1):  # encoded out of order, as independent machines would
        summary = encode_shard(str(corpus), ShardSpec(index, SHARDS), str(directory), encoder=encoder)
        assert not summary["skipped"] and summary["passages"] > 0
    return directory


def test_document_ranges_tile_the_corpus():
    for documents, count in [(10, 3), (3, 8), (21_015_324, 8)]:
        ranges = [ShardSpec(i, count).document_range(documents) for i in range(count)]
        assert ranges[0][0] == 0 and ranges[-1][1] == documents
        assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
        assert max(e - s for s, e in ranges) - min(e - s for s, e in ranges) <= 1


def test_shards_in_any_order_equal_one_unsharded_run(tmp_path, shard_dir, unsharded, tiny_cli, capsys):
    shuffled = tmp_path / "copied"
    shuffled.mkdir()
    for path in sorted(shard_dir.iterdir(), reverse=True):  # another discovery order (and file times)
        shutil.copy(path, shuffled / path.name)
    store = tmp_path / "store"
    assert main(["index", "--embeddings", str(shuffled), "--store", str(store), "--json", *tiny_cli]) == EXIT_OK
    summary = json.loads(capsys.readouterr().out)
    assert summary["shards"] == SHARDS and summary["passages"] == len(unsharded)
    assert_same_store(store_contents(store), unsharded)


def test_shard_command_is_resumable(tmp_path, corpus, shard_dir, tiny_cli, capsys):
    directory = tmp_path / "emb"
    argv = ["index", str(corpus), "--shard", "1/4", "--embeddings", str(directory), "--json", *tiny_cli]
    assert main(argv) == EXIT_OK
    first = json.loads(capsys.readouterr().out)
    assert main(argv) == EXIT_OK
    again = json.loads(capsys.readouterr().out)
    assert (first["skipped"], again["skipped"]) == (False, True) and first["passages"] == again["passages"] > 0
    # A shard of the same corpus made by the same encoder elsewhere counts as done too.
    shutil.copy(shard_dir / ShardSpec(2, 4).file_name, directory)
    assert main([*argv[:3], "2/4", *argv[4:]]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["skipped"] is True


def test_missing_shard_is_named(tmp_path, shard_dir):
    for path in shard_dir.iterdir():
        if path.name != ShardSpec(2, SHARDS).file_name:
            shutil.copy(path, tmp_path / path.name)
    with pytest.raises(ShardError, match=r"missing.*2/4 \(embeddings-00002-of-00004\.safetensors\)"):
        check_shards(tmp_path)


def test_duplicated_shard_is_named(tmp_path, shard_dir):
    for path in shard_dir.iterdir():
        shutil.copy(path, tmp_path / path.name)
    shutil.copy(shard_dir / ShardSpec(1, SHARDS).file_name, tmp_path / "copy-of-shard-1.safetensors")
    with pytest.raises(ShardError, match=r"1/4 is in .* twice: copy-of-shard-1\.safetensors and embeddings-00001"):
        check_shards(tmp_path)


def test_shards_of_another_sharding_are_refused(tmp_path, corpus, shard_dir, encoder):
    encode_shard(str(corpus), ShardSpec(0, 3), str(tmp_path / "elsewhere"), encoder=encoder)  # overlaps 0 and 1 of 4
    for path in [*shard_dir.iterdir(), *(tmp_path / "elsewhere").iterdir()]:  # files copied together by hand
        shutil.copy(path, tmp_path / path.name)
    with pytest.raises(ShardError, match=r"embeddings-00000-of-00003\.safetensors is shard 0/3"):
        check_shards(tmp_path)


def test_foreign_encoder_shard_is_named_and_nothing_is_written(tmp_path, corpus, shard_dir, tiny_params,
                                                                tiny_question_encoder):
    for path in shard_dir.iterdir():
        if path.name != ShardSpec(3, SHARDS).file_name:
            shutil.copy(path, tmp_path / path.name)
    # Shard 3 embedded elsewhere by another (here: the question) encoder, then copied in.
    other = PassageEncoder.load("indexing",
                                [*tiny_params, f"Retriever.passage_embedding_model={tiny_question_encoder}"])
    try:
        made = encode_shard(str(corpus), ShardSpec(3, SHARDS), str(tmp_path / "elsewhere"), encoder=other)
    finally:
        other.close()
    shutil.copy(made["path"], tmp_path)
    store = HybridDocumentStore(path=str(tmp_path / "store"), progress_bar=False)
    try:
        with pytest.raises(ShardError, match=r"embeddings-00003-of-00004\.safetensors was embedded by another "
                                             r"encoder .*passage_"):
            load_shards(tmp_path, store, progress_bar=False)
        assert store.get_document_count() == 0
    finally:
        store.close()


def test_cli_refusal_is_one_line(tmp_path, shard_dir, tiny_cli, capsys):
    for path in list(shard_dir.iterdir())[:2]:
        shutil.copy(path, tmp_path / path.name)
    assert main(["index", "--embeddings", str(tmp_path), "--store", str(tmp_path / "s"), *tiny_cli]) == EXIT_USAGE
    error = capsys.readouterr().err
    assert error.startswith("error: 2 of 4 shards missing") and error.count("\n") == 1

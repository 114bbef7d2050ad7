"""Killed shard runs leave temporary directories (a scratch store, half-written shard files): the next run removes
them, and its own scratch store goes when it ends."""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from dpr_components.cli.main import EXIT_OK, main
from dpr_components.indexing.shards import ShardSpec


def test_a_shard_run_removes_what_killed_runs_left(tmp_path, corpus, tiny_cli, capsys):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = dead.stdout.strip()
    scratch_root = Path(tempfile.gettempdir()) / "dpr-components"
    scratch_root.mkdir(exist_ok=True)
    killed_scratch = scratch_root / f".tmp-{pid}-shard-store-abc123"
    (killed_scratch / "store").mkdir(parents=True)
    embeddings = tmp_path / "emb"
    embeddings.mkdir()
    half_written = embeddings / f".tmp-{pid}-0000abcd-{ShardSpec(1, 4).file_name}"
    half_written.write_bytes(b"half")

    assert main(["index", str(corpus), "--shard", "1/4", "--embeddings", str(embeddings), "--json",
                 *tiny_cli]) == EXIT_OK
    capsys.readouterr()
    assert not killed_scratch.exists() and not half_written.exists()
    assert sorted(p.name for p in embeddings.iterdir()) == [ShardSpec(1, 4).file_name]
    assert not list(scratch_root.glob(f".tmp-{os.getpid()}-*"))  # this run's own scratch store is gone too

"""``python -m dpr_components`` as a real process (exit status, one-line error on stderr) and ``--help``."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*argv):
    env = dict(os.environ, HAYSTACK_TELEMETRY_ENABLED="False", HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "dpr_components", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_module_entry_point_reports_errors_in_one_line():
    done = run("retrieve", "who?", "--pipeline", "no_such_pipeline")
    assert done.returncode == 2
    assert done.stderr.startswith("error: Pipeline file 'no_such_pipeline' not found.")
    assert done.stderr.count("\n") == 1 and done.stdout == ""


def test_help_lists_the_commands_and_bundled_pipelines(capsys):
    from dpr_components.cli.main import main

    with pytest.raises(SystemExit, match="^0$"):
        main(["--help"])
    text = capsys.readouterr().out
    for word in ("index", "retrieve", "ask", "eval", "sweep", "demo", "hybrid_qa", "RETRIEVER_PARAMS_TOP_K"):
        assert word in text

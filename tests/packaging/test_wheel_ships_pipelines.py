"""A non-editable install of the wheel carries the bundled pipelines: ``--pipeline hybrid_qa`` works from it.

Builds the wheel from this checkout (no network: ``--no-build-isolation``), installs it without
dependencies into a fresh venv whose dependencies come from the test interpreter's site-packages (a
``.pth`` line, which does not run that site-packages' editable-install hook), and runs the installed
``dpr-components`` from a directory outside the checkout.
"""
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(argv, cwd, **kwargs):
    env = dict(os.environ, HAYSTACK_TELEMETRY_ENABLED="False", HF_HUB_OFFLINE="1", PYTHONPATH="")
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, **kwargs)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    work = tmp_path_factory.mktemp("wheel")
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                  "-w", str(work / "dist"), str(ROOT)], cwd=work)
    assert built.returncode == 0, built.stderr
    wheel = next((work / "dist").glob("dpr_components-*.whl"))
    venv = work / "venv"
    assert _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=work).returncode == 0
    python = venv / "bin" / "python"
    done = _run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index",
                 str(wheel)], cwd=work)
    assert done.returncode == 0, done.stderr
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     cwd=work).stdout.strip())
    (site / "test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return venv, work


@pytest.mark.slow  # builds a wheel and starts the installed command (30-60 s on 2 busy cores)
def test_the_installed_wheel_finds_and_loads_the_bundled_pipelines(installed, tmp_path):
    venv, work = installed
    probe = ("import importlib.util, pathlib; origin = importlib.util.find_spec('dpr_components').origin; "  # no import
             "print(origin); print(' '.join(p.stem for p in (pathlib.Path(origin).parent / 'pipelines' / 'bundled')"
             ".glob('*.yml')))")
    done = _run([str(venv / "bin" / "python"), "-c", probe], cwd=work)
    assert done.returncode == 0, done.stderr
    location, names = done.stdout.splitlines()
    assert location.startswith(str(venv)) and not location.startswith(str(ROOT))  # the wheel, not the checkout
    assert {"hybrid_qa", "indexing", "dense_retrieval"} <= set(names.split())
    # The YAML is found and read (without it: "Pipeline file 'hybrid_qa' not found"): the installed command
    # gets as far as the store, which was never built.
    command = str(venv / "bin" / "dpr-components")
    done = _run([command, "retrieve", "q", "--pipeline", "hybrid_qa", "--store", str(tmp_path / "none")], cwd=work)
    assert done.returncode == 2, done.stderr
    assert "does not exist. Build it first" in done.stderr and "not found" not in done.stderr

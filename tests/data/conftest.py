"""The mini Wikipedia benchmark, built once per test session (about 10 s of CPU)."""
import pytest

from dpr_components.data.wikipedia_mini import build_mini_wikipedia


@pytest.fixture(scope="session")
def mini_wikipedia(tmp_path_factory):
    """(directory, manifest) of a freshly built mini Wikipedia benchmark."""
    directory = tmp_path_factory.mktemp("mini_wikipedia")
    return directory, build_mini_wikipedia(directory)

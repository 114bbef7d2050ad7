"""Where pipeline YAML files come from, and reading one safely.

The bundled pipelines live in the repository's top-level ``pipelines/`` folder. A wheel ships the same files
as package data under ``dpr_components/pipelines/bundled/`` (``setup.py`` maps that package onto the
top-level folder), so ``--pipeline hybrid_qa`` works after a plain ``pip install`` as well as in a checkout.

Usage::

    from dpr_components.pipelines.files import bundled_pipelines, read_pipeline_yaml

    print(bundled_pipelines())                      # ['bm25_retrieval', 'dense_qa', ...]
    config = read_pipeline_yaml("hybrid_qa")        # plain data from yaml.safe_load, shape checked
    print([component["name"] for component in config["components"]])
"""
from pathlib import Path
from typing import Any, Dict, List, Union

import yaml

from dpr_components.errors import ConfigurationError

_PACKAGED_DIR = Path(__file__).resolve().with_name("bundled")  # in an installed wheel
_CHECKOUT_DIR = Path(__file__).resolve().parents[2] / "pipelines"  # in a source checkout / editable install


class PipelineFileError(ConfigurationError):
    """The pipeline YAML is missing, unreadable or does not describe a valid pipeline."""


def bundled_dir() -> Path:
    """The folder that holds the bundled ``*.yml`` pipelines (package data, or the checkout's ``pipelines/``)."""
    return _PACKAGED_DIR if any(_PACKAGED_DIR.glob("*.yml")) else _CHECKOUT_DIR


def bundled_pipelines() -> List[str]:
    """Names of the bundled pipelines (usable as ``--pipeline NAME`` or ``load_pipeline(NAME)``)."""
    return sorted(path.stem for path in bundled_dir().glob("*.yml"))


def resolve_pipeline_path(name_or_path: Union[str, Path]) -> Path:
    """A YAML path as given, or the bundled pipeline of that name (``hybrid_qa`` -> ``.../hybrid_qa.yml``)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    bundled = bundled_dir() / (f"{path.name}.yml" if path.suffix == "" else path.name)
    if len(path.parts) == 1 and bundled.is_file():
        return bundled
    raise PipelineFileError(
        f"Pipeline file {str(name_or_path)!r} not found. Give a YAML path or one of the bundled pipelines: "
        f"{', '.join(bundled_pipelines())}."
    )


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if b"\x00" in data:
        raise PipelineFileError(f"{str(path)!r} is a binary file, not YAML: give the pipeline's .yml text file.")
    try:
        return data.decode("utf-8-sig")  # a leading byte-order mark is accepted
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise PipelineFileError(
            f"{str(path)!r} is not UTF-8 text (line {line}): save the pipeline YAML as UTF-8."
        ) from None


def read_pipeline_yaml(name_or_path: Union[str, Path]) -> Dict[str, Any]:
    """Parse a pipeline file with ``yaml.safe_load`` (plain data only) and check its top-level shape."""
    path = resolve_pipeline_path(name_or_path)
    try:
        config = yaml.safe_load(_read_text(path))
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        position = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        problem = getattr(error, "problem", None) or str(error)
        raise PipelineFileError(f"{str(path)!r} is not valid YAML{position}: {problem}.") from None
    if not isinstance(config, dict) or not isinstance(config.get("components"), list) or not config.get("pipelines"):
        raise PipelineFileError(
            f"{str(path)!r} is not a Haystack pipeline: expected the keys `version`, `components` (a list of "
            "{name, type, params}) and `pipelines` (a list of {name, nodes})."
        )
    for number, component in enumerate(config["components"], start=1):
        if not isinstance(component, dict) or "name" not in component or "type" not in component:
            raise PipelineFileError(f"{str(path)!r}: component #{number} needs a `name` and a `type`.")
        if not isinstance(component.get("params") or {}, dict):
            raise PipelineFileError(f"{str(path)!r}: `params` of component {component['name']!r} must be a mapping.")
    return config

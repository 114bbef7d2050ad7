"""Load a YAML pipeline safely, apply overrides, and check it with messages that say what to fix.

Usage::

    from dpr_components.cli.pipeline_config import load_pipeline

    pipeline = load_pipeline(
        "dense_retrieval",                       # a bundled name (pipelines/dense_retrieval.yml) or a path
        params=["Retriever.query_embedding_model=/models/my-question-encoder", "Retriever.top_k=5"],
        store="my_store",                        # sets `path` of every HybridDocumentStore
    )
    print(pipeline.run(query="who wrote animal farm?")["documents"][0].content)

Overrides are applied to the YAML's component parameters before anything is instantiated, in this order
(later wins): the file, environment variables ``<COMPONENT>_PARAMS_<PARAM>`` (Haystack's naming, e.g.
``RETRIEVER_PARAMS_TOP_K=5``), ``params`` (``Component.param=value``), ``store``. Values are parsed as YAML
scalars, so ``5`` is an int, ``true`` a bool, ``null`` None. Only node types registered with Haystack can be
instantiated (``import dpr_components`` registers this project's nodes); the YAML is read with
``yaml.safe_load``, which builds plain data only.
"""
import copy
import difflib
import inspect
import os
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Type, Union

import yaml

from dpr_components.errors import ConfigurationError

PIPELINES_DIR = Path(__file__).resolve().parents[2] / "pipelines"
STORE_TYPES = ("HybridDocumentStore",)
REGISTRATION_HINT = (
    "Node types are the classes registered with Haystack when their module is imported: "
    "`import dpr_components` before `Pipeline.load_from_yaml` registers this project's nodes "
    "(the dpr-components CLI does it for you)."
)


class PipelineFileError(ConfigurationError):
    """The pipeline YAML is missing, unreadable or does not describe a valid pipeline."""


def bundled_pipelines() -> List[str]:
    """Names of the pipelines shipped in ``pipelines/`` (usable as ``--pipeline NAME``)."""
    return sorted(path.stem for path in PIPELINES_DIR.glob("*.yml"))


def resolve_pipeline_path(name_or_path: Union[str, Path]) -> Path:
    """A YAML path as given, or the bundled pipeline of that name (``hybrid_qa`` -> ``pipelines/hybrid_qa.yml``)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    bundled = PIPELINES_DIR / f"{path.name}.yml" if path.suffix == "" else PIPELINES_DIR / path.name
    if len(path.parts) == 1 and bundled.is_file():
        return bundled
    raise PipelineFileError(
        f"Pipeline file {str(name_or_path)!r} not found. Give a YAML path or one of the bundled pipelines: "
        f"{', '.join(bundled_pipelines())}."
    )


def read_pipeline_yaml(path: Union[str, Path]) -> Dict[str, Any]:
    """Parse a pipeline file with ``yaml.safe_load`` and check its top-level shape."""
    path = resolve_pipeline_path(path)
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
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
    for position, component in enumerate(config["components"], start=1):
        if not isinstance(component, dict) or "name" not in component or "type" not in component:
            raise PipelineFileError(f"{str(path)!r}: component #{position} needs a `name` and a `type`.")
        if not isinstance(component.get("params") or {}, dict):
            raise PipelineFileError(f"{str(path)!r}: `params` of component {component['name']!r} must be a mapping.")
    return config


def parse_value(text: str) -> Any:
    """A YAML scalar from text: ``5`` -> 5, ``0.5`` -> 0.5, ``true`` -> True, ``null`` -> None, else the string."""
    try:
        return yaml.safe_load(text) if text.strip() else text
    except yaml.YAMLError:
        return text


def parse_assignment(assignment: str) -> Tuple[str, str, Any]:
    """``"Retriever.top_k=5"`` -> ``("Retriever", "top_k", 5)``."""
    target, equals, value = assignment.partition("=")
    component, dot, param = target.strip().partition(".")
    if not equals or not dot or not component or not param:
        raise ConfigurationError(
            f"Cannot read the override {assignment!r}: write COMPONENT.PARAM=VALUE, "
            "e.g. --param Retriever.query_embedding_model=/path/to/encoder."
        )
    return component, param.strip(), parse_value(value)


def environment_overrides(config: Mapping[str, Any], environ: Mapping[str, str]) -> List[Tuple[str, str, Any]]:
    """Haystack-style ``<COMPONENT>_PARAMS_<PARAM>`` variables that name a component of ``config``."""
    overrides = []
    for component in config["components"]:
        prefix = f"{component['name']}_PARAMS_".upper()
        for key, value in environ.items():
            if key.startswith(prefix) and len(key) > len(prefix):
                overrides.append((component["name"], key[len(prefix):].lower(), parse_value(value)))
    return overrides


def apply_overrides(
    config: Mapping[str, Any],
    params: Iterable[str] = (),
    store: Optional[str] = None,
    environ: Optional[Mapping[str, str]] = None,
) -> Dict[str, Any]:
    """A copy of ``config`` with environment, ``Component.param=value`` and store-path overrides applied."""
    config = copy.deepcopy(dict(config))
    components = {component["name"]: component for component in config["components"]}
    overrides = environment_overrides(config, os.environ if environ is None else environ)
    overrides += [parse_assignment(assignment) for assignment in params]
    for name, param, value in overrides:
        if name not in components:
            raise ConfigurationError(
                f"Override {name}.{param}: the pipeline has no component {name!r}. "
                f"Components: {', '.join(components)}.{_did_you_mean(name, components)}"
            )
        components[name].setdefault("params", {})
        components[name]["params"] = dict(components[name]["params"] or {}, **{param: value})
    if store is not None:
        stores = [component for component in components.values() if component["type"] in STORE_TYPES]
        if not stores:
            raise ConfigurationError(
                f"--store was given but the pipeline has no {' or '.join(STORE_TYPES)} component to point at it."
            )
        for component in stores:
            component["params"] = dict(component.get("params") or {}, path=str(store))
    return config


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    return f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def node_class(type_name: str, component_name: str = "") -> Type:
    """The registered Haystack class called ``type_name``, or an error listing close matches."""
    from haystack.nodes.base import BaseComponent

    registered = BaseComponent._subclasses
    if type_name in registered:
        return registered[type_name]
    close = difflib.get_close_matches(type_name, list(registered), n=4, cutoff=0.6)
    suggestion = f" Close matches: {', '.join(close)}." if close else ""
    where = f" (component {component_name!r})" if component_name else ""
    raise ConfigurationError(f"Unknown component type {type_name!r}{where}.{suggestion} {REGISTRATION_HINT}")


def check_components(config: Mapping[str, Any]) -> None:
    """Check every component's type and parameters, raising one clear :class:`ConfigurationError`."""
    names = {component["name"] for component in config["components"]}
    for component in config["components"]:
        name, type_name = component["name"], component["type"]
        cls = node_class(type_name, name)
        params = component.get("params") or {}
        signature = inspect.signature(cls.__init__)
        accepted = [p for p in list(signature.parameters)[1:] if p not in ("args", "kwargs")]
        for param in params:
            if param not in accepted:
                raise ConfigurationError(
                    f"Component {name!r} ({type_name}) has no parameter {param!r}.{_did_you_mean(param, accepted)} "
                    f"Its parameters: {', '.join(accepted)}."
                )
        for param in accepted:
            default = signature.parameters[param].default
            if default is inspect.Parameter.empty and param not in params:
                raise ConfigurationError(f"Component {name!r} ({type_name}) needs the parameter {param!r}.")
        _check_param_types(cls, name, type_name, params, names)


def _check_param_types(cls: Type, name: str, type_name: str, params: Mapping[str, Any], names: set) -> None:
    from haystack.nodes._json_schema import create_schema_for_node_class
    from jsonschema import Draft7Validator

    definitions, reference = create_schema_for_node_class(cls)
    schema = {"definitions": definitions, **definitions[reference["$ref"].rsplit("/", 1)[-1]]["properties"]["params"]}
    for error in sorted(Draft7Validator(schema).iter_errors(dict(params)), key=lambda e: list(e.path)):
        param = error.path[0] if error.path else None
        if param is None:
            continue  # unknown and missing parameters were reported above with better messages
        value = params[param]
        if isinstance(value, str) and value in names:
            continue  # a reference to another component
        expected = _expected_types(error.schema)
        raise ConfigurationError(
            f"Component {name!r} ({type_name}): parameter {param!r} got {value!r}, expected {expected}."
        )


def _expected_types(schema: Mapping[str, Any]) -> str:
    options = schema.get("anyOf") or [schema]
    kinds = []
    for option in options:
        if "enum" in option:
            kinds.append("one of " + ", ".join(repr(v) for v in option["enum"]))
        elif "type" in option:
            kinds.extend([option["type"]] if isinstance(option["type"], str) else option["type"])
        else:
            kinds.append("a component name")
    return " or ".join(dict.fromkeys(kinds))


def load_pipeline(
    pipeline: Union[str, Path],
    params: Iterable[str] = (),
    store: Optional[str] = None,
    pipeline_name: Optional[str] = None,
    environ: Optional[Mapping[str, str]] = None,
):
    """Read, override, check and build a Haystack ``Pipeline`` from a YAML file or bundled pipeline name."""
    import dpr_components  # noqa: F401  (registers this project's nodes with Haystack)
    from haystack import Pipeline

    config = apply_overrides(read_pipeline_yaml(pipeline), params=params, store=store, environ=environ)
    check_components(config)
    choices = [definition.get("name") for definition in config["pipelines"]]
    if pipeline_name is None and len(choices) > 1:
        raise ConfigurationError(
            f"{str(pipeline)!r} defines several pipelines ({', '.join(map(str, choices))}): choose one with "
            "--pipeline-name."
        )
    if pipeline_name is not None and pipeline_name not in choices:
        raise ConfigurationError(
            f"{str(pipeline)!r} has no pipeline {pipeline_name!r}. Pipelines: {', '.join(map(str, choices))}."
        )
    # Environment overrides were applied above with typed values; Haystack's own pass would set strings.
    return Pipeline.load_from_config(config, pipeline_name=pipeline_name, overwrite_with_env_variables=False)


def component_params(pipeline: Union[str, Path], params: Iterable[str] = (), store: Optional[str] = None,
                     environ: Optional[Mapping[str, str]] = None) -> Dict[str, Dict[str, Any]]:
    """``{component name: params}`` after overrides, without instantiating anything (for pre-flight checks)."""
    config = apply_overrides(read_pipeline_yaml(pipeline), params=params, store=store, environ=environ)
    return {component["name"]: dict(component.get("params") or {}) for component in config["components"]}

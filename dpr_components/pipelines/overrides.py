"""Component parameter overrides: ``--param Component.param=value``, environment variables, the store path.

Overrides are applied to the YAML's component parameters before anything is instantiated, in this order
(later wins): the file, environment variables ``<COMPONENT>_PARAMS_<PARAM>`` (Haystack's naming, e.g.
``RETRIEVER_PARAMS_TOP_K=5``), ``overrides``, ``store`` (sets ``path`` of every HybridDocumentStore). Text
values are parsed as YAML scalars, so ``5`` is an int, ``true`` a bool, ``null`` None.

Usage::

    from dpr_components.pipelines.files import read_pipeline_yaml
    from dpr_components.pipelines.overrides import apply_overrides

    config = apply_overrides(read_pipeline_yaml("dense_retrieval"),
                             ["Retriever.top_k=5"],                 # or {"Retriever.top_k": 5}
                             store="my_store", environ={})
    [c["params"]["top_k"] for c in config["components"] if c["name"] == "Retriever"]   # [5]
"""
import copy
import difflib
import os
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

import yaml

from dpr_components.errors import ConfigurationError

STORE_TYPES = ("HybridDocumentStore",)
# "Component.param=value" strings (as on the command line) or {"Component.param": value}.
Overrides = Union[Iterable[str], Mapping[str, Any]]
Override = Tuple[str, str, Any]


def parse_value(text: str) -> Any:
    """A YAML scalar from text: ``5`` -> 5, ``0.5`` -> 0.5, ``true`` -> True, ``null`` -> None, else the string."""
    try:
        return yaml.safe_load(text) if text.strip() else text
    except yaml.YAMLError:
        return text


def _split_target(target: str, example: str) -> Tuple[str, str]:
    component, dot, param = target.strip().partition(".")
    if not dot or not component or not param.strip():
        raise ConfigurationError(
            f"Cannot read the override {example!r}: write COMPONENT.PARAM=VALUE, "
            "e.g. Retriever.query_embedding_model=/path/to/encoder."
        )
    return component, param.strip()


def parse_assignment(assignment: str) -> Override:
    """``"Retriever.top_k=5"`` -> ``("Retriever", "top_k", 5)``."""
    target, equals, value = assignment.partition("=")
    if not equals:
        _split_target("", assignment)  # raises the explanation
    component, param = _split_target(target, assignment)
    return component, param, parse_value(value)


def parse_overrides(overrides: Optional[Overrides]) -> List[Override]:
    """``(component, param, value)`` triples from strings or a ``{"Component.param": value}`` mapping."""
    if overrides is None:
        return []
    if isinstance(overrides, str):
        overrides = [overrides]
    if isinstance(overrides, Mapping):
        return [(*_split_target(key, f"{key}={value}"), value) for key, value in overrides.items()]
    return [parse_assignment(assignment) for assignment in overrides]


def environment_overrides(config: Mapping[str, Any], environ: Mapping[str, str]) -> List[Override]:
    """Haystack-style ``<COMPONENT>_PARAMS_<PARAM>`` variables that name a component of ``config``."""
    overrides = []
    for component in config["components"]:
        prefix = f"{component['name']}_PARAMS_".upper()
        for key, value in environ.items():
            if key.startswith(prefix) and len(key) > len(prefix):
                overrides.append((component["name"], key[len(prefix):].lower(), parse_value(value)))
    return overrides


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    return f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def apply_overrides(
    config: Mapping[str, Any],
    overrides: Optional[Overrides] = (),
    store: Optional[str] = None,
    environ: Optional[Mapping[str, str]] = None,
) -> Dict[str, Any]:
    """A copy of ``config`` with environment, ``overrides`` and store-path overrides applied."""
    changed = copy.deepcopy(dict(config))
    components = {component["name"]: component for component in changed["components"]}
    changes = environment_overrides(changed, os.environ if environ is None else environ)
    changes += parse_overrides(overrides)
    for name, param, value in changes:
        if name not in components:
            raise ConfigurationError(
                f"Override {name}.{param}: the pipeline has no component {name!r}. "
                f"Components: {', '.join(components)}.{did_you_mean(name, components)}"
            )
        components[name]["params"] = dict(components[name].get("params") or {}, **{param: value})
    if store is not None:
        stores = [component for component in components.values() if component["type"] in STORE_TYPES]
        if not stores:
            raise ConfigurationError(
                f"store was given but the pipeline has no {' or '.join(STORE_TYPES)} component to point at it.",
                parameter="store")
        for component in stores:
            component["params"] = dict(component.get("params") or {}, path=str(store))
    return changed

"""Check a pipeline config's components before anything is built, with messages that say what to fix.

Only node types registered with Haystack can be instantiated (``import dpr_components`` registers this
project's nodes). Every parameter is checked against the class's ``__init__``: unknown and missing names,
JSON-schema types, and references such as ``document_store: DocumentStore`` that must name a component.

Usage::

    import dpr_components  # registers the nodes
    from dpr_components.pipelines.checks import check_components
    from dpr_components.pipelines.files import read_pipeline_yaml

    check_components(read_pipeline_yaml("hybrid_qa"))   # raises ConfigurationError on a mistake
"""
import difflib
import inspect
import typing
from typing import Any, Mapping, Set, Type

from dpr_components.errors import ConfigurationError
from dpr_components.pipelines.overrides import did_you_mean

REGISTRATION_HINT = (
    "Node types are the classes registered with Haystack when their module is imported: "
    "`import dpr_components` before `Pipeline.load_from_yaml` registers this project's nodes "
    "(the dpr-components CLI does it for you)."
)


def node_class(type_name: str, component_name: str = "") -> Type:
    """The registered Haystack class called ``type_name``, or an error listing close matches."""
    from dpr_components import register_nodes
    from dpr_components.fastpaths.haystack_nodes import registered_nodes

    register_nodes()

    registered = registered_nodes()
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
                    f"Component {name!r} ({type_name}) has no parameter {param!r}.{did_you_mean(param, accepted)} "
                    f"Its parameters: {', '.join(accepted)}."
                )
        for param in accepted:
            default = signature.parameters[param].default
            if default is inspect.Parameter.empty and param not in params:
                raise ConfigurationError(f"Component {name!r} ({type_name}) needs the parameter {param!r}.")
        _check_references(signature, name, type_name, params, names)
        _check_param_types(cls, name, type_name, params, names)


def _takes_component(annotation: Any) -> bool:
    """Whether a parameter annotated so is given as the name of another component (a document store...)."""
    from haystack.nodes.base import BaseComponent

    options = typing.get_args(annotation) or (annotation,)
    return any(inspect.isclass(option) and issubclass(option, BaseComponent) for option in options)


def _check_references(signature: inspect.Signature, name: str, type_name: str, params: Mapping[str, Any],
                      names: Set[str]) -> None:
    for param, value in params.items():
        if value is None or not _takes_component(signature.parameters[param].annotation):
            continue
        if not isinstance(value, str) or value not in names:
            others = sorted(names - {name})
            raise ConfigurationError(
                f"Component {name!r} ({type_name}): {param}: {value!r} names no component of the pipeline. "
                f"Give the name of one of its components: {', '.join(others)}.{did_you_mean(str(value), others)}"
            )


def _check_param_types(cls: Type, name: str, type_name: str, params: Mapping[str, Any], names: Set[str]) -> None:
    from dpr_components.fastpaths.haystack_nodes import parameter_problems

    for param, expected in parameter_problems(cls, params).items():
        value = params[param]
        if not (isinstance(value, str) and value in names):  # a name of another component is a reference
            raise ConfigurationError(
                f"Component {name!r} ({type_name}): parameter {param!r} got {value!r}, expected {expected}.")

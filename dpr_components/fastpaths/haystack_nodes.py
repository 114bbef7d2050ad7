"""Haystack's node registry and parameter types, read through its private internals or rebuilt from public ones.

- :func:`registered_nodes`: ``BaseComponent._subclasses`` (the dict Haystack's ``__init_subclass__`` fills), or
  the same classes found by walking ``BaseComponent.__subclasses__()``.
- :func:`parameter_problems`: the parameter values that do not fit the node's ``__init__`` annotation,
  judged by the JSON schema ``haystack.nodes._json_schema`` builds for YAML validation, or by reading the
  annotations the way that schema does (str/int/float/bool/None, lists and dicts with their item types,
  Literal values; components and other classes are given by name, unresolved names take anything).

``DPR_FASTPATHS=-haystack_registry`` / ``-haystack_schema`` use the public code (tests/fastpaths: same classes,
same verdicts on every registered node).

Example::

    from dpr_components.fastpaths.haystack_nodes import parameter_problem, registered_nodes

    cls = registered_nodes()["BM25Retriever"]
    parameter_problems(cls, {"top_k": "ten", "scale_score": True})   # {'top_k': 'integer'}
"""
import inspect
import typing
from typing import Any, Dict, List, Mapping, Optional, Tuple, Type

from dpr_components.fastpaths import FastPath, enabled

Kinds = Optional[List[Tuple[str, Any]]]  # (JSON kind, what it holds); None: anything
JSON_KINDS = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null", list: "array",
              set: "array", tuple: "array", dict: "object"}
PYTHON_TYPES: Dict[str, Any] = {"string": str, "integer": int, "number": (int, float), "boolean": bool,
                                "null": type(None)}


def registered_nodes() -> Mapping[str, Type]:
    """Every node class Haystack knows, by class name (later definitions win, as in Haystack's registry)."""
    from haystack.nodes.base import BaseComponent

    if enabled(FastPath.HAYSTACK_REGISTRY):
        return BaseComponent._subclasses
    found: Dict[str, Type] = {}
    pending = [BaseComponent]
    while pending:
        for subclass in pending.pop(0).__subclasses__():
            found[subclass.__name__] = subclass
            pending.append(subclass)
    return found


def parameter_problems(cls: Type, params: Mapping[str, Any]) -> Dict[str, str]:
    """Parameter -> the kinds it expects, for each value of ``params`` its annotation refuses (by name).
    Unknown parameter names are not this function's business (they are skipped)."""
    if enabled(FastPath.HAYSTACK_SCHEMA):
        return _schema_problems(cls, params)
    annotations = {name: p.annotation for name, p in inspect.signature(cls.__init__).parameters.items()}
    return {param: _describe(_kinds(annotations[param])) for param, value in sorted(params.items())
            if param in annotations and not _fits(value, _kinds(annotations[param]))}


def _schema_problems(cls: Type, params: Mapping[str, Any]) -> Dict[str, str]:
    from haystack.nodes._json_schema import create_schema_for_node_class
    from jsonschema import Draft7Validator

    definitions, reference = create_schema_for_node_class(cls)
    schema = {"definitions": definitions, **definitions[reference["$ref"].rsplit("/", 1)[-1]]["properties"]["params"]}
    problems: Dict[str, str] = {}
    for error in sorted(Draft7Validator(schema).iter_errors(dict(params)), key=lambda e: list(e.path)):
        if error.path:  # errors without a path are unknown or missing parameters
            options = error.schema.get("anyOf") or [error.schema]
            problems.setdefault(str(error.path[0]), " or ".join(dict.fromkeys(map(_schema_kind, options))))
    return problems


def _schema_kind(option: Mapping[str, Any]) -> str:
    if "enum" in option:
        return "one of " + ", ".join(repr(value) for value in option["enum"])
    kinds = option.get("type", "a component name")
    return kinds if isinstance(kinds, str) else " or ".join(kinds)


def _kinds(annotation: Any) -> Kinds:
    """The JSON kinds Haystack's schema gives ``annotation``."""
    if annotation in (inspect.Parameter.empty, Any) or isinstance(annotation, (str, typing.ForwardRef)):
        return None  # unannotated, Any, or a name the schema does not resolve either: anything goes
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Union:
        options: List[Tuple[str, Any]] = []
        for arg in args:
            inner = _kinds(arg)
            if inner is None:
                return None
            options += inner
        return options
    if origin is typing.Literal:
        return [("enum", args)]
    kind = JSON_KINDS.get(origin or annotation)
    if origin is tuple and args and args[-1] is not Ellipsis:
        return [("tuple", args)]
    if kind in ("array", "object"):
        return [(kind, args[-1] if args else Any)]
    return [(kind or "string", None)]  # a component or any other class is given by name


def _fits(value: Any, kinds: Kinds) -> bool:
    return kinds is None or any(_fits_kind(value, kind, holds) for kind, holds in kinds)


def _fits_kind(value: Any, kind: str, holds: Any) -> bool:
    if kind == "enum":
        return value in holds
    if kind == "tuple":
        return (isinstance(value, list) and len(value) == len(holds)
                and all(_fits(item, _kinds(annotation)) for item, annotation in zip(value, holds)))
    if kind in ("array", "object"):
        items = value if isinstance(value, list) else value.values() if isinstance(value, dict) else None
        return (items is not None and isinstance(value, list) == (kind == "array")
                and all(_fits(item, _kinds(holds)) for item in items))
    return isinstance(value, bool) == (kind == "boolean") and isinstance(value, PYTHON_TYPES[kind])


def _describe(kinds: Kinds) -> str:
    return " or ".join(dict.fromkeys("one of " + ", ".join(repr(v) for v in holds) if kind == "enum"
                                     else "array" if kind == "tuple" else kind for kind, holds in kinds or []))

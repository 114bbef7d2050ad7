"""Read a pipeline YAML once, apply overrides, check it, and build the Haystack ``Pipeline``.

:func:`read_pipeline_config` parses the file and applies every override once, giving a
:class:`PipelineConfig` (plain data, nothing instantiated: cheap to inspect for pre-flight checks).
:func:`build_pipeline` builds it into a :class:`LoadedPipeline` (the Haystack ``Pipeline`` plus its nodes and
document store) with Haystack's public API only: the one builder, which the
:class:`~dpr_components.workspace.Workspace` calls with its store object and settings injected.

Usage::

    from dpr_components.pipelines.loading import build_pipeline, read_pipeline_config

    config = read_pipeline_config("bm25_retrieval", overrides=["BM25.top_k=5"], store="my_store")
    print(config.component_params()["BM25"]["top_k"], config.store_paths())      # 5 {'DocumentStore': 'my_store'}
    loaded = build_pipeline(config)   # a store of the pipeline's own; Workspace.pipeline(config) shares one
    print(loaded.root_node, loaded.output_nodes, loaded.document_store.get_document_count())
"""
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, FrozenSet, List, Mapping, Optional, Tuple, Union

from dpr_components.errors import ConfigurationError
from dpr_components.pipelines.files import read_pipeline_yaml, resolve_pipeline_path
from dpr_components.pipelines.overrides import (
    STORE_TYPES,
    Overrides,
    apply_overrides,
    environment_overrides,
    parse_overrides,
)

DEFAULT_STORE_PATH = "dpr_store"  # HybridDocumentStore's default `path`


@dataclass(frozen=True)
class PipelineConfig:
    """A pipeline YAML as read once, with every override applied; nothing is instantiated yet."""

    path: Path
    config: Dict[str, Any] = field(repr=False)
    pipeline_name: Optional[str] = None
    # (component, param) pairs set by the caller (overrides, environment, store), not by the YAML file
    overridden: FrozenSet[Tuple[str, str]] = frozenset()

    @property
    def name(self) -> str:
        """The file's stem (``hybrid_qa``): the default run name in evaluation tables."""
        return self.path.stem

    def component_params(self) -> Dict[str, Dict[str, Any]]:
        """``{component name: params}`` after overrides."""
        return {c["name"]: dict(c.get("params") or {}) for c in self.config["components"]}

    def component_types(self) -> Dict[str, str]:
        """``{component name: type name}``."""
        return {c["name"]: c["type"] for c in self.config["components"]}

    def store_paths(self) -> Dict[str, str]:
        """``{component name: path}`` of the pipeline's HybridDocumentStore components."""
        types, params = self.component_types(), self.component_params()
        return {name: str(params[name].get("path", DEFAULT_STORE_PATH))
                for name in types if types[name] in STORE_TYPES}

    def definition(self) -> Dict[str, Any]:
        """The ``{name, nodes}`` of the chosen pipeline (the only one when the YAML defines one)."""
        definitions = self.config["pipelines"]
        return next((d for d in definitions if d.get("name") == self.pipeline_name), definitions[0])

    def with_overrides(self, overrides: Overrides, explicit: bool = True) -> "PipelineConfig":
        """A copy with more ``Component.param=value`` overrides (environment variables are not re-applied);
        ``explicit``: they count as set by the caller (settings a store imposes do not)."""
        targets = {(name, param) for name, param, _ in parse_overrides(overrides)} if explicit else set()
        return PipelineConfig(self.path, apply_overrides(self.config, overrides, environ={}), self.pipeline_name,
                              self.overridden | targets)


PipelineSource = Union[str, Path, PipelineConfig]


def read_pipeline_config(
    pipeline: PipelineSource,
    pipeline_name: Optional[str] = None,
    store: Optional[str] = None,
    overrides: Optional[Overrides] = (),
    environ: Optional[Mapping[str, str]] = None,
) -> PipelineConfig:
    """Read and override a pipeline YAML (once); a ``PipelineConfig`` passes through unchanged.

    ``environ`` defaults to ``os.environ`` (for ``<COMPONENT>_PARAMS_<PARAM>`` variables); ``pipeline_name``
    chooses one pipeline of a YAML that defines several.
    """
    if isinstance(pipeline, PipelineConfig):
        if store is not None or overrides or pipeline_name not in (None, pipeline.pipeline_name):
            raise ConfigurationError("Give store, overrides and pipeline_name when reading the config, not again.")
        return pipeline
    path = resolve_pipeline_path(pipeline)
    original = read_pipeline_yaml(path)
    config = apply_overrides(original, overrides, store=store, environ=environ)
    changes = environment_overrides(original, os.environ if environ is None else environ) + parse_overrides(overrides)
    overridden = {(name, param) for name, param, _ in changes}
    if store is not None:
        overridden |= {(name, "path") for name in PipelineConfig(path, config).store_paths()}
    choices = [definition.get("name") for definition in config["pipelines"]]
    if pipeline_name is None and len(choices) > 1:
        raise ConfigurationError(
            f"{str(pipeline)!r} defines several pipelines ({', '.join(map(str, choices))}): choose one with "
            "pipeline_name.", parameter="pipeline_name")
    if pipeline_name is not None and pipeline_name not in choices:
        raise ConfigurationError(
            f"{str(pipeline)!r} has no pipeline {pipeline_name!r}. Pipelines: {', '.join(map(str, choices))}."
        )
    return PipelineConfig(path, config, pipeline_name, frozenset(overridden))


@dataclass
class LoadedPipeline:
    """A built Haystack ``Pipeline`` with the config it came from, its nodes and its document store (and the
    :class:`~dpr_components.workspace.Workspace` that built it, if one did)."""

    config: PipelineConfig
    pipeline: Any  # haystack.Pipeline
    workspace: Any = None

    @property
    def root_node(self) -> str:
        """``"Query"`` for query pipelines, ``"File"`` for indexing pipelines."""
        return self.pipeline.root_node

    @property
    def nodes(self) -> Dict[str, Any]:
        """``{node name: component}`` of the pipeline's graph (without the root)."""
        return {name: self.pipeline.get_node(name) for name in self.pipeline.graph.nodes if name != self.root_node}

    @property
    def output_nodes(self) -> List[str]:
        """Nodes nothing else reads from: the ones whose output the pipeline returns."""
        graph = self.pipeline.graph
        return [name for name in graph.nodes if graph.out_degree(name) == 0 and name != self.root_node]

    @property
    def document_store(self) -> Any:
        """The document store the nodes use (None for a pipeline without one)."""
        return self.pipeline.get_document_store()

    def node(self, name: str) -> Any:
        found = self.pipeline.get_node(name)
        if found is None:
            raise ConfigurationError(f"The pipeline has no node {name!r}. Nodes: {', '.join(self.nodes)}.")
        return found

    def require_root(self, root: str, what: str) -> "LoadedPipeline":
        """Raise unless the pipeline's first node takes ``root`` (``Query`` or ``File``)."""
        if self.root_node != root:
            raise ConfigurationError(
                f"{self.config.name!r} is not {what}: its first node takes {self.root_node}, not {root}."
            )
        return self


def build_pipeline(config: PipelineConfig, make: Optional[Callable[[str, str, Dict[str, Any]], Any]] = None
                   ) -> LoadedPipeline:
    """Check ``config`` and build its pipeline: the one builder (a :class:`~dpr_components.workspace.Workspace`
    calls it with its store and settings injected). Components are made in reference order by
    ``make(name, type, params)`` (references to other components already replaced by the objects; default:
    the registered class called with ``params``), so a caller can hand out objects it already has."""
    from haystack import Pipeline

    from dpr_components.fusion.hybrid_fusion import report_scaled_inputs
    from dpr_components.pipelines.checks import check_components

    check_components(config.config)
    definitions = {component["name"]: component for component in config.config["components"]}
    built: Dict[str, Any] = {}

    def component(name: str) -> Any:
        if name not in built:
            params = {key: component(value) if isinstance(value, str) and value in definitions and value != name
                      else value for key, value in (definitions[name].get("params") or {}).items()}
            built[name] = (make or make_component)(name, definitions[name]["type"], params)
        return built[name]

    pipeline = Pipeline()
    for node in config.definition()["nodes"]:
        pipeline.add_node(component=component(node["name"]), name=node["name"], inputs=node["inputs"])
    report_scaled_inputs(pipeline)
    return LoadedPipeline(config, pipeline)


def make_component(name: str, type_name: str, params: Dict[str, Any]) -> Any:
    """An instance of the registered node class ``type_name``; a failure names the component, as Haystack's
    loader does (the CLI finds the user's error inside)."""
    from haystack.errors import PipelineConfigError

    from dpr_components.pipelines.checks import node_class

    try:
        return node_class(type_name, name)(**params)
    except Exception as error:
        raise PipelineConfigError(f"Failed loading pipeline component '{name}': {error}") from error

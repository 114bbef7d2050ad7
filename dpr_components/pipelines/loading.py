"""Read a pipeline YAML once, apply overrides, check it, and build the Haystack ``Pipeline``.

:func:`read_pipeline_config` parses the file and applies every override once, giving a
:class:`PipelineConfig` (plain data, nothing instantiated: cheap to inspect for pre-flight checks).
:func:`load_pipeline` builds it into a :class:`LoadedPipeline`: the Haystack ``Pipeline`` plus its nodes and
document store. Every function of :mod:`dpr_components.pipelines` takes a name, a path or a
``PipelineConfig``, so a command reads its YAML exactly once.

Usage::

    from dpr_components.pipelines import load_pipeline

    loaded = load_pipeline(
        "dense_retrieval",                       # a bundled name or a YAML path
        overrides=["Retriever.query_embedding_model=/models/qenc", "Retriever.top_k=5"],
        store="my_store",                        # sets `path` of every HybridDocumentStore
    )
    print(loaded.root_node, loaded.output_nodes, loaded.document_store.get_document_count())
    print(loaded.pipeline.run(query="who wrote animal farm?")["documents"][0].content)
"""
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Tuple, Union

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

    def with_overrides(self, overrides: Overrides) -> "PipelineConfig":
        """A copy with more ``Component.param=value`` overrides (environment variables are not re-applied)."""
        targets = {(name, param) for name, param, _ in parse_overrides(overrides)}
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
            "--pipeline-name (pipeline_name=...)."
        )
    if pipeline_name is not None and pipeline_name not in choices:
        raise ConfigurationError(
            f"{str(pipeline)!r} has no pipeline {pipeline_name!r}. Pipelines: {', '.join(map(str, choices))}."
        )
    return PipelineConfig(path, config, pipeline_name, frozenset(overridden))


@dataclass
class LoadedPipeline:
    """A built Haystack ``Pipeline`` with the config it came from, its nodes and its document store."""

    config: PipelineConfig
    pipeline: Any  # haystack.Pipeline

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


def load_pipeline(
    pipeline: PipelineSource,
    pipeline_name: Optional[str] = None,
    store: Optional[str] = None,
    overrides: Optional[Overrides] = (),
    environ: Optional[Mapping[str, str]] = None,
) -> LoadedPipeline:
    """Read (unless given a :class:`PipelineConfig`), check and build a pipeline."""
    import dpr_components  # noqa: F401  (registers this project's nodes with Haystack)
    from haystack import Pipeline

    from dpr_components.fusion.hybrid_fusion import report_scaled_inputs
    from dpr_components.pipelines.checks import check_components

    config = read_pipeline_config(pipeline, pipeline_name, store, overrides, environ)
    check_components(config.config)
    # Environment overrides were applied above with typed values; Haystack's own pass would set strings.
    built = Pipeline.load_from_config(config.config, pipeline_name=config.pipeline_name,
                                      overwrite_with_env_variables=False)
    report_scaled_inputs(built)
    return LoadedPipeline(config, built)


def require_existing_stores(config: PipelineConfig) -> None:
    """Refuse to query a store directory that was never built (loading it would create an empty one)."""
    for path in config.store_paths().values():
        if not Path(path).exists():
            raise ConfigurationError(
                f"Store {path!r} does not exist. Build it first: dpr-components index CORPUS --store {path} "
                "(with the same model parameters), or point at an existing store with --store DIR."
            )


def require_passages(loaded: LoadedPipeline) -> None:
    """Refuse to query a store that holds no passages (e.g. one left behind by a failed command)."""
    store = loaded.document_store
    if store is not None and store.get_document_count() == 0:
        path = getattr(store, "path", None) or type(store).__name__
        raise ConfigurationError(
            f"Store {str(path)!r} holds no passages. Index a corpus first: dpr-components index CORPUS --store {path}."
        )

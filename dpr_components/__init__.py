"""dpr-components: Dense Passage Retrieval as Haystack 1.x pipeline nodes.

After ``import dpr_components``, Haystack knows every node by class name, so YAML pipelines can name them.
Importing this package stays cheap (the CLI answers ``--help`` in well under a second): the nodes, which
need Haystack, torch and transformers, are registered the moment Haystack is imported (at once if it
already is), and the names below are imported when first used.

Usage::

    import dpr_components                      # registers the nodes (when Haystack is imported)
    from haystack import Pipeline
    pipeline = Pipeline.load_from_yaml("my_hybrid_qa.yml")

    from dpr_components import Workspace       # the store opened once, pipelines over it
"""
import importlib
import importlib.abc
import importlib.util
import logging
import os
import sys
from typing import Any

# Before Haystack is imported: its telemetry writes ~/.haystack and calls a remote host at exit.
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

__version__ = "0.1.0"

_EXPORTS = {
    "DPRPassageSplitter": "dpr_components.preprocessing.passages",
    "DPRRetriever": "dpr_components.retrievers.dpr_retriever",
    "DPRSpanReader": "dpr_components.readers.dpr_span_reader",
    "HybridDocumentStore": "dpr_components.stores.hybrid_document_store",
    "HybridFusion": "dpr_components.fusion.hybrid_fusion",
    "Workspace": "dpr_components.workspace",
}
__all__ = sorted(_EXPORTS)


def register_nodes(strict: bool = True) -> None:
    """Import every node module: Haystack registers a node class by name when its module is imported. The
    library calls it before it builds a pipeline; ``strict=False`` skips a module that cannot be imported yet
    (one of ours is mid-import: it imported Haystack), which the library's next call registers."""
    for name, module in _EXPORTS.items():
        try:
            if name != "Workspace":
                importlib.import_module(module)
        except ImportError as error:
            if strict:
                raise
            logging.getLogger(__name__).debug("%s is registered later (%s).", name, error)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    register_nodes()
    return value


class _RegisterAfterHaystack(importlib.abc.MetaPathFinder):
    """Finds ``haystack`` as usual and registers the nodes once its package has been executed."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "haystack":
            return None
        sys.meta_path.remove(self)  # one use; also keeps the lookup below from finding this finder again
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            execute = spec.loader.exec_module

            def exec_module(module: Any) -> None:
                execute(module)
                register_nodes(strict=False)

            spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


if "haystack" in sys.modules:
    register_nodes()
else:
    sys.meta_path.insert(0, _RegisterAfterHaystack())

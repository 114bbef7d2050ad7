"""What a ``/query`` request's ``params`` may say: checked against the loaded pipeline, never passed blindly.

``params`` take Haystack's two forms: ``{"NodeName": {"param": value}}`` for one node, and
``{"param": value}`` for every node that accepts it (e.g. ``{"filters": {...}}``). A key must be a node of
the pipeline or a run parameter of one of them; a node's keys must be its run parameters. Parameters that
carry data or objects (``query``, ``documents``, ``answers``, ``index``, ``headers``...) are not settable from a
request.

Usage::

    from dpr_components.serving.params import QueryParams

    rules = QueryParams.of(pipeline)
    rules.check({"Retriever": {"top_k": 5}, "filters": {"name": ["Paris"]}})   # returns the params
    rules.check({"Retriver": {"top_k": 5}})   # InvalidRequestError naming the nodes and their parameters
    rules.check({"debug": True}, debug=False)  # {"Retriever": {"debug": True}, "Reader": {"debug": True}, ...}

``debug`` (Haystack's request field, its global ``params.debug`` and a node's ``params.Node.debug``) is given
to every node explicitly on every run: Haystack stores it on the node object, so a value left out would
carry one client's debug output into every later query.
"""
import inspect
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional

from dpr_components.serving.checks import checked_filters
from dpr_components.serving.errors import InvalidRequestError

NOT_FROM_REQUESTS = {"self", "root_node", "query", "queries", "documents", "answers", "file_paths", "labels", "meta",
                     "index", "headers", "document_store", "inputs", "add_isolated_node_eval", "kwargs", "args"}
MAX_TOP_K = 1000
_INTEGER_LIMITS = {"top_k": MAX_TOP_K, "top_k_join": MAX_TOP_K, "batch_size": 256}
_BOOLEANS = {"scale_score", "debug"}


@dataclass(frozen=True)
class QueryParams:
    """The run parameters each node of a pipeline accepts from a request."""

    by_node: Mapping[str, List[str]]

    @classmethod
    def of(cls, pipeline: Any) -> "QueryParams":
        by_node = {}
        for name in pipeline.graph.nodes:
            if name == pipeline.root_node:
                continue
            accepted = inspect.signature(pipeline.get_node(name).run).parameters
            by_node[name] = sorted(p for p in accepted if p not in NOT_FROM_REQUESTS)
        return cls(by_node)

    @property
    def global_params(self) -> List[str]:
        return sorted({param for params in self.by_node.values() for param in params})

    def describe(self) -> str:
        return "; ".join(f"{node}: {', '.join(params) or '(none)'}" for node, params in self.by_node.items())

    def check(self, params: Optional[Mapping[str, Any]], debug: bool = False) -> Dict[str, Any]:
        """The params to run with (every node's ``debug`` set explicitly) when every key and value is allowed,
        else one clear error."""
        params = self._checked(params)
        debug = bool(params.pop("debug", False)) or debug
        for node in self.by_node:
            node_params = dict(params.get(node) or {})
            node_params["debug"] = bool(node_params.get("debug", debug))
            params[node] = node_params
        return params

    @staticmethod
    def debugging(params: Mapping[str, Any]) -> bool:
        """Whether any node of checked ``params`` collects debug output."""
        return any(isinstance(value, Mapping) and value.get("debug") for value in params.values())

    def _checked(self, params: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
        if params is None:
            return {}
        if not isinstance(params, Mapping):
            raise InvalidRequestError(f"`params` must be an object, e.g. {{\"Retriever\": {{\"top_k\": 5}}}}; "
                                      f"got {type(params).__name__}.")
        for key, value in params.items():
            if key in self.by_node:
                if not isinstance(value, Mapping):
                    raise InvalidRequestError(f"params.{key} must be an object of {key}'s parameters "
                                              f"({', '.join(self.by_node[key])}), got {value!r}.")
                for param, param_value in value.items():
                    if param not in self.by_node[key] and param != "debug":
                        raise InvalidRequestError(
                            f"Node {key!r} has no run parameter {param!r}. Its parameters: "
                            f"{', '.join(self.by_node[key]) or '(none)'}."
                        )
                    _check_value(f"params.{key}.{param}", param, param_value)
            elif key in self.global_params or key == "debug":
                _check_value(f"params.{key}", key, value)
            else:
                raise InvalidRequestError(
                    f"Unknown key {key!r} in params: not a node of the pipeline nor a run parameter of one. "
                    f"Nodes and their parameters: {self.describe()}."
                )
        return dict(params)


def _check_value(where: str, param: str, value: Any) -> None:
    if param in _INTEGER_LIMITS:
        limit = _INTEGER_LIMITS[param]
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
            raise InvalidRequestError(f"{where} must be an integer from 1 to {limit}, got {value!r}.")
    elif param in _BOOLEANS and not isinstance(value, bool):
        raise InvalidRequestError(f"{where} must be true or false, got {value!r}.")
    elif param == "filters":
        checked_filters(value, where)

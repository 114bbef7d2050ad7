"""Fast paths that rely on a dependency's private internals, behind one switch, each with its plain fallback.

A fast path uses what a dependency does not promise (a transformers layer's inner modules, torch's private
oneDNN operators...), so an upgrade can break it. ``DPR_FASTPATHS`` turns fast paths off without touching the
rest: unset or ``on`` (all on), ``off`` (the plain code everywhere), ``cls_only,packed_linear`` (only those) or
``-packed_linear`` (all but that one). Each fast path checks :func:`enabled` at its entry and has a parity test
against its fallback (``tests/fastpaths/``).

Example::

    from dpr_components.fastpaths import FastPath, enabled

    if enabled(FastPath.PACKED_LINEAR):   # DPR_FASTPATHS=-packed_linear makes this False
        ...
"""
import os
from typing import Union

from dpr_components.utils.choices import Choice

SWITCH = "DPR_FASTPATHS"


class FastPath(Choice):
    """One fast path: its module, and the private internals it relies on."""

    CLS_ONLY = "cls_only"  # fastpaths/cls_only.py: transformers' BertLayer / BertAttention inner modules
    PACKED_LINEAR = "packed_linear"  # fastpaths/packed_linear.py: torch.ops.mkldnn private linear operators
    HAYSTACK_REGISTRY = "haystack_registry"  # fastpaths/haystack_nodes.py: BaseComponent._subclasses
    HAYSTACK_SCHEMA = "haystack_schema"  # fastpaths/haystack_nodes.py: haystack.nodes._json_schema
    FAISS_STORAGE = "faiss_storage"  # stores/vector_index.py: a flat index's vectors and ids read and written in place
    DOCUMENT_COPIES = "document_copies"  # stores/document_rows.py: Documents made and copied past pydantic's __init__


def enabled(path: Union[str, FastPath]) -> bool:
    """Whether ``path`` is on under ``DPR_FASTPATHS`` (read at each call, so a process can change it)."""
    path = FastPath.from_str(path)
    setting = os.environ.get(SWITCH, "on").strip().lower()
    if setting in ("", "on", "all"):
        return True
    if setting in ("off", "none"):
        return False
    names = [name.strip() for name in setting.split(",") if name.strip()]
    excluded = {FastPath.from_str(name[1:]) for name in names if name.startswith("-")}
    included = {FastPath.from_str(name) for name in names if not name.startswith("-")}
    return path not in excluded and (not included or path in included)

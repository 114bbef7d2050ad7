"""dpr-components: Dense Passage Retrieval as Haystack 1.x pipeline nodes.

Importing this package registers every node with Haystack, so YAML pipelines can name them.
"""
import os

# Before Haystack is imported: its telemetry writes ~/.haystack and calls a remote host at exit.
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

__version__ = "0.1.0"

from dpr_components.fusion.hybrid_fusion import HybridFusion  # noqa: E402
from dpr_components.preprocessing.passages import DPRPassageSplitter  # noqa: E402
from dpr_components.readers.dpr_span_reader import DPRSpanReader  # noqa: E402
from dpr_components.retrievers.dpr_retriever import DPRRetriever  # noqa: E402
from dpr_components.stores.hybrid_document_store import HybridDocumentStore  # noqa: E402

__all__ = ["DPRPassageSplitter", "DPRRetriever", "DPRSpanReader", "HybridDocumentStore", "HybridFusion"]

"""``dpr-components index`` with ``--shard``, ``--embeddings`` or ``--ray``: a thin shell over
:mod:`dpr_components.indexing` (shard files, loading them into a store, Ray).

Usage::

    dpr-components index psgs_w100.tsv --shard 0/8 --embeddings emb/     # on any machine, any order
    dpr-components index --embeddings emb/ --store wiki_store             # check all 8, load them
    dpr-components index psgs_w100.tsv --ray auto --shards 64 --store wiki_store [--embeddings emb/]
"""
import argparse
from typing import Any, Dict, Tuple

from dpr_components.errors import ConfigurationError


def index_sharded(args: argparse.Namespace) -> Tuple[Dict[str, Any], str]:
    """Run the sharded form of ``index`` that ``args`` asks for: (summary, one line for people)."""
    from dpr_components.cli.options import progress as wants_progress
    from dpr_components.cli.options import read_config
    from dpr_components.indexing.shards import ShardSpec

    progress = wants_progress(args)
    if args.ray:
        if not args.corpus:
            raise ConfigurationError("--ray encodes a corpus: give it, e.g. "
                                     "`dpr-components index corpus.tsv --ray auto`.")
        from dpr_components.indexing.ray_encoding import index_on_ray

        summary = index_on_ray(args.corpus, args.ray, pipeline=read_config(args), shards=args.shards,
                               workers=args.workers, embeddings=args.embeddings, corpus_format=args.format,
                               progress_bar=progress)
        return summary, (f"Encoded {summary['shards_encoded']} shards on {summary['workers']} workers of "
                         f"{summary['cluster']} ({summary['shards_from_files']} loaded from files): "
                         f"{summary['passages']} passages of {summary['documents']} documents into {summary['store']}.")
    if not args.embeddings:
        raise ConfigurationError("--shard I/N writes a shard file: add --embeddings DIR.")
    if args.shard:
        if not args.corpus:
            raise ConfigurationError("--shard encodes part of a corpus: give the corpus, e.g. "
                                     "`dpr-components index corpus.tsv --shard 0/8 --embeddings emb/`.")
        from dpr_components.indexing.shard_encoding import encode_shard

        summary = encode_shard(args.corpus, ShardSpec.parse(args.shard), args.embeddings, pipeline=read_config(args),
                               corpus_format=args.format)
        state = "already encoded, kept" if summary["skipped"] else "encoded"
        return summary, (f"Shard {summary['shard']} ({summary['documents']} of {summary['corpus_documents']} "
                         f"documents, {summary['passages']} passages) {state}: {summary['path']}.")
    if args.corpus:
        raise ConfigurationError("With a corpus, --embeddings needs --shard I/N (encode one shard) or --ray ADDRESS; "
                                 "without a corpus it loads the shards of DIR into the store.")
    from dpr_components.indexing.shards import load_shards
    from dpr_components.workspace import Workspace

    with Workspace.for_pipeline(read_config(args)) as workspace, workspace.writing() as store:
        summary = load_shards(args.embeddings, store, progress_bar=progress)  # no encoder loaded: the shards hold it
    summary["store"] = str(workspace.path)
    if summary["shards_loaded"] == 0:
        return summary, (f"All {summary['shards']} shards ({summary['passages']} passages) were already in "
                         f"{summary['store']}: nothing loaded.")
    already = f"; {summary['shards_already_loaded']} were already there" if summary["shards_already_loaded"] else ""
    return summary, (f"Loaded {summary['shards_loaded']} shards ({summary['passages']} passages of "
                     f"{summary['corpus_documents']} documents) into {summary['store']}{already}.")

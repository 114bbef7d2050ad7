"""The ``dpr-components serve`` sub-command: arguments -> :class:`ServeSettings` -> :func:`serve`.

Usage::

    dpr-components serve --pipeline hybrid_qa --store my_store [--host 127.0.0.1 --port 8000]
    PIPELINE_YAML_PATH=my.yml QUERY_PIPELINE_NAME=query INDEXING_PIPELINE_NAME=indexing dpr-components serve
    DPR_API_KEY=s3cret dpr-components serve --host 0.0.0.0 --store my_store     # writes need the key
"""
import argparse

from dpr_components.serving.settings import API_KEY_ENV, ServeSettings


def register(commands) -> None:
    """Add ``serve`` to the CLI's sub-command parsers (see ``COMMAND_MODULES`` in dpr_components/cli/main.py)."""
    serve = commands.add_parser(
        "serve", help="REST API (Haystack 1.x rest_api compatible) over a pipeline",
        description="Serve a query pipeline (and an indexing pipeline for /file-upload) over HTTP. "
        f"Write endpoints need the key in ${API_KEY_ENV} whenever it is set. Haystack's PIPELINE_YAML_PATH, "
        "QUERY_PIPELINE_NAME and INDEXING_PIPELINE_NAME are read when --pipeline is not given.")
    serve.add_argument("--pipeline", metavar="FILE", help="YAML file or bundled name (default: $PIPELINE_YAML_PATH, "
                       "else hybrid_qa)")
    serve.add_argument("--pipeline-name", metavar="NAME", help="query pipeline of a YAML that defines several")
    serve.add_argument("--indexing-pipeline", metavar="FILE",
                       help="YAML for /file-upload (default: the --pipeline file if it has one, else indexing)")
    serve.add_argument("--indexing-pipeline-name", metavar="NAME", help="default: indexing")
    serve.add_argument("--store", metavar="DIR", help="HybridDocumentStore directory (sets its `path` param)")
    serve.add_argument("--param", "-p", action="append", default=[], metavar="COMPONENT.PARAM=VALUE",
                       help="override a component parameter of both pipelines (repeatable)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--read-only", action="store_true", help="no upload or delete endpoints (501)")
    serve.add_argument("--max-body-mb", type=float, default=20.0, metavar="MB", help="request body limit (default 20)")
    serve.add_argument("--batch-window-ms", type=float, default=5.0, metavar="MS",
                       help="how long the first query of a batch waits for others (default 5)")
    serve.add_argument("--max-batch-size", type=int, default=32, metavar="N",
                       help="queries per pipeline pass (default 32; 1 = one query at a time)")
    serve.add_argument("--max-queue", type=int, default=256, metavar="N",
                       help="queries waiting before new ones get 503 + Retry-After (default 256)")
    serve.add_argument("--file-upload-path", metavar="DIR",
                       help="where uploads sent with keep_files=true are kept (default: $FILE_UPLOAD_PATH, "
                       "else ./file-upload)")
    serve.set_defaults(run=run_serve)


def settings_from_args(args: argparse.Namespace) -> ServeSettings:
    """Environment first (Haystack's variables, the API key), then the command line's choices."""
    return ServeSettings.from_environment(
        pipeline=args.pipeline, query_pipeline_name=args.pipeline_name, indexing_pipeline=args.indexing_pipeline,
        indexing_pipeline_name=args.indexing_pipeline_name, store=args.store, params=tuple(args.param),
        host=args.host, port=args.port, read_only=args.read_only or None,
        max_body_bytes=int(args.max_body_mb * 1024 * 1024), batch_window_ms=args.batch_window_ms,
        max_batch_size=args.max_batch_size, max_queue=args.max_queue, file_upload_path=args.file_upload_path,
    )


def run_serve(args: argparse.Namespace) -> int:
    from dpr_components.serving.server import serve

    serve(settings_from_args(args), log_level="info" if args.debug else "warning")
    return 0

"""``dpr-components backup STORE DEST`` and ``restore BACKUP STORE``: argparse and printing only; the work is
:meth:`HybridDocumentStore.backup` / :meth:`HybridDocumentStore.restore_backup` (SQLite's online backup API).

Usage::

    dpr-components backup my_store backups/monday.sqlite      # consistent, also while others index
    dpr-components restore backups/monday.sqlite my_store     # also over a crashed or corrupted store
"""
import argparse
import json


def register(commands: argparse._SubParsersAction) -> None:
    backup = commands.add_parser("backup", help="copy a store's documents database into one backup file")
    backup.add_argument("store", metavar="STORE", help="the store directory")
    backup.add_argument("destination", metavar="DEST", help="the backup file to create")
    backup.add_argument("--overwrite", action="store_true", help="replace DEST if it exists")
    backup.add_argument("--json", action="store_true", help="print JSON for programs instead of text")
    backup.set_defaults(run=run_backup)
    restore = commands.add_parser("restore", help="put a backup's content into a store (its caches are rebuilt)")
    restore.add_argument("backup", metavar="BACKUP", help="a file made by `backup`, or a store directory")
    restore.add_argument("store", metavar="STORE", help="the store directory (created if missing)")
    restore.add_argument("--json", action="store_true", help="print JSON for programs instead of text")
    restore.set_defaults(run=run_restore)


def run_backup(args: argparse.Namespace) -> int:
    from dpr_components.stores.hybrid_document_store import HybridDocumentStore

    store = HybridDocumentStore(path=args.store, read_only=True, progress_bar=False)  # a backup writes no store
    try:
        store.backup(args.destination, overwrite=args.overwrite)
        summary = {"store": args.store, "backup": args.destination, "passages": store.get_document_count()}
    finally:
        store.close()
    _print(args, summary, f"Backed up {summary['passages']} passages of {args.store} to {args.destination}.")
    return 0


def run_restore(args: argparse.Namespace) -> int:
    from dpr_components.stores.hybrid_document_store import HybridDocumentStore

    HybridDocumentStore.restore_backup(args.backup, args.store)
    store = HybridDocumentStore(path=args.store, read_only=True, progress_bar=False)
    try:
        summary = {"store": args.store, "backup": args.backup, "passages": store.get_document_count()}
    finally:
        store.close()
    _print(args, summary, f"Restored {args.store} from {args.backup}: {summary['passages']} passages. Its search "
                          f"indexes are rebuilt on first use (or by the next `index`).")
    return 0


def _print(args: argparse.Namespace, summary: dict, text: str) -> None:
    print(json.dumps(summary) if args.json else text)

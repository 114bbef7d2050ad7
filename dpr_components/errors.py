"""Exceptions users can act on. Every message names the problem and the fix.

The CLI prints any :class:`DPRComponentsError` as one line, without a traceback.
"""
from typing import Optional


class DPRComponentsError(Exception):
    """Base class for errors caused by input or configuration that the user can fix.

    ``parameter``: the library parameter the message names (``top_k``), so a shell can name its own spelling
    (the CLI says ``--top-k``). ``cli_message``: the message for CLI users when the fix is a command rather
    than the Python call the message gives (the CLI prints it instead).
    """

    def __init__(self, message: str = "", *, parameter: Optional[str] = None, cli_message: Optional[str] = None):
        super().__init__(message)
        self.parameter, self.cli_message = parameter, cli_message


class ConfigurationError(DPRComponentsError, ValueError):
    """A parameter has an invalid value (unknown mode, bad weights, wrong type...)."""


class ModelLoadError(DPRComponentsError, OSError):
    """A model could not be found or is not the kind of model the node expects."""


class StoreError(DPRComponentsError):
    """The document store refused an operation; nothing already stored was changed."""


class EmbeddingDimensionError(StoreError, ValueError):
    """Vectors whose size differs from the store's embedding dimension."""


class StoreCorruptedError(StoreError):
    """Store files are missing, unreadable or written by an incompatible version."""


class StoreNotFoundError(StoreError):
    """The path is not a document store (and the store was asked not to create one)."""


class StoreReadOnlyError(StoreError):
    """The store was opened ``read_only``, or its files or file system cannot be written."""


class TrainingDataError(DPRComponentsError, ValueError):
    """A training file is malformed (not JSON, a question without answers, a passage without text...)."""


class DiskFullError(DPRComponentsError, OSError):
    """The disk or quota that a file was being written to is full; the previous version of the file is kept."""


class StoreFullError(StoreError, DiskFullError):
    """The disk or quota holding the store is full; the write that met it was not stored."""

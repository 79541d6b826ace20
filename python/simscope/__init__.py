"""Simscope: track simulations from Python. ``Run`` logs, ``Client`` reads back, ``sync()`` uploads spooled runs."""

from . import errors
from .errors import ConnectionFailed, SimscopeError
from .logging import SimscopeHandler
from .run import CloseResult, Run
from .sync import sync

try:
    from .client import Client
except ImportError:  # pragma: no cover - written beside the Run
    pass

__version__ = "0.1.0"

__all__ = ["Client", "CloseResult", "ConnectionFailed", "Run", "SimscopeError", "SimscopeHandler", "errors", "sync"]

"""The optional packages (numpy, msgpack), or None when absent or switched off with ``SIMSCOPE_PURE=1``."""

from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType
from typing import Dict, Optional

_cache: Dict[str, Optional[ModuleType]] = {}


def pure() -> bool:
    """True when ``SIMSCOPE_PURE=1``: the package then uses the standard library only."""
    return os.environ.get("SIMSCOPE_PURE", "") not in ("", "0")


def optional(name: str) -> Optional[ModuleType]:
    """The module `name` when it is installed and ``SIMSCOPE_PURE`` is not set; looked up once per process."""
    if pure():
        return None
    if name not in _cache:
        try:
            _cache[name] = importlib.import_module(name)
        except ImportError:
            _cache[name] = None
    return _cache[name]


def loaded(name: str) -> Optional[ModuleType]:
    """The module `name` when the program has imported it already and ``SIMSCOPE_PURE`` is not set: for work
    that it speeds up by less than importing it would cost."""
    return None if pure() else sys.modules.get(name)

"""``SimscopeHandler``: records of the ``logging`` module as a run's events; and opt-in capture of print/stderr."""

from __future__ import annotations

import logging as _logging
import sys
from typing import TYPE_CHECKING, Any, Callable, List, TextIO

if TYPE_CHECKING:
    from .run import Run


def event_level(levelno: int) -> str:
    """The event level of a ``logging`` level: DEBUG → debug, INFO → info, WARNING → warning, ERROR → error,
    CRITICAL → critical (levels in between take the one below)."""
    if levelno >= _logging.CRITICAL:
        return "critical"
    if levelno >= _logging.ERROR:
        return "error"
    if levelno >= _logging.WARNING:
        return "warning"
    if levelno >= _logging.INFO:
        return "info"
    return "debug"


class SimscopeHandler(_logging.Handler):
    """A ``logging`` handler whose records become events of ``run``, with their level and time.

    >>> logging.getLogger(__name__).addHandler(SimscopeHandler(run))
    """

    def __init__(self, run: "Run", level: int = _logging.NOTSET) -> None:
        super().__init__(level)
        self.run = run

    def emit(self, record: _logging.LogRecord) -> None:
        try:
            message = self.format(record)
            self.run.log_event(message, level=event_level(record.levelno), timestamp=int(record.created * 1_000_000))
        except Exception:
            self.handleError(record)


class _Tee:
    """A text stream that writes through and records each complete line as an event."""

    def __init__(self, stream: TextIO, emit: Callable[[str], None]) -> None:
        self._stream = stream
        self._emit = emit
        self._pending = ""

    def write(self, text: str) -> int:
        written = self._stream.write(text)
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            if line:
                self._emit(line)
        return written

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def capture_output(run: "Run", stdout: bool = True, stderr: bool = True) -> Callable[[], None]:
    """Records what ``print`` (stdout, ``info``) and stderr (``error``) write as events, still printing it,
    until the returned function is called."""
    restore: List[Callable[[], None]] = []
    if stdout:
        old_out = sys.stdout
        sys.stdout = _Tee(old_out, lambda line: run.log_event(line, level="info"))  # type: ignore[assignment]
        restore.append(lambda: setattr(sys, "stdout", old_out))
    if stderr:
        old_err = sys.stderr
        sys.stderr = _Tee(old_err, lambda line: run.log_event(line, level="error"))  # type: ignore[assignment]
        restore.append(lambda: setattr(sys, "stderr", old_err))

    def release() -> None:
        for undo in restore:
            undo()

    return release

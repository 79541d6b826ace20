"""Errors raised by the simscope package."""

from __future__ import annotations

from typing import Any, Optional


class SimscopeError(Exception):
    """An error with a stable ``code`` (the server's error codes); ``status`` is the HTTP status, 0 for none."""

    def __init__(self, code: str, message: str, status: int = 0, details: Optional[Any] = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.details = details

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r}, {self.status!r})"


class ConnectionFailed(SimscopeError):
    """The server could not be reached (refused, reset or timed out) after all retries."""

    def __init__(self, message: str, details: Optional[Any] = None) -> None:
        super().__init__("unavailable", message, 0, details)


__all__ = ["SimscopeError", "ConnectionFailed"]

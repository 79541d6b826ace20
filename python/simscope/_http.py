"""HTTP to the Simscope API over the standard library: auth and workspace headers, retries with backoff."""

from __future__ import annotations

import email.utils
import http.client
import json as _json
import os
import shutil
import socket
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import IO, Any, Callable, Dict, Mapping, Optional, Sequence, Tuple, Union

from ._config import Connection
from .errors import ConnectionFailed, SimscopeError

API_PREFIX = "/api/v1"
WORKSPACE_HEADER = "Simscope-Workspace"
IDEMPOTENCY_HEADER = "Idempotency-Key"
MSGPACK_TYPE = "application/msgpack"
RETRY_STATUSES: Tuple[int, ...] = (429, 502, 503, 504, 507)
BACKOFF_FACTOR = 0.2

QueryValue = Union[str, int, float, bool, None, Sequence[Union[str, int, float]]]
Body = Union[bytes, bytearray, memoryview, str, IO[bytes]]

_NETWORK_ERRORS = (OSError, http.client.HTTPException)


class Response:
    """A whole answer: ``status``, ``headers`` (lower-case names), ``body`` bytes."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: Dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        """The body parsed as JSON (``None`` for an empty body)."""
        return _json.loads(self.body) if self.body else None

    def __repr__(self) -> str:
        return f"Response({self.status}, {len(self.body)} bytes)"


def retry_after_seconds(header: Optional[str]) -> Optional[float]:
    """Seconds to wait from a ``Retry-After`` header: a number of seconds or an HTTP date."""
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        at = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, at.timestamp() - time.time())


def encode_json(value: Any) -> bytes:
    """Strict JSON (NaN and Infinity refused, as the server does)."""
    try:
        return _json.dumps(value, separators=(",", ":"), allow_nan=False, ensure_ascii=False).encode("utf-8")
    except ValueError as error:
        raise SimscopeError("invalid_field", f"body: {error}", 400) from error
    except TypeError as error:
        raise SimscopeError("invalid_field", f"body: {error}", 400) from error


def _query_string(query: Optional[Mapping[str, QueryValue]]) -> str:
    if not query:
        return ""
    pairs = []
    for key, value in query.items():
        if value is None:
            continue
        if isinstance(value, bool):
            pairs.append((key, "true" if value else "false"))
        elif isinstance(value, (list, tuple)):
            pairs.append((key, ",".join(str(v) for v in value)))
        else:
            pairs.append((key, str(value)))
    return "?" + urllib.parse.urlencode(pairs) if pairs else ""


class Transport:
    """HTTP/1.1 to one server with a kept-alive connection per thread.

    Reads (GET, HEAD) and requests marked ``idempotent`` or carrying an ``idempotency_key`` are tried up to
    ``retries`` more times after network errors and 429/502/503/504/507, waiting ``0.2 × 2^n`` s or what
    ``Retry-After`` says. Error answers ``{"error": {"code", "message"}}`` raise ``SimscopeError``; a server
    that stays unreachable raises ``ConnectionFailed``.
    """

    def __init__(self, connection: Connection, timeout: float = 30.0, retries: int = 5) -> None:
        parsed = urllib.parse.urlsplit(connection.url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise SimscopeError("invalid_field", f"url: expected http(s)://host[:port], got {connection.url!r}")
        self.connection = connection
        self.timeout = timeout
        self.retries = retries
        self._https = parsed.scheme == "https"
        self._host = parsed.hostname
        self._port = parsed.port
        self._base = parsed.path.rstrip("/") + API_PREFIX
        self._headers: Dict[str, str] = {"User-Agent": "simscope-python"}
        if connection.token:
            self._headers["Authorization"] = f"Bearer {connection.token}"
        if connection.workspace:
            self._headers[WORKSPACE_HEADER] = connection.workspace
        self._local = threading.local()

    @property
    def url(self) -> str:
        url: str = self.connection.url
        return url

    def _connection(self) -> Tuple[http.client.HTTPConnection, bool]:
        existing: Optional[http.client.HTTPConnection] = getattr(self._local, "conn", None)
        if existing is not None:
            return existing, True
        conn: http.client.HTTPConnection
        if self._https:
            conn = http.client.HTTPSConnection(self._host, self._port, timeout=self.timeout)
        else:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
        self._local.conn = conn
        return conn, False

    def _drop_connection(self) -> None:
        conn: Optional[http.client.HTTPConnection] = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()

    def close(self) -> None:
        """Closes this thread's connection (others close with their threads)."""
        self._drop_connection()

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Optional[Mapping[str, QueryValue]] = None,
        json: Any = None,
        body: Optional[Body] = None,
        content_type: Optional[str] = None,
        accept: Optional[str] = None,
        headers: Optional[Mapping[str, str]] = None,
        idempotent: Optional[bool] = None,
        idempotency_key: Optional[str] = None,
        retries: Optional[int] = None,
        retry_network_errors: bool = True,
        sink: Optional[IO[bytes]] = None,
        before_try: Optional[Callable[[], bytes]] = None,
    ) -> Response:
        """Sends one request under ``/api/v1`` and returns the 2xx answer. With ``sink`` the body of a 2xx answer
        is written there as it arrives (``Response.body`` is then empty). ``before_try`` gives the body of each
        try (a batch stamps its ``clock`` there, as the Node client's ``beforeTry`` does)."""
        all_headers = dict(self._headers)
        all_headers["Accept"] = accept or "application/json"
        payload: Optional[Body] = body
        if json is not None:
            payload = encode_json(json)
            all_headers["Content-Type"] = content_type or "application/json"
        elif content_type is not None:
            all_headers["Content-Type"] = content_type
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        if idempotency_key is not None:
            all_headers[IDEMPOTENCY_HEADER] = idempotency_key
        if headers:
            all_headers.update(headers)
        if payload is None and method in ("POST", "PUT", "PATCH"):
            all_headers["Content-Length"] = "0"
        stream = payload if payload is not None and not isinstance(payload, (bytes, bytearray, memoryview)) else None
        start = stream.tell() if stream is not None else None
        sink_start = sink.tell() if sink is not None and sink.seekable() else None
        target = self._base + path + _query_string(query)
        retryable = idempotent if idempotent is not None else (
            method in ("GET", "HEAD") or idempotency_key is not None
        )
        total = self.retries if retries is None else retries

        attempt = 0
        while True:
            wait: Optional[float] = None
            if stream is not None and start is not None:
                stream.seek(start)
            if sink_start is not None and sink is not None:
                sink.seek(sink_start)
                sink.truncate()
            if before_try is not None:
                payload = before_try()
            try:
                return self._exchange(method, path, target, all_headers, payload, sink)
            except _Refused as refused:
                failure = refused.error
                if not retryable or refused.error.status not in RETRY_STATUSES or attempt >= total:
                    raise failure from None
                wait = refused.retry_after
            except _NETWORK_ERRORS as error:
                if not retryable or not retry_network_errors or attempt >= total:
                    raise ConnectionFailed(f"{method} {path}: {self.url} unreachable: {_describe(error)}") from error
            time.sleep(wait if wait is not None else BACKOFF_FACTOR * 2**attempt)
            attempt += 1

    def _exchange(
        self,
        method: str,
        path: str,
        target: str,
        headers: Dict[str, str],
        payload: Optional[Body],
        sink: Optional[IO[bytes]],
    ) -> Response:
        conn, reused = self._connection()
        try:
            try:
                conn.request(method, target, body=payload, headers=headers)
                answer = conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A kept-alive connection the server closed while idle: the request never arrived, so one more
                # try on a fresh connection is safe whatever the method.
                if not reused:
                    raise
                self._drop_connection()
                conn, _ = self._connection()
                if payload is not None and hasattr(payload, "seek"):
                    raise
                conn.request(method, target, body=payload, headers=headers)
                answer = conn.getresponse()
            status = answer.status
            answer_headers = {k.lower(): v for k, v in answer.getheaders()}
            if 200 <= status < 300 and sink is not None:
                shutil.copyfileobj(answer, sink, 1 << 20)
                data = b""
            else:
                data = answer.read()
            if answer.will_close:
                self._drop_connection()
        except BaseException:
            self._drop_connection()
            raise
        if 200 <= status < 300:
            return Response(status, answer_headers, data)
        raise _Refused(_error_from(method, path, status, data), retry_after_seconds(answer_headers.get("retry-after")))

    def download(
        self,
        path: str,
        destination: Union[str, "os.PathLike[str]"],
        *,
        query: Optional[Mapping[str, QueryValue]] = None,
    ) -> Response:
        """GETs ``path`` into the file ``destination`` (written beside it, then renamed, so a failed download
        leaves no partial file)."""
        target = Path(destination)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=str(target.parent))
        try:
            with os.fdopen(fd, "wb") as out:
                response = self.request("GET", path, query=query, accept="*/*", sink=out)
            os.replace(temporary, target)
            return response
        except BaseException:
            try:
                os.unlink(temporary)
            except FileNotFoundError:
                pass
            raise


class _Refused(Exception):
    def __init__(self, error: SimscopeError, retry_after: Optional[float]) -> None:
        super().__init__(error.message)
        self.error = error
        self.retry_after = retry_after


def _error_from(method: str, path: str, status: int, data: bytes) -> SimscopeError:
    code: Optional[str] = None
    message: Optional[str] = None
    details: Any = None
    try:
        parsed = _json.loads(data)
        error = parsed.get("error") if isinstance(parsed, dict) else None
        if isinstance(error, dict):
            code = error.get("code") if isinstance(error.get("code"), str) else None
            message = error.get("message") if isinstance(error.get("message"), str) else None
            details = error.get("details")
    except ValueError:
        pass
    text = message if message is not None else data[:200].decode("utf-8", "replace")
    return SimscopeError(
        code or ("unavailable" if status >= 500 else "bad_request"),
        f"{method} {path}: {status} {text}",
        status,
        details,
    )


def _describe(error: BaseException) -> str:
    if isinstance(error, socket.timeout):
        return "timed out"
    return str(error) or type(error).__name__


__all__ = ["API_PREFIX", "MSGPACK_TYPE", "Response", "Transport", "encode_json", "retry_after_seconds"]

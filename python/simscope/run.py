"""``Run``: a simulation run whose metrics, events and changes are sent in the background."""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import math
import mimetypes
import os
import platform
import secrets
import signal
import socket
import sys
import threading
import time
import traceback
import urllib.parse
import weakref
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import FrameType, TracebackType
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Type, Union

from ._config import Connection, resolve_connection, suggest_login
from ._http import Transport
from ._sender import MAX_BATCH_POINTS, MetricQueue, SendStats, Sender, Series, is_transient
from ._spool import new_run_id, now_micros, spool_directory
from ._time import Duration, Timestamp, parse_duration, to_micros
from .arrays import ArraySender, array_upload, histogram_counts
from .errors import SimscopeError

log = logging.getLogger("simscope")

EVENT_LEVELS = ("debug", "info", "warning", "error", "critical")
ARTIFACT_CATEGORIES = ("code", "input", "output")
RUN_STATUSES = ("created", "running", "completed", "failed", "terminated", "lost")
#: Seconds without a heartbeat after which the server marks a run ``lost`` (the client beats every 15 s).
DEFAULT_HEARTBEAT_TIMEOUT = 300.0
_MISSING: Any = object()
#: Key sets the fast path of ``log_metrics`` remembers; a run that keeps making new ones uses the slow path.
_MOST_KEYSETS = 256
_live_runs: "weakref.WeakSet[Run]" = weakref.WeakSet()


@dataclass
class CloseResult(SendStats):
    """What ``close()`` reports: the run's final status and what happened to its points and events."""

    status: Optional[str] = None
    #: The run's spool directory when something is still waiting there for the server.
    spool_dir: Optional[str] = None


class Terminated(SystemExit):
    """Raised in the main thread on SIGTERM while a run is used as a context manager: ends it ``terminated``."""


def _default_on_error(error: BaseException) -> None:
    log.warning("simscope: %s", error)


def _default_on_abort(run: "Run", reason: Optional[str]) -> None:
    log.warning("simscope: run %s was asked to abort (%s); closing it as terminated", run.id, reason)
    run.close("terminated")


def _system_info() -> Dict[str, Any]:
    return {
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "pid": os.getpid(),
        "cwd": os.getcwd(),
        "argv": list(sys.argv),
    }


def _check_json(value: Any, field: str) -> None:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise SimscopeError("invalid_field", f"{field}: {error}") from None


def _check_tags(tags: Any, field: str) -> List[str]:
    if isinstance(tags, str) or not isinstance(tags, (list, tuple, set)):
        raise SimscopeError("invalid_field", f"{field}: expected a list of strings, got {type(tags).__name__}")
    for tag in tags:
        if not isinstance(tag, str):
            raise SimscopeError("invalid_field", f"{field}: expected a list of strings, got {tag!r}")
    return list(tags)


def _check_dict(value: Any, field: str) -> Dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise SimscopeError("invalid_field", f"{field}: expected a dict with string keys, got {type(value).__name__}")
    _check_json(value, field)
    return value


def _unknown(method: str, unknown: Dict[str, Any]) -> SimscopeError:
    names = ", ".join(sorted(unknown))
    return SimscopeError("invalid_field", f"{method}: unknown argument(s) {names}")


class Run:
    """A simulation run: metadata, tags, metrics and events logged in the background, so that logging never slows
    or stops the simulation.

    >>> with Run() as run:
    ...     run.init(name="cavity-re100", metadata={"re": 100})
    ...     for step in range(1000):
    ...         run.log_metrics({"residual": solve()})
    """

    def __init__(self, mode: str = "online") -> None:
        self._suppress_errors = True
        self._queue_blocking = False
        self._queue_size = 10_000
        self._batch_points = 50_000
        self._flush_interval = 1.0
        self._heartbeat_interval = 15.0
        self._exit_timeout = 10.0
        self._retries = 5
        self._send_clock = True
        self._system_info = True
        self._mode = mode
        self._spool_dir: Optional[str] = None
        self._url: Optional[str] = None
        self._token: Optional[str] = None
        self._workspace: Optional[str] = None
        self._profile: Optional[str] = None
        self._on_error: Callable[[BaseException], None] = _default_on_error
        self._on_abort: Callable[["Run", Optional[str]], None] = _default_on_abort
        self._queue = MetricQueue(self._queue_size)
        self._series = self._queue.series
        self._keysets = self._queue.keysets
        self._lock = self._queue.lock
        self._notify_at = self._queue_size
        self._sender: Optional[Sender] = None
        self._arrays: Optional[ArraySender] = None
        self._transport: Optional[Transport] = None
        self._connection: Optional[Connection] = None
        self._id: Optional[str] = None
        self._name: Optional[str] = None
        self._status: Optional[str] = None
        self._start_clock = 0.0
        self._dropped = 0
        self._warnings = 0
        self._aborted = False
        self._closing = False
        self._closed: Optional[CloseResult] = None
        self._close_lock = threading.Lock()
        self._heartbeat_stop = threading.Event()
        self._writer = f"w-{secrets.token_hex(6)}"
        self._old_sigterm: Any = None

    # -- properties ---------------------------------------------------------------------------------------------

    @property
    def id(self) -> Optional[str]:
        """The run's id once ``init`` succeeded (made by the client, so also when the run went to the spool)."""
        return self._id

    @property
    def name(self) -> Optional[str]:
        return self._name

    @property
    def status(self) -> Optional[str]:
        return self._status

    @property
    def aborted(self) -> bool:
        """True once someone asked the run to abort."""
        return self._aborted

    @property
    def dropped_points(self) -> int:
        """Points dropped so far because the queue was full (``queue_blocking=False``)."""
        return self._dropped

    @property
    def spooling(self) -> bool:
        """True while records wait in the on-disk spool for the server."""
        return self._sender is not None and self._sender.spooling

    # -- set-up -------------------------------------------------------------------------------------------------

    def config(
        self,
        suppress_errors: Optional[bool] = None,
        queue_blocking: Optional[bool] = None,
        queue_size: Optional[int] = None,
        *,
        batch_points: Optional[int] = None,
        flush_interval: Optional[Duration] = None,
        heartbeat_interval: Optional[Duration] = None,
        exit_timeout: Optional[Duration] = None,
        retries: Optional[int] = None,
        send_clock: Optional[bool] = None,
        system_info: Optional[bool] = None,
        mode: Optional[str] = None,
        spool_dir: Optional[str] = None,
        url: Optional[str] = None,
        token: Optional[str] = None,
        workspace: Optional[str] = None,
        profile: Optional[str] = None,
        on_error: Optional[Callable[[BaseException], None]] = None,
        on_abort: Optional[Callable[["Run", Optional[str]], None]] = None,
        **unknown: Any,
    ) -> "Run":
        """Sets how the run logs; call before ``init``. A setting that cannot work raises ``SimscopeError``."""
        if suppress_errors is not None:
            self._suppress_errors = bool(suppress_errors)
        if on_error is not None:
            self._on_error = on_error
        if unknown:
            self._fail(_unknown("config", unknown))
        if self._sender is not None:
            self._fail(SimscopeError("invalid_transition", "config: call config() before init()"))
            return self

        def whole(value: Any, field: str, most: int) -> int:
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
                raise SimscopeError("invalid_field", f"config.{field}: must be a whole number from 1 to {most}, got {value!r}")
            return value

        if queue_size is not None:
            self._queue_size = whole(queue_size, "queue_size", 2**62)
        if batch_points is not None:
            self._batch_points = whole(batch_points, "batch_points", MAX_BATCH_POINTS)
        if retries is not None:
            self._retries = whole(retries + 1, "retries", 101) - 1
        if flush_interval is not None:
            self._flush_interval = parse_duration(flush_interval, "config.flush_interval")
        if heartbeat_interval is not None:
            self._heartbeat_interval = parse_duration(heartbeat_interval, "config.heartbeat_interval")
        if exit_timeout is not None:
            self._exit_timeout = parse_duration(exit_timeout, "config.exit_timeout")
        if mode is not None:
            if mode not in ("online", "offline"):
                raise SimscopeError("invalid_field", f"config.mode: must be 'online' or 'offline', got {mode!r}")
            self._mode = mode
        if queue_blocking is not None:
            self._queue_blocking = bool(queue_blocking)
        if send_clock is not None:
            self._send_clock = bool(send_clock)
        if system_info is not None:
            self._system_info = bool(system_info)
        if spool_dir is not None:
            self._spool_dir = spool_dir
        self._url, self._token = url or self._url, token or self._token
        self._workspace, self._profile = workspace or self._workspace, profile or self._profile
        if on_error is not None:
            self._on_error = on_error
        if on_abort is not None:
            self._on_abort = on_abort
        # Wake the sender once a batch (or half the queue) is waiting, so that the queue rarely fills.
        self._notify_at = max(1, min(self._batch_points, self._queue_size // 2))
        self._queue = MetricQueue(self._queue_size, self._notify_at)
        self._series = self._queue.series
        self._keysets = self._queue.keysets
        self._lock = self._queue.lock
        return self

    def _fail(self, error: BaseException) -> None:
        """Raises ``error`` with ``suppress_errors=False``; else hands it to ``on_error`` and counts it."""
        if not self._suppress_errors:
            raise error
        self._warnings += 1
        try:
            self._on_error(error)
        except Exception:  # an on_error hook that fails must not reach the simulation either
            pass

    def _connect(self) -> Transport:
        connection = resolve_connection(url=self._url, token=self._token, workspace=self._workspace, profile=self._profile)
        if not connection.token and self._mode != "offline":
            suggest_login(connection)
            raise SimscopeError(
                "unauthorized",
                "no token: run 'simscope login --url URL', set SIMSCOPE_TOKEN, or pass config(token=...)",
            )
        self._connection = connection
        return Transport(connection, retries=self._retries)

    def init(
        self,
        name: Optional[str] = None,
        metadata: Optional[Dict[str, Any]] = None,
        tags: Optional[Sequence[str]] = None,
        description: Optional[str] = None,
        folder: str = "/",
        running: bool = True,
        heartbeat_timeout: Optional[Duration] = DEFAULT_HEARTBEAT_TIMEOUT,
        **unknown: Any,
    ) -> bool:
        """Creates the run and starts logging; every argument is optional. When the server cannot be reached (or in
        ``offline`` mode) the run starts in the spool and reaches the server when it is back or at ``sync()``.
        Returns True when the run was started."""
        try:
            if unknown:
                self._fail(_unknown("init", unknown))
            if self._sender is not None:
                raise SimscopeError("invalid_transition", "init: this Run was already initialised")
            body: Dict[str, Any] = {"id": new_run_id()}
            if name is not None:
                if not isinstance(name, str):
                    raise SimscopeError("invalid_field", f"init.name: expected a string, got {name!r}")
                body["name"] = name
            if metadata is not None:
                body["metadata"] = _check_dict(metadata, "init.metadata")
            if tags is not None:
                body["tags"] = _check_tags(tags, "init.tags")
            if description is not None:
                if not isinstance(description, str):
                    raise SimscopeError("invalid_field", f"init.description: expected a string, got {description!r}")
                body["description"] = description
            if not isinstance(folder, str):
                raise SimscopeError("invalid_field", f"init.folder: expected a path such as '/tests', got {folder!r}")
            body["folder"] = folder
            body["status"] = "running" if running else "created"
            body["heartbeatTimeout"] = (
                None if heartbeat_timeout is None else parse_duration(heartbeat_timeout, "init.heartbeat_timeout")
            )
            if self._system_info:
                body["system"] = _system_info()
            transport = self._connect()
            later = dict(body, createdAt=now_micros())
            if self._mode == "offline":
                self._start(transport, body["id"], name, body["status"], later)
                return True
            try:
                created = transport.request("POST", "/runs", json=body, idempotent=True).json()
                self._start(transport, created["id"], created.get("name"), created.get("status"), None)
            except SimscopeError as error:
                if not is_transient(error):
                    raise
                self._fail(
                    SimscopeError("unavailable", f"server unreachable ({error}); run {body['id']} is spooled until it is back")
                )
                self._start(transport, body["id"], name, body["status"], later)
            return True
        except SimscopeError as error:
            self._fail(error)
            return False

    def resume(
        self,
        run_id: str,
        rewind_to: Optional[float] = None,
        job_id: Optional[str] = None,
        host: Optional[str] = None,
    ) -> bool:
        """Continues run ``run_id`` in this job as a new segment (the Node ``Run.resume``): ``rewind_to`` is the
        checkpoint step it restarts from, so the earlier segments' points at later steps are superseded (kept, hidden
        from reads, charts and alerts). ``job_id`` defaults to SLURM_JOB_ID or PBS_JOBID. Returns True when started."""
        try:
            if self._sender is not None:
                raise SimscopeError("invalid_transition", "resume: this Run was already initialised")
            body: Dict[str, Any] = {"host": host if host is not None else socket.gethostname()}
            if rewind_to is not None:
                if not _is_number(rewind_to) or not math.isfinite(rewind_to):
                    raise SimscopeError("invalid_field", f"resume.rewind_to: expected a step number, got {rewind_to!r}")
                body["rewindTo"] = rewind_to
            job = job_id if job_id is not None else os.environ.get("SLURM_JOB_ID") or os.environ.get("PBS_JOBID")
            if job is not None:
                body["jobId"] = job
            transport = self._connect()
            path = "/runs/" + urllib.parse.quote(run_id, safe="")
            answer = transport.request("POST", path + "/segments", json=body, idempotency_key=secrets.token_hex(16)).json()
            run = answer["run"]
            self._start(transport, run["id"], run.get("name"), run.get("status"), None)
            return True
        except SimscopeError as error:
            self._fail(error)
            return False

    def _start(self, transport: Transport, run_id: str, name: Optional[str], status: Optional[str], later: Optional[Dict[str, Any]]) -> None:
        assert self._connection is not None
        self._transport = transport
        self._id, self._name, self._status = run_id, name, status
        self._start_clock = time.perf_counter()
        origin = time.time_ns() / 1000
        initial = None
        if later is not None:
            initial = [("create", json.dumps(later, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))]
        self._sender = Sender(
            transport=transport,
            run_id=run_id,
            writer=self._writer,
            queue=self._queue,
            start_clock=self._start_clock,
            origin_micros=origin,
            batch_points=self._batch_points,
            flush_interval=self._flush_interval,
            send_clock=self._send_clock,
            spool_root=spool_directory(self._spool_dir),
            spool_meta={
                "version": 1,
                "runId": run_id,
                "url": self._connection.url,
                "workspace": self._connection.workspace,
                "offline": later is not None,
                "createdAt": now_micros(),
            },
            offline=self._mode == "offline",
            on_error=self._background_error,
            initial=initial,
        )
        _live_runs.add(self)
        if self._mode != "offline":
            threading.Thread(target=self._beat_loop, name=f"simscope-heartbeat-{run_id}", daemon=True).start()

    def _background_error(self, error: BaseException) -> None:
        self._warnings += 1
        try:
            self._on_error(error)
        except Exception:
            pass

    # -- heartbeat ----------------------------------------------------------------------------------------------

    def _beat_loop(self) -> None:
        while not self._heartbeat_stop.wait(self._heartbeat_interval):
            try:
                self.poll_abort()
            except Exception as error:
                self._background_error(error)

    def poll_abort(self) -> bool:
        """Beats and checks for an abort request now (the heartbeat thread does so every 15 s); True once asked."""
        transport, run_id = self._transport, self._id
        if transport is None or run_id is None or self._closing or self.spooling:
            return self._aborted
        try:
            answer = transport.request("POST", f"/runs/{run_id}/heartbeat", idempotent=True, retries=1).json()
        except SimscopeError as error:
            if not is_transient(error):
                self._background_error(error)
            return self._aborted
        abort = answer.get("abort") or {}
        if abort.get("requested") and not self._aborted:
            self._aborted = True
            self._on_abort(self, abort.get("reason"))
        return self._aborted

    # -- metrics and events -------------------------------------------------------------------------------------

    def log_metrics(
        self,
        metrics: Dict[str, float],
        step: Optional[int] = None,
        time: Optional[float] = None,
        timestamp: Optional[Timestamp] = None,
    ) -> None:
        """Logs metric values for one step: ``run.log_metrics({'loss': 0.1, 'lr': 1e-3})``. Never waits for the
        network; a point that finds the queue full is dropped and counted unless ``queue_blocking`` is set."""
        if step is None and time is None and timestamp is None and type(metrics) is dict:
            # The common call: the same metrics as before, all floats. One tuple joins the queue's rows, no lock.
            keys = self._keysets.get(tuple(metrics))
            if keys is not None:
                values = tuple(metrics.values())
                for value in values:
                    if type(value) is not float:
                        break
                else:
                    queue = self._queue
                    added = queue.added + len(values)
                    if added <= queue.limit:
                        queue.rows.append((keys, _perf_counter()) + values)
                        queue.added = added
                        if added >= queue.wake_at:
                            queue.wake_at = added + queue.notify_at
                            self._sender.notify()  # type: ignore[union-attr]  # keysets fill only after init
                        return
        self._log_slow(metrics, step, time, timestamp)

    def _log_slow(self, metrics: Any, step: Any, time_: Any, timestamp: Any) -> None:
        """``log_metrics`` for the rest: options, new metrics, values to convert or refuse, a full queue."""
        clock = _perf_counter()
        sender = self._sender
        if sender is None or self._closing:
            if sender is None and not self._closing:
                self._fail(SimscopeError("invalid_transition", "log_metrics: call init() first"))
            return
        try:
            if not isinstance(metrics, dict):
                raise SimscopeError("invalid_field", f"log_metrics: expected a dict of name: number, got {type(metrics).__name__}")
            explicit = step is not None or time_ is not None or timestamp is not None
            if step is not None and (isinstance(step, bool) or not isinstance(step, int) or abs(step) > 2**53 - 1):
                raise SimscopeError("invalid_field", f"log_metrics.step: expected a whole number, got {step!r}")
            if time_ is not None:
                if isinstance(time_, bool) or not isinstance(time_, (int, float)) or not math.isfinite(time_):
                    raise SimscopeError("invalid_field", f"log_metrics.time: expected finite seconds, got {time_!r}")
                time_ = float(time_)
            micros = None if timestamp is None else to_micros(timestamp, "log_metrics.timestamp")
        except SimscopeError as error:
            self._fail(error)
            return
        problems: List[SimscopeError] = []
        queue = self._queue
        for name, value in metrics.items():
            if not isinstance(name, str) or not name:
                problems.append(SimscopeError("invalid_field", f"log_metrics: metric name {name!r} is not a non-empty string"))
                continue
            if type(value) is not float:
                if isinstance(value, bool) or not _is_number(value):
                    problems.append(
                        SimscopeError("invalid_field", f"log_metrics: metric '{name}': expected a number, got {type(value).__name__} {value!r:.40}")
                    )
                    continue
                try:
                    value = float(value)
                except (OverflowError, ValueError, TypeError):
                    problems.append(SimscopeError("invalid_field", f"log_metrics: metric '{name}': {value!r:.40} is not a float64"))
                    continue
            while True:
                with self._lock:
                    queue.fold()
                    if queue.added < queue.limit:
                        s = self._series.get(name)
                        if s is None:
                            s = self._series[name] = Series(name, 0)
                        if explicit or s.steps is not None:
                            if s.steps is None:
                                s.explicit()
                            assert s.steps is not None and s.times is not None and s.timestamps is not None
                            at = s.next_step if step is None else step
                            if at >= s.next_step:
                                s.next_step = at + 1
                            s.steps.append(at)
                            s.times.append(time_)
                            s.timestamps.append(micros)
                        if s.shared:
                            s.unshare()
                        s.values.append(value)
                        s.clock.append(clock)
                        queue.added += 1
                        break
                    if not self._queue_blocking:
                        self._dropped += 1
                        break
                    queue.room.clear()
                sender.notify()
                queue.room.wait(1.0)
        if queue.points >= self._notify_at:
            sender.notify()
        if not problems and not explicit and len(self._keysets) < _MOST_KEYSETS:
            keys = tuple(metrics)
            if all(name in self._series for name in keys):
                self._keysets[keys] = keys
        for problem in problems:
            self._fail(problem)

    def log_event(self, message: Union[str, BaseException], level: Optional[str] = None, timestamp: Optional[Timestamp] = None, **unknown: Any) -> None:
        """Logs an event: a message, or an exception (its traceback, at ``error`` level unless ``level`` is given)."""
        try:
            if unknown:
                raise _unknown("log_event", unknown)
            if self._sender is None:
                if self._closing:
                    return
                raise SimscopeError("invalid_transition", "log_event: call init() first")
            if self._closing:
                return
            if isinstance(message, BaseException):
                text = "".join(traceback.format_exception(type(message), message, message.__traceback__)).rstrip()
                level = level or "error"
            elif isinstance(message, str):
                text = message
            else:
                raise SimscopeError("invalid_field", f"log_event: expected a message or an exception, got {type(message).__name__}")
            level = level or "info"
            if level not in EVENT_LEVELS:
                raise SimscopeError("invalid_field", f"log_event.level: must be one of {', '.join(EVENT_LEVELS)}, got {level!r}")
            if len(text) > 65_536:
                text = text[: 65_536 - 1] + "…"
            micros = now_micros() if timestamp is None else to_micros(timestamp, "log_event.timestamp")
            self._sender.add_event({"message": text, "level": level, "timestamp": micros})
        except SimscopeError as error:
            self._fail(error)

    # -- run changes --------------------------------------------------------------------------------------------

    def _patch(self, body: Dict[str, Any]) -> bool:
        sender = self._sender
        if sender is None:
            self._fail(SimscopeError("invalid_transition", "call init() first"))
            return False
        try:
            later = dict(body, statusAt=now_micros()) if "status" in body else None
            answer = sender.submit("patch", body, later)
            self._status = (answer or {}).get("status") or body.get("status") or self._status
            return True
        except SimscopeError as error:
            self._fail(error)
            return False

    def update_tags(self, tags: Sequence[str]) -> bool:
        """Adds tags to the run's tags."""
        try:
            return self._patch({"addTags": _check_tags(tags, "update_tags.tags")})
        except SimscopeError as error:
            self._fail(error)
            return False

    def set_tags(self, tags: Sequence[str]) -> bool:
        """Replaces the run's tags."""
        try:
            return self._patch({"tags": _check_tags(tags, "set_tags.tags")})
        except SimscopeError as error:
            self._fail(error)
            return False

    def update_metadata(self, metadata: Dict[str, Any]) -> bool:
        """Merges metadata into the run's; a key set to None is removed."""
        try:
            return self._patch({"metadata": _check_dict(metadata, "update_metadata.metadata")})
        except SimscopeError as error:
            self._fail(error)
            return False

    def set_status(self, status: str) -> bool:
        """Sets the status; ``completed``, ``failed`` and ``terminated`` end the run (prefer ``close``)."""
        if status not in RUN_STATUSES:
            self._fail(SimscopeError("invalid_field", f"set_status: must be one of {', '.join(RUN_STATUSES)}, got {status!r}"))
            return False
        return self._patch({"status": status})

    def folder_details(
        self,
        path: str,
        metadata: Optional[Dict[str, Any]] = None,
        tags: Optional[Sequence[str]] = None,
        description: Optional[str] = None,
        **unknown: Any,
    ) -> bool:
        """Describes a folder (created if missing): metadata is merged, tags and description replaced."""
        sender = self._sender
        try:
            if unknown:
                raise _unknown("folder_details", unknown)
            if sender is None:
                raise SimscopeError("invalid_transition", "folder_details: call init() first")
            body: Dict[str, Any] = {"path": path}
            if metadata is not None:
                body["metadata"] = _check_dict(metadata, "folder_details.metadata")
            if tags is not None:
                body["tags"] = _check_tags(tags, "folder_details.tags")
            if description is not None:
                body["description"] = description
            sender.submit("folder", body)
            return True
        except SimscopeError as error:
            self._fail(error)
            return False

    # -- alerts -------------------------------------------------------------------------------------------------

    def add_alert(
        self,
        name: str,
        type: Optional[str] = None,
        metric: Optional[str] = None,
        frequency: Optional[Duration] = None,
        window: Optional[Duration] = None,
        notification: Union[str, Sequence[str], None] = None,
        threshold: Optional[float] = None,
        range_low: Optional[float] = None,
        range_high: Optional[float] = None,
        *,
        rule: Optional[str] = None,
        source: Optional[str] = None,
        aggregation: Optional[str] = None,
        pattern: Optional[str] = None,
        match: Optional[str] = None,
        description: Optional[str] = None,
        emails: Optional[Sequence[str]] = None,
        webhook: Optional[str] = None,
        notify_ok: Optional[bool] = None,
        abort_on_critical: Optional[bool] = None,
        **unknown: Any,
    ) -> Optional[Dict[str, Any]]:
        """Attaches an alert to the run, creating its definition or reusing the identical one of that name.
        ``frequency`` and ``window`` are seconds or durations (``'1m'``); ``type`` is Simvue's name for ``rule``.
        Returns the run's state for the alert, or None when an error was suppressed."""
        try:
            if unknown:
                raise _unknown("add_alert", unknown)
            if self._transport is None or self._id is None:
                raise SimscopeError("invalid_transition", "add_alert: call init() first")
            body: Dict[str, Any] = {"name": name}
            fields = {
                "source": source,
                "rule": rule if rule is not None else type,
                "metric": metric,
                "threshold": threshold,
                "rangeLow": range_low,
                "rangeHigh": range_high,
                "aggregation": aggregation,
                "pattern": pattern,
                "match": match,
                "description": description,
                "notification": list(notification) if isinstance(notification, (list, tuple)) else notification,
                "emails": list(emails) if emails is not None else None,
                "webhook": webhook,
                "notifyOk": notify_ok,
                "abortOnCritical": abort_on_critical,
            }
            body.update({k: v for k, v in fields.items() if v is not None})
            if frequency is not None:
                body["frequency"] = parse_duration(frequency, "add_alert.frequency")
            if window is not None:
                body["window"] = parse_duration(window, "add_alert.window")
            answer: Dict[str, Any] = self._transport.request("POST", f"/runs/{self._id}/alerts", json=body).json()
            return answer
        except SimscopeError as error:
            self._fail(error)
            return None

    def log_alert(self, name: str, state: str, message: Optional[str] = None) -> Optional[Dict[str, Any]]:
        """Sets the state (``ok`` or ``critical``) of a user alert of this run."""
        try:
            if self._transport is None or self._id is None:
                raise SimscopeError("invalid_transition", "log_alert: call init() first")
            if state not in ("ok", "critical"):
                raise SimscopeError("invalid_field", f"log_alert.state: must be 'ok' or 'critical', got {state!r}")
            body: Dict[str, Any] = {"state": state}
            if message is not None:
                body["message"] = message
            path = f"/runs/{self._id}/alerts/{urllib.parse.quote(name, safe='')}/state"
            answer: Dict[str, Any] = self._transport.request("PUT", path, json=body, idempotent=True).json()
            return answer
        except SimscopeError as error:
            self._fail(error)
            return None

    # -- artifacts ----------------------------------------------------------------------------------------------

    def save(
        self,
        path: Union[str, "os.PathLike[str]"],
        category: str,
        filetype: Optional[str] = None,
        preserve_path: bool = False,
        name: Optional[str] = None,
        metadata: Optional[Dict[str, Any]] = None,
        **unknown: Any,
    ) -> Optional[Dict[str, Any]]:
        """Saves a file as an artifact (its base name, or with ``preserve_path`` its relative path as given);
        ``filetype`` is its MIME type, detected when not given. Saving a name again replaces it."""
        try:
            if unknown:
                raise _unknown("save", unknown)
            return self._upload(Path(path), category, filetype, name or _artifact_name(str(path), preserve_path), metadata)
        except (SimscopeError, OSError) as error:
            self._fail(error if isinstance(error, SimscopeError) else SimscopeError("invalid_field", f"save: {error}"))
            return None

    def save_directory(
        self, directory: Union[str, "os.PathLike[str]"], category: str, filetype: Optional[str] = None, preserve_path: bool = False
    ) -> List[Dict[str, Any]]:
        """Saves every file under a directory (subdirectories included), with one MIME type when ``filetype``."""
        return self.save_all([directory], category, filetype, preserve_path)

    def save_all(
        self,
        items: Iterable[Union[str, "os.PathLike[str]"]],
        category: str,
        filetype: Optional[str] = None,
        preserve_path: bool = False,
    ) -> List[Dict[str, Any]]:
        """Saves a mix of files and directories; refuses two files that would get the same name."""
        try:
            plan: List[tuple[Path, str]] = []
            for item in items:
                root = Path(item)
                if root.is_dir():
                    for dirpath, _dirs, files in os.walk(root):
                        for file in sorted(files):
                            full = Path(dirpath) / file
                            shown = os.path.join(str(item), os.path.relpath(full, root))
                            plan.append((full, _artifact_name(shown, preserve_path)))
                elif root.is_file():
                    plan.append((root, _artifact_name(str(item), preserve_path)))
                else:
                    raise SimscopeError("invalid_field", f"save_all: {str(item)!r} is neither a file nor a directory")
            names = [n for _, n in plan]
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise SimscopeError("invalid_field", f"save_all: several files would be named {', '.join(twice)}; use preserve_path=True")
            out = []
            for source, artifact in plan:
                out.append(self._upload(source, category, filetype, artifact, None))
            return out
        except (SimscopeError, OSError) as error:
            self._fail(error if isinstance(error, SimscopeError) else SimscopeError("invalid_field", f"save_all: {error}"))
            return []

    def _upload(self, path: Path, category: str, filetype: Optional[str], name: str, metadata: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        if self._transport is None or self._id is None:
            raise SimscopeError("invalid_transition", "save: call init() first")
        if category not in ARTIFACT_CATEGORIES:
            raise SimscopeError("invalid_field", f"category: must be one of {', '.join(ARTIFACT_CATEGORIES)}, got {category!r}")
        digest = hashlib.sha256()
        size = 0
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
                size += len(chunk)
            f.seek(0)
            mime = filetype or mimetypes.guess_type(path.name)[0] or _sniff(f)
            query: Dict[str, Any] = {"name": name, "category": category, "sha256": digest.hexdigest(), "size": size}
            if metadata is not None:
                query["metadata"] = json.dumps(_check_dict(metadata, "save.metadata"))
            answer: Dict[str, Any] = self._transport.request(
                "PUT", f"/runs/{self._id}/artifacts", query=query, body=f, content_type=mime,
                headers={"Content-Length": str(size)}, idempotent=True,
            ).json()
            return answer

    # -- arrays -------------------------------------------------------------------------------------------------

    def log_array(
        self, name: str, array: Any, step: int, time: Optional[float] = None, axes: Optional[Sequence[Dict[str, Any]]] = None
    ) -> None:
        """Logs one step of an array series: a numpy array of 1 to 3 dimensions, copied at once and sent in the
        background; its min, max and mean also become metrics ``name.min`` … ``axes``: one ``{"label", "values"}``
        per dimension."""
        try:
            query, body = array_upload(name, array, step, time, axes, "log_array")
            self._array_sender().add(query, body)
        except SimscopeError as error:
            self._fail(error)

    def log_histogram(
        self,
        name: str,
        values: Any = None,
        step: int = 0,
        time: Optional[float] = None,
        bins: int = 64,
        range: Optional[Sequence[Any]] = None,
        edges: Any = None,
        counts: Any = None,
    ) -> None:
        """Logs a histogram for one step: raw ``values`` binned here (``(x, y)`` for 2-D), or ``edges`` and
        ``counts`` already counted; stored as float64 counts with the edges on its axes."""
        try:
            hist, axes = histogram_counts(values, bins, range, edges, counts)
            query, body = array_upload(name, hist, step, time, axes, "log_histogram")
            self._array_sender().add(query, body)
        except SimscopeError as error:
            self._fail(error)

    def _array_sender(self) -> ArraySender:
        if self._transport is None or self._id is None or self._mode == "offline":
            raise SimscopeError("invalid_transition", "log_array: call init() first (arrays need an online run)")
        if self._arrays is None:
            self._arrays = ArraySender(self._transport, self._id, self._fail_background)
        return self._arrays

    def _fail_background(self, error: BaseException) -> None:
        try:
            self._fail(error)
        except BaseException:  # with suppress_errors=False the caller's thread raises; a sender thread cannot
            pass

    # -- ending -------------------------------------------------------------------------------------------------

    def flush(self, timeout: Optional[float] = None) -> Optional[SendStats]:
        """Sends what is queued and waits for it (what cannot be sent is spooled), without ending the run."""
        if self._arrays is not None:
            self._arrays.flush(timeout)
        sender = self._sender
        return None if sender is None else sender.flush(timeout)

    def close(self, status: str = "completed", timeout: Optional[float] = None) -> CloseResult:
        """Sends everything queued, then ends the run with ``status`` (default ``completed``); reports what was
        sent, spooled, dropped or refused. Later calls return the first result."""
        with self._close_lock:
            if self._closed is not None:
                return self._closed
            self._closing = True
            self._keysets = {}  # points logged from now on take the slow path, which ignores them
            self._heartbeat_stop.set()
            _live_runs.discard(self)
            if self._arrays is not None:
                self._arrays.close(timeout)
            sender = self._sender
            if sender is None:
                self._closed = CloseResult(dropped_points=self._dropped, errors=self._warnings, status=self._status)
                return self._closed
            if self._dropped:
                sender.add_event({
                    "message": f"simscope: {self._dropped} metric points were dropped because the queue was full (queue_size {self._queue_size})",
                    "level": "warning",
                    "timestamp": now_micros(),
                })
            deadline = None if timeout is None else time.monotonic() + timeout
            try:
                answer = sender.submit("patch", {"status": status}, {"status": status, "statusAt": now_micros()}, timeout)
                self._status = (answer or {}).get("status") or status
            except SimscopeError as error:
                self._background_error(error)
            left = None if deadline is None else max(0.1, deadline - time.monotonic())
            try:
                stats = sender.close(left)
            except SimscopeError as error:
                self._background_error(error)
                stats = sender.stats
            result = CloseResult(**vars(stats), status=self._status)
            result.dropped_points = self._dropped
            result.errors = self._warnings
            spool = sender.spool_dir
            result.spool_dir = str(spool) if spool is not None and result.spooled_points + result.spooled_events > 0 else (
                str(spool) if spool is not None and spool.exists() else None
            )
            self._closed = result
            return result

    def __enter__(self) -> "Run":
        if threading.current_thread() is threading.main_thread():
            try:
                self._old_sigterm = signal.signal(signal.SIGTERM, _raise_terminated)
            except ValueError:
                self._old_sigterm = None
        return self

    def __exit__(self, kind: Optional[Type[BaseException]], error: Optional[BaseException], tb: Optional[TracebackType]) -> None:
        if self._old_sigterm is not None:
            signal.signal(signal.SIGTERM, self._old_sigterm)
            self._old_sigterm = None
        if error is None:
            self.close("completed")
        elif isinstance(error, (KeyboardInterrupt, Terminated)):
            self.log_event(f"simscope: {'SIGTERM' if isinstance(error, Terminated) else 'SIGINT'} received", level="warning")
            self.close("terminated")
        else:
            self.log_event(error)
            self.close("failed")


def _raise_terminated(signum: int, frame: Optional[FrameType]) -> None:
    raise Terminated(128 + signum)


def _perf_counter() -> float:
    return time.perf_counter()


_perf_counter = time.perf_counter  # noqa: F811 - the fast path calls the C function directly


def _is_number(value: Any) -> bool:
    import numbers

    return isinstance(value, numbers.Real)


def _sniff(f: Any) -> str:
    head = f.read(512)
    f.seek(0)
    if not head:
        return "application/octet-stream"
    if b"\0" not in head:
        try:
            head[: max(1, len(head) - 3)].decode("utf-8")
            return "text/plain"
        except UnicodeDecodeError:
            pass
    return "application/octet-stream"


def _artifact_name(path: str, preserve_path: bool) -> str:
    """The artifact name of a path: its base name, or the path normalised so it cannot climb out of a directory."""
    posix = path.replace(os.sep, "/") if os.sep != "/" else path
    if not preserve_path:
        return PurePosixPath(posix).name
    parts: List[str] = []
    for part in posix.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


def _close_at_exit() -> None:
    """Closes the runs still open when the interpreter exits, each within its ``exit_timeout``."""
    for run in list(_live_runs):
        try:
            run.close("completed", timeout=run._exit_timeout)
        except BaseException:
            pass


atexit.register(_close_at_exit)

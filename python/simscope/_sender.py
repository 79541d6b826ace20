"""The metric queue and the background sender: columnar buffers per metric, drained into msgpack batches that
carry ``(writer, seq)``, sent by one daemon thread, spooled on disk while the server cannot be reached."""

from __future__ import annotations

import json
import struct
import sys
import threading
import time
from array import array
from dataclasses import dataclass, field
from itertools import groupby, repeat
from operator import itemgetter, sub
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from ._http import MSGPACK_TYPE, Transport
from ._optional import loaded
from ._spool import SpoolWriter, retire_spool, spool_records
from .errors import ConnectionFailed, SimscopeError

#: Points per request, and the server's most.
BATCH_POINTS = 50_000
MAX_BATCH_POINTS = 1_000_000
#: Events per request (the server's most), and message characters per request.
EVENTS_PER_BATCH = 100_000
EVENT_BATCH_CHARS = 8 * 1024 * 1024
PROBE_MIN_S = 0.25
PROBE_MAX_S = 10.0
_BIG_ENDIAN = sys.byteorder == "big"
_F64 = struct.Struct(">d")


class Series:
    """One metric's points since the last drain. Points logged without options cost two appends (clock, value);
    the step, time and timestamp columns exist only once a point came with options."""

    __slots__ = ("name", "values", "clock", "shared", "first_step", "next_step", "steps", "times", "timestamps")

    def __init__(self, name: str, first_step: int) -> None:
        self.name = name
        self.values: List[float] = []
        self.clock: List[float] = []
        #: ``clock`` is one list with the other metrics of a key set (so their times are worked out once).
        self.shared = False
        self.first_step = first_step
        #: Next step of a point logged without one, once explicit (else first_step + len(values)).
        self.next_step = first_step
        self.steps: Optional[List[int]] = None
        self.times: Optional[List[Optional[float]]] = None
        self.timestamps: Optional[List[Optional[int]]] = None

    def explicit(self) -> None:
        n = len(self.values)
        self.next_step = self.first_step + n
        self.steps = list(range(self.first_step, self.first_step + n))
        self.times = [None] * n
        self.timestamps = [None] * n

    def unshare(self) -> None:
        """Gives the series a clock of its own before points are added to it one by one."""
        self.clock = list(self.clock)
        self.shared = False

    def following_step(self) -> int:
        return self.next_step if self.steps is not None else self.first_step + len(self.values)


@dataclass
class Drained:
    """One metric's drained columns, ready to encode."""

    name: str
    values: List[float]
    #: The raw clock until ``finish_times``, then seconds since init.
    times: List[float]
    steps: Optional[List[int]]
    step_start: int
    timestamps: Optional[List[Optional[int]]]
    #: Times given to ``log_metrics`` (None where not), for a series with explicit columns.
    given_times: Optional[List[Optional[float]]] = None


class MetricQueue:
    """Points waiting to be sent, bounded by about ``capacity`` points.

    ``Run.log_metrics`` appends a call whose metrics are a known key set (``keysets``) and all floats to ``rows``
    as one ``(keys, clock, *values)`` tuple, without the lock: ``list.append`` is atomic, and whoever folds the
    rows into the per-metric ``series`` (under ``lock``) takes a prefix of the list, so a row appended meanwhile
    waits for the next fold. Everything else writes ``series`` under ``lock``.

    ``added`` is counted by the callers, ``taken`` by the sender; a race between two logging threads can miss an
    increment, which only loosens the bound."""

    def __init__(self, capacity: int, notify_at: Optional[int] = None) -> None:
        self.capacity = capacity
        self.lock = threading.Lock()
        self.series: Dict[str, Series] = {}
        self.rows: List[Tuple[Any, ...]] = []
        #: Key tuples of calls seen before, each mapped to itself (the row carries the one object).
        self.keysets: Dict[Tuple[str, ...], Tuple[str, ...]] = {}
        self.added = 0
        self.taken = 0
        #: ``added`` may grow up to ``limit`` (``taken + capacity``, moved on by each drain).
        self.limit = capacity
        self.notify_at = notify_at if notify_at is not None else capacity
        #: Callers wake the sender once ``added`` passes ``wake_at``, then move it on by ``notify_at``.
        self.wake_at = self.notify_at
        #: Set whenever the sender took the queued points (what a blocked ``log_metrics`` waits for).
        self.room = threading.Event()

    @property
    def points(self) -> int:
        return self.added - self.taken

    def fold(self) -> None:
        """Moves the rows appended so far into the per-metric columns, in call order; call under ``lock``."""
        rows = self.rows
        n = len(rows)
        if n == 0:
            return
        chunk = rows[:n]
        del rows[:n]
        series = self.series
        for keys, group in groupby(chunk, key=_first):
            group_rows = list(group)
            clocks = list(map(_second, group_rows))
            for index, name in enumerate(keys, 2):
                s = series[name]
                values = list(map(itemgetter(index), group_rows))
                if not s.values and s.steps is None:
                    s.values, s.clock, s.shared = values, clocks, True
                    continue
                if s.shared:
                    s.unshare()
                if s.steps is not None:
                    assert s.times is not None and s.timestamps is not None
                    count = len(values)
                    s.steps.extend(range(s.next_step, s.next_step + count))
                    s.next_step += count
                    s.times.extend([None] * count)
                    s.timestamps.extend([None] * count)
                s.values.extend(values)
                s.clock.extend(clocks)

    def drain(self) -> List[Drained]:
        """Hands out the queued columns (clock still raw) and starts empty; the step counts carry on."""
        out: List[Drained] = []
        with self.lock:
            self.fold()
            taken = 0
            for s in self.series.values():
                if not s.values:
                    continue
                taken += len(s.values)
                out.append(Drained(s.name, s.values, s.clock, s.steps, s.first_step, s.timestamps, s.times))
                s.first_step = s.following_step()
                s.next_step = s.first_step
                s.values = []
                s.clock = []
                s.shared = False
                s.steps = None
                s.times = None
                s.timestamps = None
            if taken:
                self.taken += taken
                self.limit = self.taken + self.capacity
                self.room.set()
        return out


_first = itemgetter(0)
_second = itemgetter(1)


@dataclass
class Columns:
    """One metric's drained points as typed arrays, ready to cut into batches and encode."""

    name: str
    values: "array[float]"
    #: Seconds since init.
    times: "array[float]"
    #: None: the steps count up from ``step_start`` (sent as ``stepStart``).
    steps: "Optional[array[int]]"
    step_start: int
    #: None: the timestamps follow from the times (sent as ``timestampOrigin``).
    timestamps: "Optional[array[int]]"


def finish_columns(series: List[Drained], start_clock: float, origin_micros: float) -> List[Columns]:
    """Turns drained lists into arrays: the raw clock into seconds since init (once per clock list that metrics
    of a key set share), and the times and timestamps not given filled in."""
    seconds: Dict[int, "array[float]"] = {}
    out: List[Columns] = []
    for s in series:
        times = seconds.get(id(s.times))
        if times is None:
            times = seconds[id(s.times)] = _since(s.times, start_clock)
        timestamps = None
        given = s.given_times
        if given is not None and s.timestamps is not None:
            timestamps = array(
                "q",
                [stamp if stamp is not None else round(origin_micros + t * 1e6) for stamp, t in zip(s.timestamps, times)],
            )
            times = array("d", [g if g is not None else t for g, t in zip(given, times)])
        steps = array("q", s.steps) if s.steps is not None else None
        out.append(Columns(s.name, array("d", s.values), times, steps, s.step_start, timestamps))
    return out


def _since(clock: List[float], start: float) -> "array[float]":
    """``clock - start`` as float64: by numpy when the program has imported it (importing it here would cost the
    sender thread more than it saves), else in C through ``map``."""
    np = loaded("numpy")
    if np is None:
        return array("d", list(map(sub, clock, repeat(start, len(clock)))))
    times = array("d")
    times.frombytes((np.frombuffer(array("d", clock), dtype=np.float64) - start).tobytes())
    return times


def _le_bytes(data: "array[Any]") -> bytes:
    if _BIG_ENDIAN:
        data = array(data.typecode, data)
        data.byteswap()
    return data.tobytes()


def _str(out: List[bytes], text: str) -> None:
    data = text.encode("utf-8")
    n = len(data)
    if n < 32:
        out.append(bytes((0xA0 | n,)))
    elif n < 0x100:
        out.append(bytes((0xD9, n)))
    elif n < 0x10000:
        out.append(struct.pack(">BH", 0xDA, n))
    else:
        out.append(struct.pack(">BI", 0xDB, n))
    out.append(data)


def _bin(out: List[bytes], data: bytes) -> None:
    n = len(data)
    if n < 0x100:
        out.append(bytes((0xC4, n)))
    elif n < 0x10000:
        out.append(struct.pack(">BH", 0xC5, n))
    else:
        out.append(struct.pack(">BI", 0xC6, n))
    out.append(data)


def _uint(out: List[bytes], n: int) -> None:
    out.append(bytes((n,)) if n < 0x80 else struct.pack(">BQ", 0xCF, n))


_CLOCK_PREFIX = b"\x84\xa5clock\xcb"
_CLOCK_END = len(_CLOCK_PREFIX) + 8


def encode_metric_batch(writer: str, seq: int, series: List[Columns], origin_micros: float) -> bytes:
    """The msgpack body of a metric batch, starting with its ``clock`` (see ``with_clock``): columns as ``bin``,
    steps that count up as ``stepStart``, timestamps that follow from the times as ``timestampOrigin``."""
    out: List[bytes] = [_CLOCK_PREFIX, bytes(8)]
    _str(out, "writer")
    _str(out, writer)
    _str(out, "seq")
    _uint(out, seq)
    _str(out, "series")
    n = len(series)
    out.append(bytes((0x90 | n,)) if n < 16 else struct.pack(">BI", 0xDD, n))
    for s in series:
        out.append(b"\x85")
        _str(out, "name")
        _str(out, s.name)
        _str(out, "values")
        _bin(out, _le_bytes(s.values))
        _str(out, "times")
        _bin(out, _le_bytes(s.times))
        if s.steps is not None:
            _str(out, "steps")
            _bin(out, _le_bytes(s.steps))
        else:
            _str(out, "stepStart")
            _uint(out, s.step_start)
        if s.timestamps is not None:
            _str(out, "timestamps")
            _bin(out, _le_bytes(s.timestamps))
        else:
            _str(out, "timestampOrigin")
            out.append(b"\xcb" + _F64.pack(origin_micros))
    return b"".join(out)


def with_clock(body: bytes, micros: float) -> bytes:
    """The batch with ``clock`` set to ``micros`` (this process's clock as it is sent)."""
    return body[: len(_CLOCK_PREFIX)] + _F64.pack(micros) + body[_CLOCK_END:]


def without_clock(body: bytes) -> bytes:
    """The batch without its ``clock``, for the spool: a spooled batch may be sent much later, or from elsewhere."""
    if not body.startswith(_CLOCK_PREFIX):
        return body
    return bytes((body[0] - 1,)) + body[_CLOCK_END:]


def _slice(s: Columns, start: int, end: int) -> Columns:
    return Columns(
        s.name,
        s.values[start:end],
        s.times[start:end],
        s.steps[start:end] if s.steps is not None else None,
        s.step_start + start,
        s.timestamps[start:end] if s.timestamps is not None else None,
    )


def cut_batches(series: List[Columns], size: int) -> List[List[Columns]]:
    """Cuts series into batches of at most ``size`` points, splitting a long series where needed."""
    batches: List[List[Columns]] = []
    current: List[Columns] = []
    room = size
    for s in series:
        start = 0
        n = len(s.values)
        while start < n:
            take = min(room, n - start)
            current.append(s if start == 0 and take == n else _slice(s, start, start + take))
            start += take
            room -= take
            if room == 0:
                batches.append(current)
                current = []
                room = size
    if current:
        batches.append(current)
    return batches


def is_transient(error: BaseException) -> bool:
    """Errors worth trying again later: the server was unreachable, overloaded or failing."""
    if isinstance(error, ConnectionFailed):
        return True
    return isinstance(error, SimscopeError) and (error.status == 0 or error.status == 429 or error.status >= 500)


def clock_micros() -> float:
    return time.time_ns() / 1000


def send_record(
    transport: Transport,
    run_id: str,
    kind: str,
    body: bytes,
    *,
    retries: Optional[int] = None,
    retry_network_errors: bool = True,
    live: bool = False,
) -> Any:
    """Sends one record (every kind is safe to send twice); ``live`` adds this process's ``clock`` to batches."""
    options: Dict[str, Any] = {"idempotent": True, "retries": retries, "retry_network_errors": retry_network_errors}
    if kind == "metrics":
        batch = body
        if live:
            # Stamped on each try, as the Node client does: a retry after a wait must not carry a stale clock.
            options["before_try"] = lambda: with_clock(batch, clock_micros())
        return transport.request("POST", f"/runs/{run_id}/metrics", body=body, content_type=MSGPACK_TYPE, **options).json()
    if kind == "events" and live:
        doc = json.loads(body)

        def stamp() -> bytes:
            doc["clock"] = clock_micros()
            return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

        options["before_try"] = stamp
    method, path = {
        "create": ("POST", "/runs"),
        "events": ("POST", f"/runs/{run_id}/events"),
        "patch": ("PATCH", f"/runs/{run_id}"),
        "folder": ("POST", "/folders"),
    }[kind]
    return transport.request(method, path, body=body, content_type="application/json", **options).json()


def record_counts(kind: str, body: bytes) -> Tuple[int, int]:
    """Points and events a record carries."""
    if kind == "metrics":
        from ._msgpack import unpackb

        batch = unpackb(body)
        return sum(len(s["values"]) // 8 for s in batch["series"]), 0
    if kind == "events":
        return 0, len(json.loads(body)["events"])
    return 0, 0


@dataclass
class SendStats:
    """What the sender did, as ``flush()`` and ``close()`` report it."""

    sent_points: int = 0
    sent_events: int = 0
    #: Points refused because the queue was full (``queue_blocking=False``).
    dropped_points: int = 0
    #: Points and events the server refused for good (a 4xx), or that could be neither sent nor spooled.
    failed_points: int = 0
    failed_events: int = 0
    #: Points and events in the on-disk spool, waiting for the server.
    spooled_points: int = 0
    spooled_events: int = 0
    #: Errors reported to ``on_error`` (warnings logged when errors are suppressed).
    errors: int = 0


@dataclass
class _Outgoing:
    kind: str
    body: bytes
    points: int = 0
    events: int = 0
    #: What to spool instead of ``body``: a change that says when it happened.
    later: Optional[bytes] = None


@dataclass
class _Command:
    kind: str  # 'patch', 'folder', 'flush' or 'close'
    body: Optional[bytes] = None
    later: Optional[bytes] = None
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: Optional[BaseException] = None


class Sender:
    """Sends queued metrics and events from one daemon thread, in order, by size (``notify``) and by time. While
    the spool holds anything every new record joins it there, and each round first tries to send the spool."""

    def __init__(
        self,
        *,
        transport: Transport,
        run_id: str,
        writer: str,
        queue: MetricQueue,
        start_clock: float,
        origin_micros: float,
        batch_points: int,
        flush_interval: float,
        send_clock: bool,
        spool_root: Path,
        spool_meta: Dict[str, Any],
        offline: bool,
        on_error: Callable[[BaseException], None],
        initial: Optional[List[Tuple[str, bytes]]] = None,
    ) -> None:
        self.transport = transport
        self.run_id = run_id
        self.writer = writer
        self.queue = queue
        self.start_clock = start_clock
        self.origin_micros = origin_micros
        self.batch_points = batch_points
        self.flush_interval = flush_interval
        self.send_clock = send_clock
        self.spool_root = spool_root
        self.spool_meta = spool_meta
        self.offline = offline
        self.on_error = on_error
        self.stats = SendStats()
        self.events: List[Dict[str, Any]] = []
        self.events_lock = threading.Lock()
        self._seq = 0
        self._spool: Optional[SpoolWriter] = None
        self._replay_from = 0
        self._pending: List[Tuple[int, int]] = []
        self._probe_at = 0.0
        self._probe_delay = PROBE_MIN_S
        self._commands: List[_Command] = []
        self._commands_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        for kind, body in initial or []:
            self._append(_Outgoing(kind, body))
        self._thread = threading.Thread(target=self._loop, name=f"simscope-sender-{run_id}", daemon=True)
        self._thread.start()

    @property
    def spooling(self) -> bool:
        return self._spool is not None

    @property
    def spool_dir(self) -> Optional[Path]:
        return self._spool.dir if self._spool is not None else None

    def notify(self) -> None:
        self._wake.set()

    def add_event(self, event: Dict[str, Any]) -> None:
        with self.events_lock:
            self.events.append(event)

    def submit(self, kind: str, body: Any, later: Any = None, timeout: Optional[float] = None) -> Any:
        """Sends a run change in order with the batches; the server's answer, or None when it was spooled.
        A refusal (4xx) is raised."""
        command = _Command(
            kind,
            json.dumps(body, separators=(",", ":"), allow_nan=False, ensure_ascii=False).encode("utf-8"),
            None if later is None else json.dumps(later, separators=(",", ":"), ensure_ascii=False).encode("utf-8"),
        )
        return self._run(command, timeout)

    def flush(self, timeout: Optional[float] = None) -> SendStats:
        self._probe_at = 0.0
        self._run(_Command("flush"), timeout)
        return SendStats(**vars(self.stats))

    def close(self, timeout: Optional[float] = None) -> SendStats:
        """Flushes, stops the thread and closes the spool, whose records stay on disk for ``sync``."""
        if not self._closed:
            self._probe_at = 0.0
            self._run(_Command("close"), timeout)
        return SendStats(**vars(self.stats))

    def _run(self, command: _Command, timeout: Optional[float]) -> Any:
        if self._closed or not self._thread.is_alive():
            if command.kind in ("flush", "close"):
                return None
            raise SimscopeError("invalid_transition", "the run is closed", 0)
        with self._commands_lock:
            self._commands.append(command)
        self._wake.set()
        if not command.done.wait(timeout):
            raise SimscopeError("timeout", f"the sender did not finish within {timeout} s", 0)
        if command.error is not None:
            raise command.error
        return command.result

    def _loop(self) -> None:
        while True:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            with self._commands_lock:
                commands = self._commands
                self._commands = []
            try:
                self._deliver_queued()
            except BaseException as error:  # the thread must outlive any failure
                self._report(error)
            stop = False
            for command in commands:
                try:
                    if command.kind in ("patch", "folder"):
                        assert command.body is not None
                        command.result = self._deliver(_Outgoing(command.kind, command.body, later=command.later))
                    elif command.kind == "close":
                        self._deliver_queued()
                        if self._spool is not None:
                            self._replay()
                        stop = True
                except BaseException as error:
                    command.error = error
                if command.kind != "close":
                    command.done.set()
            try:
                if self._spool is not None and not stop:
                    self._replay()
            except BaseException as error:
                self._report(error)
            if stop:
                if self._spool is not None:
                    self._spool.close()
                self._closed = True
                for command in commands:
                    command.done.set()
                return

    def _report(self, error: BaseException) -> None:
        self.stats.errors += 1
        self.on_error(error)

    def _drain(self) -> List[_Outgoing]:
        out: List[_Outgoing] = []
        drained = self.queue.drain()
        if drained:
            # The built-in msgpack writer with or without the msgpack package: float text in JSON costs more than
            # the rest of the sender together.
            for batch in cut_batches(finish_columns(drained, self.start_clock, self.origin_micros), self.batch_points):
                body = encode_metric_batch(self.writer, self._seq, batch, self.origin_micros)
                out.append(_Outgoing("metrics", body, points=sum(len(s.values) for s in batch)))
                self._seq += 1
        with self.events_lock:
            events = self.events
            self.events = []
        while events:
            n, chars = 0, 0
            for event in events[:EVENTS_PER_BATCH]:
                chars += len(event["message"]) + 64
                if chars > EVENT_BATCH_CHARS and n > 0:
                    break
                n += 1
            chunk, events = events[:n], events[n:]
            text = json.dumps({"writer": self.writer, "seq": self._seq, "events": chunk}, separators=(",", ":"))
            self._seq += 1
            out.append(_Outgoing("events", text.encode("utf-8"), events=len(chunk)))
        return out

    def _deliver_queued(self) -> None:
        for out in self._drain():
            try:
                self._deliver(out)
            except BaseException as error:
                self._report(error)

    def _deliver(self, out: _Outgoing) -> Any:
        """Sends one record now, or spools it while the spool is in use or the server cannot be reached."""
        if self._spool is not None or self.offline:
            self._append(out)
            return None
        try:
            answer = send_record(
                self.transport, self.run_id, out.kind, out.body, retry_network_errors=False, live=self.send_clock
            )
        except BaseException as error:
            if not is_transient(error):
                self.stats.failed_points += out.points
                self.stats.failed_events += out.events
                raise
            self._report(
                SimscopeError(
                    "unavailable",
                    f"server unreachable ({error}); spooling to {self.spool_root / self.run_id} until it is back",
                    0,
                )
            )
            self._append(out)
            return None
        self.stats.sent_points += out.points
        self.stats.sent_events += out.events
        return answer

    def _append(self, out: _Outgoing) -> None:
        try:
            if self._spool is None:
                self._spool = SpoolWriter(self.spool_root, self.spool_meta)
            body = out.later if out.later is not None else out.body
            self._spool.append(out.kind, without_clock(body) if out.kind == "metrics" else body)
        except OSError as error:
            self.stats.failed_points += out.points
            self.stats.failed_events += out.events
            self._report(error)
            return
        self._pending.append((out.points, out.events))
        self.stats.spooled_points += out.points
        self.stats.spooled_events += out.events

    def _replay(self) -> None:
        """Sends spooled records in order until one fails to reach the server; retires the spool when all did."""
        spool = self._spool
        if spool is None or self.offline or time.monotonic() < self._probe_at:
            return
        spool.sync()
        for record in spool_records(spool.dir, self._replay_from):
            points, events = self._pending[0] if self._pending else (0, 0)
            try:
                send_record(self.transport, self.run_id, record.kind, record.body, retries=0)
                self.stats.sent_points += points
                self.stats.sent_events += events
            except BaseException as error:
                if is_transient(error):
                    self._probe_at = time.monotonic() + self._probe_delay
                    self._probe_delay = min(self._probe_delay * 2, PROBE_MAX_S)
                    return
                self.stats.failed_points += points
                self.stats.failed_events += events
                self._report(error)
            if self._pending:
                self._pending.pop(0)
            self.stats.spooled_points -= points
            self.stats.spooled_events -= events
            self._replay_from = record.end
        self._probe_delay = PROBE_MIN_S
        if self._replay_from == spool.size:
            spool.close()
            retire_spool(spool.dir)
            self._spool = None
            self._replay_from = 0

"""Reads and deletes runs, metrics, events, artifacts and folders: the Python twin of the Node ``Client``."""

from __future__ import annotations

import array
import datetime as _dt
import json
import math
import os
import sys
import time
import traceback
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    TextIO,
    Tuple,
    Union,
)

from . import _msgpack
from ._config import resolve_connection, suggest_login
from ._filters import (
    ARTIFACT_CATEGORIES,
    EVENT_LEVELS,
    MAX_PATTERN_LENGTH,
    micros_of,
    run_filter_text,
)
from ._http import MSGPACK_TYPE, QueryValue, Transport
from ._optional import optional
from .arrays import ArrayData, CellSeries, export_hdf5, read_array, read_cell
from .errors import SimscopeError

JsonDict = Dict[str, Any]
Filters = Union[None, str, Mapping[str, Any]]
Query = Dict[str, Optional[str]]

M4_COLUMNS = ("count", "firstX", "firstY", "lastX", "lastY", "minX", "minY", "maxX", "maxY")
_X_COLUMNS = {"step": "steps", "time": "times", "timestamp": "timestamps"}


def _enc(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")


def _invalid(field: str, message: str) -> SimscopeError:
    return SimscopeError("invalid_field", f"{field}: {message}", 400)


def _name(value: Any, field: str) -> str:
    if not isinstance(value, str) or value == "":
        raise _invalid(field, f"expected a non-empty string, got {value!r}")
    return value


# --- listers ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListSpec:
    """One list of the API: its name, how filters become a path and query, its largest page, its get route."""

    name: str
    build: Callable[[Dict[str, Any]], Tuple[str, Query]]
    page_max: int
    get_path: Optional[Callable[[str], str]] = None
    search: bool = False
    times: Tuple[str, ...] = ()


def _strict(filters: Mapping[str, Any], allowed: Sequence[str], required: Sequence[str] = ()) -> None:
    for key in filters:
        if key not in allowed:
            raise _invalid(f"filters.{key}", f"unknown filter; this list takes {', '.join(allowed)}")
    for key in required:
        if filters.get(key) is None:
            raise _invalid(f"filters.{key}", "required")


def _time_range(f: Mapping[str, Any]) -> Tuple[Optional[str], Optional[str]]:
    """``from``/``to`` (µs) of ``timestamp__gt/gte/lt/lte``; an age (``'5h'``) counts back from now."""
    now = int(time.time() * 1e6)

    def micros(value: Any, key: str) -> int:
        if isinstance(value, str):
            from ._filters import _time_literal

            text, age = _time_literal(value, key)
            if age:
                return round(now - _seconds(text) * 1e6)
            return _iso_micros(text, key)
        if isinstance(value, _dt.timedelta):
            return round(now - value.total_seconds() * 1e6)
        return micros_of(value, key)

    lows = [micros(f[k], k) + d for k, d in (("timestamp__gte", 0), ("timestamp__gt", 1)) if f.get(k) is not None]
    highs = [micros(f[k], k) + d for k, d in (("timestamp__lt", 0), ("timestamp__lte", 1)) if f.get(k) is not None]
    return (str(max(lows)) if lows else None, str(min(highs)) if highs else None)


def _seconds(duration: str) -> float:
    import re

    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)", duration))


def _iso_micros(text: str, key: str) -> int:
    value = text.replace("z", "Z").replace("t", "T")
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    fraction = 0
    if "." in value:
        head, rest = value.split(".", 1)
        digits = "".join(c for c in rest if c.isdigit())
        fraction = int(digits[:6].ljust(6, "0"))
        value = head + rest[len(digits) :]
    try:
        at = _dt.datetime.fromisoformat(value)
    except ValueError as error:
        raise _invalid(f"filters.{key}", f"invalid date '{text}': {error}") from None
    return micros_of(at.replace(microsecond=0), key) + fraction


def _runs_request(f: Dict[str, Any]) -> Tuple[str, Query]:
    text, sort = run_filter_text(f)
    return "/runs", {"filter": text, "sort": sort}


def _folders_request(f: Dict[str, Any]) -> Tuple[str, Query]:
    _strict(f, ("path", "parent", "under"))
    return "/folders", {"path": f.get("path"), "parent": f.get("parent"), "prefix": f.get("under")}


def _events_request(f: Dict[str, Any]) -> Tuple[str, Query]:
    allowed = ("run", "level", "level__in", "message__icontains", "timestamp__gt", "timestamp__gte",
               "timestamp__lt", "timestamp__lte", "order")
    _strict(f, allowed, ("run",))
    levels = f.get("level__in") or ([f["level"]] if f.get("level") else None)
    for level in levels or []:
        if level not in EVENT_LEVELS:
            raise _invalid("filters.level", f"expected one of {', '.join(EVENT_LEVELS)}, got {level!r}")
    if f.get("order") not in (None, "asc", "desc"):
        raise _invalid("filters.order", "expected 'asc' or 'desc'")
    start, end = _time_range(f)
    run = _name(f["run"], "filters.run")
    return f"/runs/{_enc(run)}/events", {
        "level": ",".join(levels) if levels else None,
        "q": f.get("message__icontains"),
        "from": start,
        "to": end,
        "order": f.get("order"),
    }


def _metric_names_request(f: Dict[str, Any]) -> Tuple[str, Query]:
    _strict(f, ("run", "name", "name__startswith", "name__icontains", "name__regex"), ("run",))
    regex = f.get("name__regex")
    if regex is not None and len(regex) > MAX_PATTERN_LENGTH:
        raise _invalid("filters.name__regex", f"must be at most {MAX_PATTERN_LENGTH} characters")
    run = _name(f["run"], "filters.run")
    return f"/runs/{_enc(run)}/metrics", {
        "name": f.get("name"),
        "prefix": f.get("name__startswith"),
        "q": f.get("name__icontains"),
        "regex": regex,
    }


def _check_category(category: Optional[str], field: str = "category") -> Optional[str]:
    if category is not None and category not in ARTIFACT_CATEGORIES:
        raise _invalid(field, f"expected one of {', '.join(ARTIFACT_CATEGORIES)}, got {category!r}")
    return category


def _artifacts_request(f: Dict[str, Any]) -> Tuple[str, Query]:
    _strict(f, ("run", "category", "name", "name__startswith", "name__contains", "name__endswith"), ("run",))
    run = _name(f["run"], "filters.run")
    return f"/runs/{_enc(run)}/artifacts", {
        "category": _check_category(f.get("category"), "filters.category"),
        "name": f.get("name"),
        "startsWith": f.get("name__startswith"),
        "contains": f.get("name__contains"),
        "endsWith": f.get("name__endswith"),
    }


def _alerts_request(f: Dict[str, Any]) -> Tuple[str, Query]:
    _strict(f, ("critical",))
    return "/alerts", {"critical": "true" if f.get("critical") else None}


def _run_alerts_request(f: Dict[str, Any]) -> Tuple[str, Query]:
    _strict(f, ("run", "critical"), ("run",))
    run = _name(f["run"], "filters.run")
    return f"/runs/{_enc(run)}/alerts", {"critical": "true" if f.get("critical") else None}


def _telemetry_request(f: Dict[str, Any]) -> Tuple[str, Query]:
    allowed = ("service", "function", "function__in", "session", "timestamp__gt", "timestamp__gte",
               "timestamp__lt", "timestamp__lte", "order")
    _strict(f, allowed, ("service",))
    functions = f.get("function__in") or ([f["function"]] if f.get("function") else None)
    start, end = _time_range(f)
    return "/telemetry/records", {
        "service": f["service"],
        "function": ",".join(functions) if functions else None,
        "session": f.get("session"),
        "from": start,
        "to": end,
        "order": f.get("order"),
    }


RUNS = ListSpec("runs", _runs_request, 1000, lambda i: f"/runs/{_enc(i)}", search=True,
                times=("created", "started", "ended", "heartbeat"))
FOLDERS = ListSpec("folders", _folders_request, 1000, lambda i: f"/folders/{_enc(i)}", times=("created",))
EVENTS = ListSpec("events", _events_request, 10_000, times=("timestamp",))
METRIC_NAMES = ListSpec("metricNames", _metric_names_request, 1000)
ARTIFACTS = ListSpec("artifacts", _artifacts_request, 1000, times=("created",))
ALERTS = ListSpec("alerts", _alerts_request, 1000, lambda i: f"/alerts/{_enc(i)}", times=("created",))
RUN_ALERTS = ListSpec("runAlerts", _run_alerts_request, 1000, times=("since", "evaluated", "next"))
TELEMETRY_RECORDS = ListSpec("telemetryRecords", _telemetry_request, 1000, times=("timestamp",))

MAX_QUERY_URL = 4096


def _to_datetime_columns(frame: Any, columns: Iterable[str]) -> Any:
    pandas = optional("pandas")
    assert pandas is not None
    for column in columns:
        if column in frame.columns:
            frame[column] = pandas.to_datetime(frame[column], unit="us", utc=True)
    return frame


class ListResult:
    """Rows of a list fetched page by page: ``items`` (also ``results``, as in DIALS), the cursor ``next`` to go
    on from, ``complete``, ``pages``, and ``error`` (what stopped the listing when ``keep_failed`` was set)."""

    def __init__(
        self,
        spec: ListSpec,
        path: str,
        query: Query,
        items: List[JsonDict],
        next: Optional[str],
        complete: bool,
        pages: int,
        error: Optional[SimscopeError] = None,
        exc_formatted: Optional[str] = None,
    ) -> None:
        self.list = spec.name
        self.path = path
        self.query = query
        self.items = items
        self.next = next
        self.complete = complete
        self.pages = pages
        self.error = error
        self.exc_formatted = exc_formatted
        self._spec = spec

    @property
    def results(self) -> List[JsonDict]:
        return self.items

    @property
    def exc_type(self) -> Optional[str]:
        """The class name of what stopped the listing, as DIALS has it."""
        return None if self.error is None else type(self.error).__name__

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[JsonDict]:
        return iter(self.items)

    def __getitem__(self, index: int) -> JsonDict:
        return self.items[index]

    def __repr__(self) -> str:
        state = "complete" if self.complete else f"next={self.next!r}"
        return f"ListResult({self.list}, {len(self.items)} items, {self.pages} pages, {state})"

    def to_pandas(self) -> Any:
        """The items as a pandas DataFrame (needs pandas): nested objects (``metadata``) spread into
        ``metadata.KEY`` columns, times (µs) as UTC datetimes."""
        pandas = optional("pandas")
        if pandas is None:
            raise SimscopeError("unavailable", "to_pandas() needs the pandas package (pip install pandas)")
        frame = pandas.json_normalize(self.items) if self.items else pandas.DataFrame()
        return _to_datetime_columns(frame, self._spec.times)

    def to_dict(self) -> JsonDict:
        """The listing as plain JSON, what ``resume_from`` takes back (in any process, and in the Node client)."""
        return {
            "list": self.list,
            "path": self.path,
            "query": {k: v for k, v in self.query.items() if v is not None},
            "items": self.items,
            "next": self.next,
            "complete": self.complete,
            "pages": self.pages,
            "error": None
            if self.error is None
            else {"code": self.error.code, "message": self.error.message, "status": self.error.status},
        }


class Progress:
    """A one-line progress bar on stderr while ``list_all`` runs: tqdm when installed, only on a terminal."""

    def __init__(self, name: str, enabled: Optional[bool], stream: Optional[TextIO] = None) -> None:
        self._stream = stream or sys.stderr
        tty = bool(getattr(self._stream, "isatty", lambda: False)())
        self._on = tty if enabled is None else enabled
        tqdm_module = optional("tqdm") if self._on else None
        self._bar: Any = None
        if tqdm_module is not None:
            self._bar = tqdm_module.tqdm(desc=name, total=1, unit="page", file=self._stream, leave=False)
        self._name = name

    def update(self, pages: int, total: int, items: int) -> None:
        if not self._on:
            return
        if self._bar is not None:
            self._bar.total = total
            self._bar.n = pages
            self._bar.set_postfix(items=items, refresh=False)
            self._bar.refresh()
        else:
            self._stream.write(f"\r{self._name}: {pages}/{total} pages, {items} items")
            self._stream.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self._on:
            self._stream.write("\n")


class Lister:
    """``list`` (one page), ``list_all`` (every page), ``pages`` and ``get`` over one list of the API, with
    filters the server applies: a dict or keyword lookups, and for runs also filter-language text.

    Example: ``client.runs.list_all({"status__in": ["failed", "lost"], "created__gte": "24h"}, max_pages=5)``
    """

    def __init__(self, transport: Transport, spec: ListSpec, progress: Optional[bool] = None) -> None:
        self._transport = transport
        self._spec = spec
        self._progress = progress

    def _request(self, filters: Filters, lookups: Mapping[str, Any]) -> Tuple[str, Query]:
        merged: Dict[str, Any] = {}
        if isinstance(filters, str):
            if self._spec is not RUNS:
                raise _invalid("filters", f"{self._spec.name} take a dict of filters, not filter text")
            merged["filter"] = filters
        elif filters is not None:
            if not isinstance(filters, Mapping):
                raise _invalid("filters", f"expected a dict or filter text, got {type(filters).__name__}")
            merged.update(filters)
        merged.update(lookups)
        return self._spec.build({k: v for k, v in merged.items() if v is not None})

    def _page(
        self, path: str, query: Query, limit: Optional[int], next: Optional[str], retries: Optional[int]
    ) -> JsonDict:
        full: Dict[str, QueryValue] = dict(query)
        full["limit"] = limit
        full["next"] = next
        if self._spec.search:
            present = {k: str(v) for k, v in full.items() if v is not None}
            if len(path) + len(urllib.parse.urlencode(present)) + 8 > MAX_QUERY_URL:
                body = {k: (int(v) if k == "limit" else v) for k, v in present.items()}
                answer = self._transport.request("POST", f"{path}/search", json=body, idempotent=True,
                                                 retries=retries)
                page: JsonDict = answer.json()
                return page
        result: JsonDict = self._transport.request("GET", path, query=full, retries=retries).json()
        return result

    def get(self, id: str, *, retries: Optional[int] = None) -> JsonDict:
        """One item by id (or name, for runs)."""
        if self._spec.get_path is None:
            raise SimscopeError("not_found", f"{self._spec.name} have no get; use list")
        item: JsonDict = self._transport.request("GET", self._spec.get_path(_name(id, "id")), retries=retries).json()
        return item

    def list(
        self,
        filters: Filters = None,
        *,
        page_size: Optional[int] = None,
        next: Optional[str] = None,
        retries: Optional[int] = None,
        **lookups: Any,
    ) -> ListResult:
        """One page of rows."""
        path, query = self._request(filters, lookups)
        page = self._page(path, query, page_size, next, retries)
        return ListResult(self._spec, path, query, page["items"], page["next"], page["next"] is None, 1)

    def pages(
        self,
        filters: Filters = None,
        *,
        page_size: Optional[int] = None,
        max_pages: Optional[int] = None,
        retries: Optional[int] = None,
        **lookups: Any,
    ) -> Iterator[List[JsonDict]]:
        """Pages as they arrive, for listings too large to hold at once."""
        path, query = self._request(filters, lookups)
        next: Optional[str] = None
        fetched = 0
        while max_pages is None or fetched < max_pages:
            page = self._page(path, query, page_size or self._spec.page_max, next, retries)
            fetched += 1
            next = page["next"]
            yield page["items"]
            if next is None:
                return

    def list_all(
        self,
        filters: Filters = None,
        *,
        page_size: Optional[int] = None,
        max_pages: Optional[int] = None,
        keep_failed: bool = False,
        resume_from: Union[ListResult, Mapping[str, Any], None] = None,
        retries: Optional[int] = None,
        progress: Optional[bool] = None,
        **lookups: Any,
    ) -> ListResult:
        """Every page (up to ``max_pages`` in this call). With ``keep_failed`` an error ends the listing with what
        was fetched, the error and the cursor; ``resume_from`` (a result or its ``to_dict()``) goes on from there."""
        path, query = self._request(filters, lookups)
        items: List[JsonDict] = []
        next: Optional[str] = None
        complete = False
        pages = 0
        if resume_from is not None:
            state = resume_from.to_dict() if isinstance(resume_from, ListResult) else dict(resume_from)
            wanted = {k: v for k, v in query.items() if v is not None}
            if state.get("list") != self._spec.name or state.get("path") != path or state.get("query") != wanted:
                raise SimscopeError(
                    "invalid_cursor",
                    f"resume_from: that result lists {state.get('list')} at {state.get('path')} with "
                    f"{json.dumps(state.get('query'))}, not {path} with {json.dumps(wanted)}; pass the same filters",
                    400,
                )
            items = list(state["items"])
            next = state["next"]
            complete = bool(state["complete"])
            pages = int(state["pages"])
        before = pages
        bar = Progress(self._spec.name, self._progress if progress is None else progress)
        error: Optional[SimscopeError] = None
        formatted: Optional[str] = None
        try:
            while not complete:
                if max_pages is not None and pages - before >= max_pages:
                    break
                page = self._page(path, query, page_size or self._spec.page_max, next, retries)
                items.extend(page["items"])
                pages += 1
                next = page["next"]
                complete = next is None
                total = pages + (0 if complete else 1)
                if max_pages is not None:
                    total = min(total, before + max_pages)
                bar.update(pages, max(total, pages), len(items))
        except Exception as caught:
            if not keep_failed:
                raise
            error = caught if isinstance(caught, SimscopeError) else SimscopeError("internal", str(caught))
            formatted = traceback.format_exc()
        finally:
            bar.close()
        return ListResult(self._spec, path, query, items, next, complete, pages, error, formatted)


# --- metric values -------------------------------------------------------------------------------------------


def _floats(column: Any) -> Any:
    numpy = optional("numpy")
    if isinstance(column, (bytes, bytearray)):
        if numpy is not None:
            return numpy.frombuffer(column, dtype="<f8").copy()
        out = array.array("d", bytes(column))
        if sys.byteorder == "big":
            out.byteswap()
        return out
    values = [math.nan if v is None else float(v) for v in column]
    return numpy.array(values, dtype="float64") if numpy is not None else array.array("d", values)


def _ints(column: Any) -> Any:
    numpy = optional("numpy")
    if isinstance(column, (bytes, bytearray)):
        if numpy is not None:
            return numpy.frombuffer(column, dtype="<i8").copy()
        out = array.array("q", bytes(column))
        if sys.byteorder == "big":
            out.byteswap()
        return out
    if any(v is None for v in column):
        return _floats(column)
    return numpy.array(column, dtype="int64") if numpy is not None else array.array("q", column)


def _concat(parts: List[Any], kind: str) -> Any:
    numpy = optional("numpy")
    if numpy is not None:
        if not parts:
            return numpy.array([], dtype="float64" if kind == "d" else "int64")
        return parts[0] if len(parts) == 1 else numpy.concatenate(parts)
    out = array.array(kind)
    for part in parts:
        if part.typecode != kind:
            return array.array("d", [float(v) for p in parts for v in p])
        out.extend(part)
    return out


def _m4_points(buckets: Mapping[str, Any]) -> Tuple[List[float], List[float]]:
    """The points of M4 buckets in x order, without repeats: what a chart draws."""
    cols = {name: list(_floats(buckets[name])) for name in M4_COLUMNS}
    xs: List[float] = []
    ys: List[float] = []
    for i, count in enumerate(cols["count"]):
        if count == 0:
            continue
        points = sorted(
            [
                (cols["firstX"][i], cols["firstY"][i]),
                (cols["minX"][i], cols["minY"][i]),
                (cols["maxX"][i], cols["maxY"][i]),
                (cols["lastX"][i], cols["lastY"][i]),
            ],
            key=lambda p: float(p[0]),
        )
        last = math.nan
        for px, py in points:
            if math.isnan(px) or px == last:
                continue
            xs.append(px)
            ys.append(py)
            last = px
    return xs, ys


# --- the client --------------------------------------------------------------------------------------------


class Client:
    """Reads and deletes runs, metrics, events, artifacts and folders. Each list (``runs``, ``folders``, ``events``,
    ``metric_names``, ``artifacts``, ``alerts``, ``run_alerts``, ``telemetry_records``) has ``list``,
    ``list_all``, ``pages`` and ``get`` in DIALS's shape.

    Example::

        client = Client(workspace="fluids")
        failed = client.runs.list_all(status__in=["failed", "lost"], created__gte="24h", max_pages=5)
        frame = failed.to_pandas()
    """

    def __init__(
        self,
        url: Optional[str] = None,
        token: Optional[str] = None,
        workspace: Optional[str] = None,
        profile: Optional[str] = None,
        *,
        timeout: float = 30.0,
        retries: int = 5,
        progress: Optional[bool] = None,
    ) -> None:
        self.connection = resolve_connection(url=url, token=token, workspace=workspace, profile=profile)
        suggest_login(self.connection)
        self._transport = Transport(self.connection, timeout=timeout, retries=retries)
        t = self._transport
        self.runs = Lister(t, RUNS, progress)
        self.folders = Lister(t, FOLDERS, progress)
        self.events = Lister(t, EVENTS, progress)
        self.metric_names = Lister(t, METRIC_NAMES, progress)
        self.artifacts = Lister(t, ARTIFACTS, progress)
        self.alerts = Lister(t, ALERTS, progress)
        self.run_alerts = Lister(t, RUN_ALERTS, progress)
        self.telemetry_records = Lister(t, TELEMETRY_RECORDS, progress)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Closes this thread's connection to the server."""
        self._transport.close()

    # runs

    def get_run(self, run: str) -> JsonDict:
        """A run by id or name (times in µs since the epoch)."""
        answer: JsonDict = self._transport.request("GET", f"/runs/{_enc(_name(run, 'run'))}").json()
        return answer

    def get_runs(
        self, filters: Filters = None, *, sort: Optional[str] = None, limit: int = 100, **lookups: Any
    ) -> List[JsonDict]:
        """Runs matching filter text or lookups, newest first unless ``sort`` says; at most ``limit``."""
        if sort is not None:
            lookups["sort"] = sort
        out: List[JsonDict] = []
        for page in self.runs.pages(filters, page_size=min(1000, max(1, limit)), **lookups):
            out.extend(page)
            if len(out) >= limit:
                break
        return out[:limit]

    def delete_run(self, run: str) -> None:
        """Deletes a run and all its data."""
        self._transport.request("DELETE", f"/runs/{_enc(_name(run, 'run'))}")

    def delete_runs(self, runs: Iterable[str]) -> None:
        for run in runs:
            self.delete_run(run)

    # metrics

    def get_metric_names(self, run: str) -> List[JsonDict]:
        """The metrics of a run: ``name``, ``count``, ``last`` point, ``min``, ``max``."""
        return self.metric_names.list_all({"run": run}, progress=False).items

    def get_metric_values(
        self,
        runs: Union[str, Sequence[str]],
        names: Union[str, Sequence[str]],
        x: str = "step",
        max_points: Optional[int] = None,
        *,
        as_dataframe: bool = False,
    ) -> Any:
        """Values of metrics against ``x`` (``step``, ``time`` or ``timestamp``) for each run and name, as long-form
        columns: ``{"run": [...], "metric": [...], x: array, "value": array}`` (numpy arrays when installed,
        ``array.array`` otherwise), or a pandas DataFrame with ``as_dataframe=True``. With ``max_points`` long
        series come downsampled (M4: first, last, min and max of each of ``max_points // 4`` buckets)."""
        if x not in _X_COLUMNS:
            raise _invalid("x", f"expected 'step', 'time' or 'timestamp', got {x!r}")
        if max_points is not None and (isinstance(max_points, bool) or not isinstance(max_points, int)
                                       or max_points < 1):
            raise _invalid("max_points", f"expected a positive whole number, got {max_points!r}")
        run_list = [runs] if isinstance(runs, str) else list(runs)
        name_list = [names] if isinstance(names, str) else list(names)
        run_col: List[str] = []
        name_col: List[str] = []
        xs: List[Any] = []
        ys: List[Any] = []
        for run in run_list:
            for name in name_list:
                px, py = self._series(_name(run, "runs"), _name(name, "names"), x, max_points)
                run_col.extend([run] * len(py))
                name_col.extend([name] * len(py))
                xs.append(px)
                ys.append(py)
        kind = "d" if x == "time" else "q"
        if max_points is not None and kind == "q":
            xs = [_ints([int(v) for v in part]) for part in xs]
        columns: Dict[str, Any] = {"run": run_col, "metric": name_col, x: _concat(xs, kind), "value": _concat(ys, "d")}
        numpy = optional("numpy")
        if numpy is not None:
            columns["run"] = numpy.array(run_col, dtype=object)
            columns["metric"] = numpy.array(name_col, dtype=object)
        if not as_dataframe:
            return columns
        pandas = optional("pandas")
        if pandas is None:
            raise SimscopeError("unavailable", "as_dataframe=True needs the pandas package (pip install pandas)")
        return pandas.DataFrame({k: list(v) if isinstance(v, array.array) else v for k, v in columns.items()})

    def _series(self, run: str, name: str, x: str, max_points: Optional[int]) -> Tuple[Any, Any]:
        path = f"/runs/{_enc(run)}/metrics"
        if max_points is not None:
            raw = self._transport.request(
                "GET", f"{path}/downsample", query={"name": name, "x": x, "buckets": max(1, max_points // 4)},
                accept=MSGPACK_TYPE,
            )
            bx, by = _m4_points(self._decode(raw.body, raw.headers))
            return _floats(bx), _floats(by)
        column = _X_COLUMNS[x]
        xs: List[Any] = []
        ys: List[Any] = []
        next: Optional[str] = None
        while True:
            raw = self._transport.request(
                "GET", f"{path}/series", query={"name": name, "columns": f"{x},value", "next": next},
                accept=MSGPACK_TYPE,
            )
            page = self._decode(raw.body, raw.headers)
            xs.append(_floats(page[column]) if x == "time" else _ints(page[column]))
            ys.append(_floats([_json_float(v) for v in page["values"]] if isinstance(page["values"], list)
                              else page["values"]))
            next = page.get("next")
            if not next:
                break
        return _concat(xs, "d" if x == "time" else "q"), _concat(ys, "d")

    @staticmethod
    def _decode(body: bytes, headers: Mapping[str, str]) -> JsonDict:
        if MSGPACK_TYPE in headers.get("content-type", ""):
            decoded: JsonDict = _msgpack.unpackb(body)
            return decoded
        parsed: JsonDict = json.loads(body)
        for key, value in parsed.items():
            if isinstance(value, list):
                parsed[key] = [_json_float(v) for v in value]
        return parsed

    # events

    # arrays

    def get_array(self, run: str, name: str, step: Optional[int] = None, region: Optional[str] = None, nearest: bool = False) -> ArrayData:
        """One step of an array series (the last when ``step`` is None; with ``nearest`` the stored step nearest to
        it) as ``(step, values)`` with ``values`` a numpy array; ``region`` takes numpy slicing such as ``"::4,100:200"``."""
        return read_array(self._transport, _name(run, "run"), name, step, region, nearest)

    def get_array_cell(self, run: str, name: str, cell: Sequence[int], start: Optional[int] = None) -> CellSeries:
        """The value of element ``cell`` (such as ``(12, 40)``) at each step of an array series, from step ``start``."""
        return read_cell(self._transport, _name(run, "run"), name, cell, start)

    def export_arrays(
        self, run: str, name: str, path: str, on_progress: Optional[Callable[[JsonDict], None]] = None
    ) -> str:
        """Writes array series ``name`` to an HDF5 file at ``path`` (datasets ``NAME/data``, ``NAME/step``,
        ``NAME/time``), calling ``on_progress`` with the export's state as the server writes; returns ``path``."""
        return export_hdf5(self._transport, _name(run, "run"), name, path, on_progress)

    def get_events(
        self,
        run: str,
        *,
        contains: Optional[str] = None,
        level: Union[None, str, Sequence[str]] = None,
        limit: int = 1000,
    ) -> List[JsonDict]:
        """A run's events, oldest first: ``timestamp`` (µs), ``time``, ``level``, ``message``."""
        levels = [level] if isinstance(level, str) else (list(level) if level is not None else None)
        out: List[JsonDict] = []
        filters = {"run": run, "message__icontains": contains, "level__in": levels}
        for page in self.events.pages(filters, page_size=min(10_000, max(1, limit))):
            out.extend(page)
            if len(out) >= limit:
                break
        return out[:limit]

    # artifacts

    def list_artifacts(
        self,
        run: str,
        category: Optional[str] = None,
        *,
        startswith: Optional[str] = None,
        contains: Optional[str] = None,
        endswith: Optional[str] = None,
    ) -> List[JsonDict]:
        """A run's artifacts by name: ``name``, ``category``, ``mimeType``, ``size``, ``sha256``, ``created``, …"""
        _check_category(category)
        filters = {"run": run, "category": category, "name__startswith": startswith, "name__contains": contains,
                   "name__endswith": endswith}
        return self.artifacts.list_all(filters, progress=False).items

    def get_artifact(self, run: str, name: str) -> bytes:
        """An artifact's bytes, in memory."""
        return self._transport.request(
            "GET", f"/runs/{_enc(_name(run, 'run'))}/artifacts/content", query={"name": _artifact_name(name)},
            accept="*/*",
        ).body

    def get_artifact_as_file(self, run: str, name: str, path: Union[str, "os.PathLike[str]", None] = None) -> str:
        """Downloads one artifact into ``path`` (default: the working directory), keeping the directories of its
        name (``system/controlDict`` goes to ``PATH/system/controlDict``); returns the file's path."""
        target = _download_target(Path(path) if path is not None else Path.cwd(), _artifact_name(name))
        self._transport.download(f"/runs/{_enc(_name(run, 'run'))}/artifacts/content", target, query={"name": name})
        return str(target)

    def get_artifacts_as_files(
        self,
        run: str,
        path: Union[str, "os.PathLike[str]", None] = None,
        category: Optional[str] = None,
        startswith: Optional[str] = None,
        contains: Optional[str] = None,
        endswith: Optional[str] = None,
    ) -> List[str]:
        """Downloads the artifacts the filters pick (all by default) into ``path``; returns the files' paths. Every
        name is checked first, so none can write outside ``path``."""
        directory = Path(path) if path is not None else Path.cwd()
        artifacts = self.list_artifacts(run, category, startswith=startswith, contains=contains, endswith=endswith)
        for artifact in artifacts:
            _download_target(directory, artifact["name"])
        return [self.get_artifact_as_file(run, a["name"], directory) for a in artifacts]

    def delete_artifact(self, run: str, name: str) -> None:
        self._transport.request(
            "DELETE", f"/runs/{_enc(_name(run, 'run'))}/artifacts", query={"name": _artifact_name(name)}
        )

    # folders

    def get_folders(
        self, *, prefix: Optional[str] = None, parent: Optional[str] = None, limit: int = 1000
    ) -> List[JsonDict]:
        """Folders under ``prefix`` (itself included) or the direct children of ``parent``."""
        out: List[JsonDict] = []
        for page in self.folders.pages({"under": prefix, "parent": parent}, page_size=min(1000, max(1, limit))):
            out.extend(page)
            if len(out) >= limit:
                break
        return out[:limit]

    def get_folder(self, path: str) -> JsonDict:
        """A folder by its path (``/cfd/cavity``) or id."""
        if path.startswith("/"):
            found = self.folders.list({"path": path}).items
            if not found:
                raise SimscopeError("not_found", f"folder '{path}' not found", 404)
            return found[0]
        return self.folders.get(path)

    def create_folder(
        self,
        path: str,
        *,
        description: Optional[str] = None,
        tags: Optional[Sequence[str]] = None,
        metadata: Optional[Mapping[str, Any]] = None,
    ) -> JsonDict:
        """Creates a folder and its parents (an existing one is returned as it is)."""
        body: Dict[str, Any] = {"path": path}
        if description is not None:
            body["description"] = description
        if tags is not None:
            body["tags"] = list(tags)
        if metadata is not None:
            body["metadata"] = dict(metadata)
        answer: JsonDict = self._transport.request("POST", "/folders", json=body).json()
        return answer

    def update_folder(
        self,
        path: str,
        *,
        description: Optional[str] = None,
        tags: Optional[Sequence[str]] = None,
        metadata: Optional[Mapping[str, Any]] = None,
    ) -> JsonDict:
        """Changes a folder's description, tags and metadata (merged)."""
        folder = self.get_folder(path)
        body: Dict[str, Any] = {}
        if description is not None:
            body["description"] = description
        if tags is not None:
            body["tags"] = list(tags)
        if metadata is not None:
            body["metadata"] = dict(metadata)
        answer: JsonDict = self._transport.request("PATCH", f"/folders/{_enc(folder['id'])}", json=body).json()
        return answer

    def delete_folder(self, path: str, *, recursive: bool = False) -> None:
        """Deletes a folder; ``recursive=True`` also deletes its subfolders and runs."""
        folder = self.get_folder(path)
        self._transport.request(
            "DELETE", f"/folders/{_enc(folder['id'])}", query={"recursive": "true" if recursive else None}
        )

    # alerts

    def get_alerts(self, run: Optional[str] = None, *, critical: bool = False) -> List[JsonDict]:
        """The alerts of one run with their states, or the workspace's alert definitions."""
        if run is not None:
            return self.run_alerts.list_all({"run": run, "critical": critical or None}, progress=False).items
        return self.alerts.list_all({"critical": critical or None}, progress=False).items


def _json_float(value: Any) -> Any:
    if isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
        return float(value.replace("Infinity", "inf"))
    return value


def _artifact_name(name: Any) -> str:
    name = _name(name, "name")
    if "\x00" in name:
        raise _invalid("name", "must not contain NUL")
    return str(name)


def _download_target(directory: Path, name: str) -> Path:
    """Where an artifact of this name goes under ``directory``; a name that would leave it is refused."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or ".." in parts or name.startswith("/"):
        raise _invalid("name", f"'{name}' would be written outside {directory}")
    target = directory.joinpath(*parts)
    root = directory.resolve()
    if root != target.resolve() and root not in target.resolve().parents:
        raise _invalid("name", f"'{name}' would be written outside {directory}")
    return target


__all__ = ["Client", "Lister", "ListResult", "ListSpec"]

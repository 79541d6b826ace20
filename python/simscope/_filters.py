"""Typed run filters (``status__in``, ``created__gte``, ``metadata__re__gt``) as filter-language text, exactly as
the Node client builds it (packages/protocol/src/query/list-filters.ts and lookups.ts)."""

from __future__ import annotations

import datetime as _dt
import math
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .errors import SimscopeError

LOOKUPS = (
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "in",
    "contains",
    "icontains",
    "startswith",
    "endswith",
    "regex",
    "isnull",
    "overlap",
)
RUN_STATUSES = ("created", "running", "completed", "failed", "terminated", "lost")
RUN_SORT_FIELDS = ("created", "started", "ended", "heartbeat", "name", "status")
EVENT_LEVELS = ("debug", "info", "warning", "error", "critical")
ARTIFACT_CATEGORIES = ("code", "input", "output")
METRIC_STATS = ("last", "min", "max", "count", "step")
RUN_FIELDS = ("id", "name", "status", "folder", "user", "description")
TIME_FIELDS = ("created", "started", "ended", "heartbeat")
MAX_IN_VALUES = 1000
MAX_PATTERN_LENGTH = 1000

TEXT_OPS = ("ne", "in", "contains", "icontains", "startswith", "endswith", "regex", "isnull")
TIME_OPS = ("gt", "gte", "lt", "lte", "isnull")
ORDER_OPS = ("gt", "gte", "lt", "lte")
METRIC_LOOKUPS = ("exact", "ne") + ORDER_OPS
METADATA_LOOKUPS = ("exact",) + TEXT_OPS + ORDER_OPS

_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$")
_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[Tt]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?)?$"
)
_BARE_SEGMENT = re.compile(r"^[\w\-/]+$")
_ORDER = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _static_keys() -> Dict[str, Tuple[str, str]]:
    """Each typed key of run filters: the field and its lookup (``exact`` for the bare field)."""
    keys: Dict[str, Tuple[str, str]] = {}

    def add(field: str, ops: Sequence[str]) -> None:
        keys[field] = (field, "exact")
        for op in ops:
            keys[f"{field}__{op}"] = (field, op)

    for field in ("id", "name", "folder", "user", "description"):
        add(field, TEXT_OPS)
    add("status", ("ne", "in"))
    for field in TIME_FIELDS:
        add(field, TIME_OPS)
    keys["tags__contains"] = ("tags", "contains")
    keys["tags__overlap"] = ("tags", "overlap")
    return keys


RUN_FILTER_KEYS = _static_keys()


def split_lookup(key: str) -> Tuple[List[str], str]:
    """``metadata__beta__gt`` → ``(['metadata', 'beta'], 'gt')``; no known suffix means ``exact``."""
    parts = key.split("__")
    if len(parts) > 1 and parts[-1] in LOOKUPS:
        return parts[:-1], parts[-1]
    return parts, "exact"


def _fail(key: str, message: str) -> SimscopeError:
    return SimscopeError("invalid_field", f"filters.{key}: {message}", 400)


def micros_of(value: Any, key: str) -> int:
    """Microseconds since the epoch of an int (µs) or a ``datetime`` (naive means UTC)."""
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        delta = value - _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if isinstance(value, _dt.date):
        return micros_of(_dt.datetime(value.year, value.month, value.day), key)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise _fail(key, "microseconds since the epoch must be a whole number")


def format_timestamp(micros: int) -> str:
    """ISO text the filter language reads back to the same microsecond."""
    seconds, fraction = divmod(micros, 1_000_000)
    at = _dt.datetime(1970, 1, 1) + _dt.timedelta(seconds=seconds)
    if fraction == 0 and at.hour == 0 and at.minute == 0 and at.second == 0:
        return at.strftime("%Y-%m-%d")
    text = at.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{fraction:06d}Z" if fraction else f"{text}Z"


def quote(text: str) -> str:
    """A double-quoted string of the filter language."""

    def escape(match: "re.Match[str]") -> str:
        char = match.group(0)
        if char in ('\\', '"'):
            return "\\" + char
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char, f"\\u{ord(char):04x}")

    return '"' + re.sub(r'[\\"\x00-\x1f\x7f]', escape, text) + '"'


def escape_regex(text: str) -> str:
    """A regular expression that matches ``text`` literally, as RE2, JavaScript and PostgreSQL read it."""
    return re.sub(r"([\\^$.*+?()\[\]{}|])", r"\\\1", text)


def _dotted(name: str) -> str:
    return name if all(_BARE_SEGMENT.match(part) for part in name.split(".")) else quote(name)


def _number(value: float, key: str) -> str:
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        raise _fail(key, f"cannot compare with {value}")
    return repr(float(value))


def _literal(value: Any, key: str) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _number(value, key)
    if isinstance(value, str):
        return quote(value)
    raise _fail(key, f"expected a string, number, boolean or None, got {type(value).__name__}")


def _time_literal(value: Any, key: str) -> Tuple[str, bool]:
    """The filter text of a time value, and whether it is an age (which compares the other way round)."""
    if isinstance(value, str):
        text = value.strip()
        if _DURATION.match(text):
            return text, True
        if _DATE.match(text):
            return text, False
        raise _fail(
            key,
            "expected microseconds since the epoch, a datetime, an ISO date such as 2026-01-31T12:00:00Z or an "
            f"age such as 5h, got '{value}'",
        )
    if isinstance(value, _dt.timedelta):
        seconds = value.total_seconds()
        if seconds < 0:
            raise _fail(key, "an age must not be negative")
        return (f"{int(seconds)}s" if seconds == int(seconds) else f"{seconds}s"), True
    return format_timestamp(micros_of(value, key)), False


def _field(path: List[str]) -> str:
    head, rest = path[0], path[1:]
    if head == "metadata":
        return ".".join(["metadata"] + [k if _BARE_SEGMENT.match(k) else quote(k) for k in rest])
    if head == "metrics":
        return f"metrics.{_dotted('__'.join(rest[:-1]))}.{rest[-1]}"
    return head


def _any_of(items: List[str]) -> str:
    return items[0] if len(items) == 1 else " or ".join(items)


def _list(value: Any, key: str) -> List[Any]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, set, frozenset)):
        raise _fail(key, "expected a list")
    items = list(value)
    if not items:
        raise _fail(key, "must list at least one value")
    if len(items) > MAX_IN_VALUES:
        raise _fail(key, f"must list at most {MAX_IN_VALUES} values")
    return items


def _text_value(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise _fail(key, f"expected a string, got {type(value).__name__}")
    return value


def _lookup(key: str, field: str, op: str, value: Any, time_field: bool, metadata: bool) -> Tuple[str, bool]:
    """One lookup as filter text, and whether it is an ``or`` (which needs parentheses inside an ``and``)."""

    def lit(v: Any) -> str:
        if time_field and v is not None:
            return _time_literal(v, key)[0]
        return _literal(v, key)

    if op == "exact":
        return f"{field} == {lit(value)}", False
    if op == "ne":
        return f"{field} != {lit(value)}", False
    if op == "in":
        items = [f"{field} == {lit(v)}" for v in _list(value, key)]
        return _any_of(items), len(items) > 1
    if op == "icontains":
        return f"{field} contains {quote(_text_value(value, key))}", False
    if op == "contains":
        return f"{field} matches {quote(escape_regex(_text_value(value, key)))}", False
    if op == "startswith":
        return f"{field} matches {quote('^' + escape_regex(_text_value(value, key)))}", False
    if op == "endswith":
        return f"{field} matches {quote(escape_regex(_text_value(value, key)) + '$')}", False
    if op == "regex":
        pattern = _text_value(value, key)
        if len(pattern) > MAX_PATTERN_LENGTH:
            raise _fail(key, f"must be at most {MAX_PATTERN_LENGTH} characters")
        return f"{field} matches {quote(pattern)}", False
    if op == "isnull":
        if not isinstance(value, bool):
            raise _fail(key, "expected True or False")
        if metadata:
            return (f"not {field} exists" if value else f"{field} exists"), False
        return f"{field} {'==' if value else '!='} null", False
    ordered = _ORDER[op]
    if time_field:
        text, age = _time_literal(value, key)
        # An age compares the other way round: created__gte '5h' is "created at most 5 hours ago".
        return f"{field} {_FLIP[ordered] if age else ordered} {text}", False
    return f"{field} {ordered} {_literal(value, key)}", False


def _check_value(key: str, field: str, op: str, value: Any) -> None:
    if field == "status":
        for v in _list(value, key) if op == "in" else [value]:
            if v not in RUN_STATUSES:
                raise _fail(key, f"expected one of {', '.join(RUN_STATUSES)}, got {v!r}")
    elif field in ("id", "name", "folder", "user") and op in ("exact", "ne"):
        if not isinstance(value, str) or value == "":
            raise _fail(key, "expected a non-empty string")
    elif field in ("id", "name", "folder", "user", "description") and op == "in":
        for v in _list(value, key):
            _text_value(v, key)


def run_filter_text(filters: Mapping[str, Any]) -> Tuple[Optional[str], Optional[str]]:
    """Checks typed run filters and returns ``(filter text, sort)``; an unknown key or a bad value raises
    ``SimscopeError('invalid_field')`` naming it (``filters.stauts: unknown filter; …``)."""
    items: List[str] = []
    text = filters.get("filter")
    if text is not None:
        if not isinstance(text, str):
            raise _fail("filter", "expected filter-language text")
        if text.strip():
            items.append(f"({text})")
    sort = filters.get("sort")
    if sort is not None and (not isinstance(sort, str) or sort.lstrip("+-") not in RUN_SORT_FIELDS
                             or len(sort) - len(sort.lstrip("+-")) > 1):
        raise _fail("sort", f"expected one of {', '.join(RUN_SORT_FIELDS)}, with - for descending")
    for key, value in filters.items():
        if key in ("filter", "sort"):
            continue
        if key == "tags__contains":
            tags = [value] if isinstance(value, str) else _list(value, key)
            items.extend(f"has tag.{_dotted(_text_value(t, key))}" for t in tags)
            continue
        if key == "tags__overlap":
            tags = [_text_value(t, key) for t in _list(value, key)]
            expr = _any_of([f"has tag.{_dotted(t)}" for t in tags])
            items.append(f"({expr})" if len(tags) > 1 else expr)
            continue
        if key in RUN_FILTER_KEYS:
            field, op = RUN_FILTER_KEYS[key]
            _check_value(key, field, op, value)
            expr, is_or = _lookup(key, field, op, value, field in TIME_FIELDS, False)
            items.append(f"({expr})" if is_or else expr)
            continue
        path, op = split_lookup(key)
        if path[0] == "metrics" and len(path) > 1:
            if len(path) < 3 or path[-1] not in METRIC_STATS:
                raise _fail(
                    key,
                    f"write metrics__NAME__STAT with STAT one of {', '.join(METRIC_STATS)} "
                    "(e.g. metrics__loss__last__lt)",
                )
            if op not in METRIC_LOOKUPS:
                raise _fail(key, f"metrics take the lookups {', '.join(METRIC_LOOKUPS[1:])}")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise _fail(key, "metrics compare with a finite number")
            items.append(_lookup(key, _field(path), op, value, False, False)[0])
            continue
        if path[0] == "metadata" and len(path) > 1:
            if any(k == "" for k in path[1:]):
                raise _fail(key, "a metadata key must not be empty")
            if op not in METADATA_LOOKUPS:
                raise _fail(key, f"metadata takes the lookups {', '.join(METADATA_LOOKUPS[1:])}")
            if op in ORDER_OPS and (isinstance(value, bool) or not isinstance(value, (int, float, str))):
                raise _fail(key, "expected a string or a number")
            expr, is_or = _lookup(key, _field(path), op, value, False, True)
            items.append(f"({expr})" if is_or else expr)
            continue
        raise _fail(
            key,
            "unknown filter; use a field such as name, status, created, tags, metadata__KEY or metrics__NAME__STAT",
        )
    if not items:
        return None, sort
    if len(items) == 1 and isinstance(text, str) and items[0] == f"({text})":
        return text, sort
    return " and ".join(items), sort

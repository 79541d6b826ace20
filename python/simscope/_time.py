"""Durations and timestamps as users write them, in the server's units (seconds, µs since the epoch)."""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from typing import Union

from .errors import SimscopeError

Duration = Union[str, int, float]
Timestamp = Union[datetime, str, int]

_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0, "w": 604_800.0}
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)(ms|s|m|h|d|w))+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
#: 2000-01-01T00:00:00Z: an earlier timestamp is a mistake (seconds or ms given for µs, a zero).
MIN_PLAUSIBLE_MICROS = 946_684_800_000_000
MAX_MICROS = 2**53 - 1


def parse_duration(value: Duration, field: str) -> float:
    """Seconds from ``30``, ``2.5``, ``'30s'``, ``'5m'``, ``'1h30m'``, ``'7d'``; refuses what is not > 0 and finite."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise SimscopeError("invalid_field", f"{field}: expected seconds or a duration such as '30s', got {value!r}")
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d+(?:\.\d+)?", text):
            seconds = float(text)
        elif _DURATION.fullmatch(text):
            seconds = sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _PART.findall(text))
        else:
            raise SimscopeError(
                "invalid_field", f"{field}: {value!r} is not a duration; use seconds or forms like 30s, 5m, 24h, 7d"
            )
    else:
        seconds = float(value)
    if not math.isfinite(seconds) or seconds <= 0:
        raise SimscopeError("invalid_field", f"{field}: must be more than 0 seconds, got {value!r}")
    return seconds


def to_micros(value: Timestamp, field: str) -> int:
    """µs since the epoch from a ``datetime`` or ISO 8601 text (no zone means UTC) or a whole number of µs."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
        delta = moment - datetime(1970, 1, 1, tzinfo=timezone.utc)
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            return to_micros(datetime.fromisoformat(text), field)
        except ValueError:
            raise SimscopeError(
                "invalid_field", f"{field}: {value!r} is not an ISO 8601 time such as '2021-05-03 14:13:27.281920'"
            ) from None
    elif isinstance(value, int) and not isinstance(value, bool):
        micros = value
    else:
        raise SimscopeError(
            "invalid_field", f"{field}: expected a datetime, ISO 8601 text or µs since the epoch (int), got {value!r}"
        )
    if micros < MIN_PLAUSIBLE_MICROS or micros > MAX_MICROS:
        raise SimscopeError(
            "invalid_field",
            f"{field}: {micros} µs is before the year 2000 or after 2255; timestamps are microseconds since the epoch"
            " (seconds × 1,000,000)",
        )
    return micros

"""Usage telemetry for Python library authors: which of their functions are called, how, and how often.

The names follow access-py-telemetry (``register_func``, ``TelemetryRegister``, ``ApiHandler``, ``SessionID``);
the records, routes and consent are those of the Node package ``@simscope/telemetry`` (docs/telemetry.md).

Example::

    from simscope.telemetry import ApiHandler, register_func

    @register_func("intake/catalog", extra_fields=[{"catalog_version": "2025.1"}])
    def search(query, **kwargs): ...

    ApiHandler().set_destination("intake_catalog", url="https://simscope.example.org", key="stk_…")
"""

from __future__ import annotations

import atexit
import collections
import datetime as _dt
import functools
import getpass
import inspect
import json
import math
import os
import re
import secrets
import threading
import time
import types
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import (
    Any,
    Callable,
    Deque,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Set,
    Tuple,
    TypeVar,
    Union,
)

from ._config import Connection, find_project_file, read_toml, user_config_file
from ._http import Transport
from .errors import ConnectionFailed, SimscopeError

F = TypeVar("F", bound=Callable[..., Any])
Json = Any

_SESSION = secrets.token_hex(32)
RESERVED = frozenset({"id", "function", "args", "kwargs", "session_id", "timestamp"})
_FALSE_WORDS = {"0", "false", "no", "off"}
_TRUE_WORDS = {"1", "true", "yes", "on"}
# The server checks the same rule (protocol's servicePathProblem), as the Node package does.
_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_MAX_SEGMENTS = 8
_MAX_PATH = 255
#: The environment variable that names a registry file read when the handler is made.
REGISTRY_ENV = "SIMSCOPE_TELEMETRY_REGISTRY"


class TelemetryError(SimscopeError, KeyError):
    """A telemetry set-up mistake (an unknown service is also a ``KeyError``, as in access-py-telemetry)."""

    def __str__(self) -> str:
        return self.message


class TelemetryWarning(UserWarning):
    """A problem with the registry file ``SIMSCOPE_TELEMETRY_REGISTRY`` names, when no ``on_error`` hears it."""


def session_id() -> str:
    """This interpreter's session id: 64 random hex characters, the same for the life of the process."""
    return _SESSION


class SessionID(str):
    """``SessionID()`` is this interpreter's session id, as in access-py-telemetry."""

    def __new__(cls) -> "SessionID":
        return str.__new__(cls, _SESSION)


# --- consent ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentStatus:
    """Whether telemetry is on, what decided (``DO_NOT_TRACK``, ``SIMSCOPE_TELEMETRY``, ``project``, ``user``,
    ``default``) and why."""

    enabled: bool
    source: str
    reason: str
    user_config_file: str
    user_setting: Optional[bool]
    project_file: Optional[str]


def _setting(path: Optional[Path]) -> Tuple[Optional[bool], Optional[str]]:
    if path is None or not path.is_file():
        return None, None
    try:
        doc = read_toml(path)
    except (SimscopeError, OSError) as error:
        return None, f"{path} cannot be read: {str(error).splitlines()[0]}"
    table = doc.get("telemetry")
    if table is None:
        return None, None
    if not isinstance(table, dict):
        return None, f"{path}: 'telemetry' must be a table"
    enabled = table.get("enabled")
    if enabled is None or isinstance(enabled, bool):
        return enabled, None
    return None, f"{path}: [telemetry] enabled must be true or false"


def telemetry_status(env: Optional[Mapping[str, str]] = None, cwd: Optional[Path] = None) -> ConsentStatus:
    """The telemetry choice in force, from the first of: ``DO_NOT_TRACK``, ``SIMSCOPE_TELEMETRY``, the project
    ``simscope.toml``'s ``[telemetry] enabled``, the user config's, else on (as the Node package decides)."""
    environ: Mapping[str, str] = os.environ if env is None else env
    user_file = user_config_file(environ)
    project_file = find_project_file(cwd)
    user_value, user_problem = _setting(user_file)

    def status(enabled: bool, source: str, reason: str) -> ConsentStatus:
        project = None if project_file is None else str(project_file)
        return ConsentStatus(enabled, source, reason, str(user_file), user_value, project)

    dnt = environ.get("DO_NOT_TRACK", "").strip().lower()
    if dnt != "" and dnt not in _FALSE_WORDS:
        return status(False, "DO_NOT_TRACK", f"DO_NOT_TRACK={environ['DO_NOT_TRACK']} is set")
    own = environ.get("SIMSCOPE_TELEMETRY", "").strip().lower()
    if own != "":
        raw = environ["SIMSCOPE_TELEMETRY"]
        if own in _FALSE_WORDS or own in _TRUE_WORDS:
            return status(own in _TRUE_WORDS, "SIMSCOPE_TELEMETRY", f"SIMSCOPE_TELEMETRY={raw} is set")
        reason = f"SIMSCOPE_TELEMETRY={raw} is not one of 0, 1, true, false, yes, no, on, off"
        return status(False, "SIMSCOPE_TELEMETRY", reason)
    project_value, project_problem = _setting(project_file)
    if project_problem:
        return status(False, "project", project_problem)
    if project_value is not None:
        reason = f"[telemetry] enabled = {str(project_value).lower()} in {project_file}"
        return status(project_value, "project", reason)
    if user_problem:
        return status(False, "user", user_problem)
    if user_value is not None:
        return status(user_value, "user", f"[telemetry] enabled = {str(user_value).lower()} in {user_file}")
    return status(True, "default", "nothing turns it off (the default)")


def telemetry_enabled() -> bool:
    """Whether telemetry may send, read now."""
    return telemetry_status().enabled


# --- summaries -------------------------------------------------------------------------------------------------


class Summariser:
    """A JSON-safe, bounded picture of arguments: strings cut at 200 characters, lists and dicts at 20 items and
    3 levels, 200 values per record, anything else as a tag such as ``"<ndarray(1000)>"``. Never raises."""

    def __init__(self, string_length: int = 200, items: int = 20, depth: int = 3, values: int = 200) -> None:
        self.string_length = string_length
        self.items = items
        self.depth = depth
        self.values = values
        self._budget = 0

    def call(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Tuple[List[Json], Dict[str, Json]]:
        self._budget = self.values
        try:
            return self._list(args, 0), self._dict(kwargs, 0)
        except Exception:
            return ["<unreadable>"], {}

    def value(self, value: Any) -> Json:
        self._budget = self.values
        try:
            return self._value(value, 0)
        except Exception:
            return "<unreadable>"

    def _cut(self, text: str) -> str:
        return text if len(text) <= self.string_length else text[: self.string_length] + "…"

    def _tag(self, value: Any) -> str:
        name = type(value).__name__
        try:
            size = len(value)
        except Exception:
            return f"<{name}>"
        return f"<{name}({size})>"

    def _value(self, value: Any, depth: int) -> Json:
        self._budget -= 1
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int):
            return value if -(2**53) < value < 2**53 else str(value)
        if isinstance(value, float):
            return value if math.isfinite(value) else str(value).replace("inf", "Infinity").replace("nan", "NaN")
        if isinstance(value, str):
            return self._cut(value)
        if isinstance(value, (_dt.datetime, _dt.date)):
            return value.isoformat()
        if isinstance(value, BaseException):
            return f"<{type(value).__name__}: {self._cut(str(value))}>"
        if isinstance(value, (types.FunctionType, types.BuiltinFunctionType, types.MethodType)):
            return f"<function {getattr(value, '__qualname__', getattr(value, '__name__', 'anonymous'))}>"
        if isinstance(value, Path):
            return self._cut(str(value))
        if depth >= self.depth or self._budget <= 0:
            return self._tag(value)
        if type(value) in (list, tuple):
            return self._list(value, depth + 1)
        if type(value) is dict:
            return self._dict(value, depth + 1)
        return self._tag(value)

    def _list(self, values: Sequence[Any], depth: int) -> List[Json]:
        out: List[Json] = []
        for item in values[: self.items]:
            if self._budget <= 0:
                break
            out.append(self._value(item, depth))
        if len(out) < len(values):
            out.append(f"… {len(values) - len(out)} more")
        return out

    def _dict(self, mapping: Mapping[Any, Any], depth: int) -> Dict[str, Json]:
        out: Dict[str, Json] = {}
        for key, inner in mapping.items():
            if len(out) >= self.items or self._budget <= 0:
                break
            out[self._cut(str(key))] = self._value(inner, depth)
        if len(out) < len(mapping):
            out["…"] = f"{len(mapping) - len(out)} more"
        return out


# --- services and the registry ---------------------------------------------------------------------------------


@dataclass
class _Service:
    endpoint: str
    functions: List[str] = field(default_factory=list)
    extra: Dict[str, Json] = field(default_factory=dict)
    popped: Set[str] = field(default_factory=set)
    url: Optional[str] = None
    key: Optional[str] = None

    @property
    def name(self) -> str:
        return service_name(self.endpoint)


def service_name(endpoint: str) -> str:
    """The service name of an endpoint: ``intake/catalog`` → ``intake_catalog``."""
    return endpoint.replace("/", "_")


def check_endpoint(endpoint: str, where: str = "endpoint") -> str:
    """Checks an endpoint path such as ``intake/catalog``; raises a ``TelemetryError`` naming ``where`` if not one."""
    segments = endpoint.split("/")
    if (
        not endpoint
        or len(endpoint) > _MAX_PATH
        or len(segments) > _MAX_SEGMENTS
        or not all(_SEGMENT.match(segment) for segment in segments)
    ):
        raise TelemetryError(
            "invalid_field",
            f"{where}: '{endpoint}' is not a service endpoint: 1 to {_MAX_SEGMENTS} segments joined by '/', each of "
            "letters, digits, '_', '.' and '-' (not starting with '.' or '-'), "
            f"at most {_MAX_PATH} characters",
        )
    return endpoint


def _endpoints_of(name: str) -> str:
    """A few of the endpoints a service name with ``_`` could stand for: ``a_b_c`` → ``a/b/c``, ``a/b_c``, …"""
    parts = name.split("_")
    splits = 2 ** (len(parts) - 1)
    shown: List[str] = []
    mask = splits - 1
    while mask >= 0 and len(shown) < 4:
        endpoint = parts[0]
        for i in range(1, len(parts)):
            endpoint += ("/" if mask & (1 << (i - 1)) else "_") + parts[i]
        shown.append(f"'{endpoint}'")
        mask -= 1
    return ", ".join(shown) + (", …" if splits > len(shown) else "")


def _login_name() -> Optional[str]:
    """The account's login name, as Node's ``os.userInfo()`` gives it (the password database, not ``$USER``)."""
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError, OSError):
        pass
    try:
        return getpass.getuser()
    except Exception:
        return None


def _function_name(item: Union[str, Callable[..., Any]]) -> str:
    if isinstance(item, str):
        if not item or len(item) > 255:
            raise TelemetryError("invalid_field", f"function name must be 1–255 characters, got {item!r}")
        return item
    qualname = getattr(item, "__qualname__", None) or getattr(item, "__name__", None)
    if not isinstance(qualname, str):
        raise TelemetryError("invalid_field", f"expected a function or its name, got {type(item).__name__}")
    return qualname.rsplit("<locals>.", 1)[-1]


def parse_registry(text: str, source: str = "registry") -> Dict[str, Any]:
    """The registry (``service: endpoint: [function names]``, nested to any depth) as a dict. It reads the YAML
    that registries are written in (mappings by indentation, lists as ``- item`` or ``[a, b]``, comments, quoted
    names) and JSON, which is YAML too; a mistake raises ``TelemetryError`` naming ``source`` and its line."""
    if text.lstrip().startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError as error:
            raise TelemetryError("invalid_field", f"{source}: not valid JSON: {error}") from error
        if not isinstance(doc, dict):
            raise TelemetryError("invalid_field", f"{source}: expected a mapping of services to endpoints")
        return doc
    root: Dict[str, Any] = {}
    stack: List[Tuple[int, Any]] = [(-1, root)]
    pending: Optional[Tuple[int, Dict[str, Any], str]] = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(" #", 1)[0].rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        item = line.strip()
        if pending is not None:
            p_indent, parent, key = pending
            pending = None
            if indent > p_indent:
                parent[key] = [] if item.startswith("- ") or item == "-" else {}
                stack.append((indent, parent[key]))
            else:
                parent[key] = None
        while stack and indent < stack[-1][0]:
            stack.pop()
        container = stack[-1][1]
        if item.startswith("-"):
            if not isinstance(container, list):
                raise TelemetryError("invalid_field", f"{source}: line {number}: a list item where a key was expected")
            container.append(_scalar(item[1:].strip()))
            continue
        if ":" not in item or isinstance(container, list):
            raise TelemetryError("invalid_field", f"{source}: line {number}: expected 'key:' or '- name'")
        key, _, rest = item.partition(":")
        key = _scalar(key.strip())
        rest = rest.strip()
        if rest.startswith("[") and rest.endswith("]"):
            container[key] = [_scalar(v.strip()) for v in rest[1:-1].split(",") if v.strip()]
        elif rest:
            raise TelemetryError("invalid_field", f"{source}: line {number}: {key}: expected a list or a mapping")
        else:
            pending = (indent, container, key)
    if pending is not None:
        pending[1][pending[2]] = None
    return root


def _registry_entries(doc: Mapping[str, Any], source: str) -> List[Tuple[str, List[str]]]:
    """Every path of keys that ends in a list (or nothing) as ``(endpoint, functions)``, checked as Node checks."""
    entries: List[Tuple[str, List[str]]] = []

    def walk(node: Any, path: List[str]) -> None:
        where = f"{source}: {'.'.join(path)}"
        if node is None or isinstance(node, list):
            endpoint = check_endpoint("/".join(path), where)
            functions: List[str] = []
            for i, item in enumerate(node or []):
                if not isinstance(item, str) or not item:
                    raise TelemetryError(
                        "invalid_field",
                        f"{where}[{i}]: expected a function name (a non-empty string), got {json.dumps(item)}",
                    )
                if item not in functions:
                    functions.append(item)
            entries.append((endpoint, functions))
            return
        if not isinstance(node, Mapping):
            raise TelemetryError(
                "invalid_field",
                f"{where}: expected a list of function names or a mapping of endpoints, got {json.dumps(node)}",
            )
        for key, child in node.items():
            walk(child, path + [str(key)])

    for key, child in doc.items():
        walk(child, [str(key)])
    names: Dict[str, str] = {}
    for endpoint, _ in entries:
        other = names.get(service_name(endpoint))
        if other is not None:
            raise TelemetryError(
                "invalid_field",
                f"{source}: endpoints '{other}' and '{endpoint}' both make the service name "
                f"'{service_name(endpoint)}'",
            )
        names[service_name(endpoint)] = endpoint
    return entries


def _scalar(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


class ApiHandler:
    """The process's one telemetry handler (``ApiHandler()`` returns the same instance everywhere): services, their
    extra fields and destinations, and the background sender. A tracked call appends to a queue and returns;
    the sender thread posts one JSON batch per service with ``(writer, seq)`` and never raises into the caller.

    When made it reads the registry file that ``SIMSCOPE_TELEMETRY_REGISTRY`` names (a problem with it is a
    ``TelemetryWarning``, never an exception in a library's import). Records carry the login name as ``name``;
    ``ApiHandler().user_name = False`` leaves it out, a string sends that instead."""

    _instance: Optional["ApiHandler"] = None
    _lock = threading.Lock()

    def __new__(cls) -> "ApiHandler":
        with cls._lock:
            if cls._instance is None:
                instance = super().__new__(cls)
                instance._setup()
                cls._instance = instance
            return cls._instance

    def _setup(
        self,
        enabled: Optional[bool] = None,
        flush_interval: float = 1.0,
        batch_size: int = 1000,
        queue_size: int = 100_000,
        exit_timeout: float = 1.0,
        user_name: Union[bool, str] = True,
        registry_file: Union[None, str, "os.PathLike[str]", bool] = None,
        on_error: Optional[Callable[[SimscopeError], None]] = None,
    ) -> None:
        consent = telemetry_status()
        self.consent = consent
        self.enabled = consent.enabled and (enabled is not False)
        self.flush_interval = flush_interval
        self.batch_size = batch_size
        self.queue_size = queue_size
        self.exit_timeout = exit_timeout
        #: The field ``name``: True (the default) for the login name, a string to send instead, False for none.
        self.user_name: Union[bool, str] = user_name
        self.summariser = Summariser()
        self.on_error: Optional[Callable[[SimscopeError], None]] = on_error
        self._services: Dict[str, _Service] = {}
        self._queue: Deque[Tuple[str, str, Tuple[Any, ...], Dict[str, Any], int]] = collections.deque()
        self._waiting: List[Tuple[_Service, bytes, int]] = []
        self._writer = "t-" + secrets.token_urlsafe(12)
        self._seq = 0
        self._sent = 0
        self._dropped = 0
        self._failed = 0
        self._errors_seen: Set[str] = set()
        self._wake = threading.Event()
        self._sending = threading.Lock()
        self._thread: Optional[threading.Thread] = None
        self._closed = False
        self._login: Optional[str] = None
        self._transports: Dict[Tuple[str, str], Transport] = {}
        self._load_default_registry(registry_file)
        if self.enabled:
            atexit.register(self._at_exit)

    def _load_default_registry(self, registry_file: Union[None, str, "os.PathLike[str]", bool]) -> None:
        if registry_file is False:
            return
        if registry_file is not None and registry_file is not True:
            self.load_registry_file(registry_file)
            return
        named = os.environ.get(REGISTRY_ENV, "")
        if not named:
            return
        try:
            self.load_registry_file(named)
        except TelemetryError as problem:
            # A library's import must not fail over a user's environment variable: say so, track nothing from it.
            if self.on_error is not None:
                self._report(problem)
            else:
                warnings.warn(problem.message, TelemetryWarning, stacklevel=4)

    @classmethod
    def _reset_for_tests(cls, **options: Any) -> "ApiHandler":
        """A fresh instance with the given options (consent is read again); the old one is closed first."""
        with cls._lock:
            old = cls._instance
            cls._instance = None
        if old is not None:
            old.close(0.5)
        handler = super().__new__(cls)
        handler._setup(**options)
        with cls._lock:
            cls._instance = handler
        return handler

    # services

    def _find(self, service: str) -> Optional[_Service]:
        by_name = self._services.get(service)
        if by_name is not None:
            return by_name
        if "/" not in service:
            return None
        s = self._services.get(service_name(service))
        return s if s is not None and s.endpoint == service else None

    def _resolve(self, service: str, where: str) -> _Service:
        """The service a name or endpoint means, made when new; a new name with ``_`` is refused (ambiguous)."""
        known = self._find(service)
        if known is not None:
            return known
        if isinstance(service, str) and "/" not in service and "_" in service:
            raise TelemetryError(
                "invalid_field",
                f"{where}: '{service}' is not a service of the registry, and a name with '_' could stand for several "
                f"endpoints ({_endpoints_of(service)}); pass the endpoint, or declare it in a registry",
            )
        return self._ensure(service)

    def _service(self, service: str) -> _Service:
        s = self._find(service)
        if s is None:
            raise TelemetryError(
                "not_found",
                f"service '{service}' not found; declare it in a registry (load_registry), with "
                f"TelemetryRegister('{service}'), or by tracking a function of it",
                404,
            )
        return s

    def _ensure(self, endpoint: str) -> _Service:
        check_endpoint(endpoint, "service")
        name = service_name(endpoint)
        s = self._services.get(name)
        if s is None:
            s = _Service(endpoint)
            self._services[name] = s
        else:
            self._check_name_free(endpoint)
        return s

    def _check_name_free(self, endpoint: str) -> None:
        name = service_name(endpoint)
        s = self._services.get(name)
        if s is not None and s.endpoint != endpoint:
            raise TelemetryError(
                "conflict",
                f"service: endpoints '{s.endpoint}' and '{endpoint}' both make the service name '{name}'; "
                "rename one of them",
                409,
            )

    @property
    def services(self) -> List[str]:
        """The known services by name."""
        return [s.name for s in self._services.values()]

    def has_service(self, service: str) -> bool:
        """True when ``service`` (a name like ``intake_catalog`` or an endpoint like ``intake/catalog``) is known."""
        return self._find(service) is not None

    def load_registry(self, registry: Union[str, Mapping[str, Any]], source: str = "registry") -> List[str]:
        """Adds the services of a registry (YAML or JSON text, or the dict it parses to): every path of keys that
        ends in a list is an endpoint (``payu: run: [Experiment.run]`` → ``payu/run``, service ``payu_run``).
        Returns the names of the services it lists."""
        doc = parse_registry(registry, source) if isinstance(registry, str) else registry
        entries = _registry_entries(doc, source)
        for endpoint, _ in entries:
            check_endpoint(endpoint, "service")
            self._check_name_free(endpoint)
        for endpoint, functions in entries:
            service = self._ensure(endpoint)
            for name in functions:
                if name not in service.functions:
                    service.functions.append(name)
        return [service_name(endpoint) for endpoint, _ in entries]

    def load_registry_file(self, path: Union[str, "os.PathLike[str]"]) -> List[str]:
        """Reads a registry file (YAML or JSON) and adds its services; a missing or bad file raises."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            message = f"registry file '{os.fspath(path)}' cannot be read: {reason}"
            raise TelemetryError("not_found", message, 404) from error
        return self.load_registry(text, os.fspath(path))

    def set_destination(self, service: str, *, url: str, key: str) -> None:
        """Sends a service's records to a Simscope server with the service's ingest-only key (``stk_…``)."""
        s = self._service(service)
        s.url, s.key = url.rstrip("/"), key

    def add_extra_field(self, service: str, fields: Mapping[str, Any]) -> None:
        """Merges fields into every record of the service."""
        s = self._service(service)
        for key, value in fields.items():
            if key in RESERVED:
                raise TelemetryError(
                    "invalid_field",
                    f"extra_fields.{key}: '{key}' is a field of every record, not an extra field; "
                    "use pop_fields to leave it out",
                )
            s.extra[key] = self.summariser.value(value)
            s.popped.discard(key)

    def pop_fields(self, service: str, names: Iterable[str]) -> None:
        """Leaves fields out of the service's records, extra or default (``session_id`` for a CLI tool, ``name``);
        a field left out is absent from the record, not null."""
        s = self._service(service)
        for name in names:
            if name == "function":
                raise TelemetryError("invalid_field", "pop_fields: 'function' is what a record is about")
            s.extra.pop(name, None)
            s.popped.add(name)

    def extra_fields(self, service: str) -> Dict[str, Json]:
        return dict(self._service(service).extra)

    # records

    def record(self, service: str, function: str, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> None:
        """Queues one call; returns at once. Nothing happens when telemetry is off."""
        if not self.enabled or self._closed:
            return
        if len(self._queue) >= self.queue_size:
            self._dropped += 1
            return
        self._queue.append((service, function, args, kwargs, time.time_ns() // 1000))
        if self._thread is None:
            self._start()
        elif len(self._queue) >= self.batch_size:
            self._wake.set()

    send_api_request = record

    def stats(self) -> Dict[str, int]:
        """``pending`` (queued or waiting for the server), ``sent``, ``dropped``, ``failed`` records."""
        waiting = sum(n for _, _, n in self._waiting)
        return {"pending": len(self._queue) + waiting, "sent": self._sent, "dropped": self._dropped,
                "failed": self._failed}

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="simscope-telemetry", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        backoff = 0.5
        while not self._closed:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            ok = self._round(retries=2)
            backoff = 0.5 if ok else min(30.0, backoff * 2)
            if not ok:
                time.sleep(backoff)

    def _build(self) -> None:
        """Turns queued calls into one JSON batch per service (each with its own seq)."""
        user = self._user()
        per_service: Dict[str, List[str]] = {}
        services: Dict[str, _Service] = {}
        while self._queue:
            queued, function, args, kwargs, at = self._queue.popleft()
            try:
                s = self._service(queued)
            except TelemetryError as error:
                self._report(error)
                self._failed += 1
                continue
            if s.url is None or s.key is None:
                self._report(TelemetryError(
                    "not_found",
                    f"service '{s.name}' has no destination; call set_destination('{s.name}', url=…, key=…)",
                ))
                self._failed += 1
                continue
            summary_args, summary_kwargs = self.summariser.call(args, kwargs)
            record: Dict[str, Json] = {"function": function, "args": summary_args, "kwargs": summary_kwargs,
                                       "session_id": _SESSION, "timestamp": at}
            if user is not None:
                record["name"] = user
            record.update(s.extra)
            for name in s.popped:
                record.pop(name, None)
            per_service.setdefault(s.endpoint, []).append(json.dumps(record, separators=(",", ":")))
            services[s.endpoint] = s
        for endpoint, records in per_service.items():
            for start in range(0, len(records), 10_000):
                chunk = records[start : start + 10_000]
                body = f'{{"writer":"{self._writer}","seq":{self._seq},"records":[{",".join(chunk)}]}}'
                self._seq += 1
                self._waiting.append((services[endpoint], body.encode("utf-8"), len(chunk)))

    def _user(self) -> Optional[str]:
        if self.user_name is True:
            if self._login is None:
                self._login = _login_name() or ""
            return self._login or None
        return self.user_name or None

    def _round(self, retries: int, deadline: Optional[float] = None) -> bool:
        """Builds and sends what is queued; False when a batch could not reach its server (kept to send again)."""
        if not self._sending.acquire(timeout=-1 if deadline is None else max(0.0, deadline - time.monotonic())):
            return False
        try:
            self._build()
            kept: List[Tuple[_Service, bytes, int]] = []
            ok = True
            for service, body, count in self._waiting:
                if deadline is not None and time.monotonic() >= deadline:
                    kept.append((service, body, count))
                    continue
                try:
                    self._post(service, body, retries, deadline)
                    self._sent += count
                except ConnectionFailed as error:
                    self._report(error)
                    kept.append((service, body, count))
                    ok = False
                except SimscopeError as error:
                    if error.status >= 500 or error.status in (408, 429):
                        kept.append((service, body, count))
                        ok = False
                    else:
                        self._failed += count
                    self._report(error)
            self._waiting = kept
            return ok
        finally:
            self._sending.release()

    def _post(self, service: _Service, body: bytes, retries: int, deadline: Optional[float]) -> None:
        assert service.url is not None and service.key is not None
        timeout = 10.0 if deadline is None else max(0.05, deadline - time.monotonic())
        transport = Transport(Connection(url=service.url, token=service.key), timeout=timeout, retries=retries)
        try:
            transport.request("POST", f"/telemetry/{service.endpoint}", body=body,
                              content_type="application/json", idempotent=True)
        finally:
            transport.close()

    def _report(self, error: SimscopeError) -> None:
        key = f"{error.code}:{error.message}"
        if key in self._errors_seen or self.on_error is None:
            return
        self._errors_seen.add(key)
        try:
            self.on_error(error)
        except Exception:
            pass

    def flush(self, timeout: float = 5.0) -> Dict[str, int]:
        """Sends what is queued now, within ``timeout`` seconds; returns ``stats()``. Never raises."""
        try:
            self._round(retries=0, deadline=time.monotonic() + timeout)
        except Exception:
            pass
        return self.stats()

    def close(self, timeout: float = 1.0) -> Dict[str, int]:
        """Flushes within ``timeout`` and stops the sender; later calls record nothing."""
        stats = self.flush(timeout)
        self._closed = True
        self._wake.set()
        return stats

    def _at_exit(self) -> None:
        if not self._closed and (self._queue or self._waiting):
            self.close(self.exit_timeout)


# --- registering functions -------------------------------------------------------------------------------------


class TelemetryRegister:
    """The functions tracked for one service, made (empty) when new. Prints as ``["a", "b"]``.

    A name (``intake_catalog``) is looked up among the registry's services; an endpoint (``my/service``) or a
    name without ``_`` is made as given. A new name with ``_`` is refused: it could stand for several endpoints.

    Example: ``TelemetryRegister("my/service").register(some_func, "some_other_func")``
    """

    def __init__(self, service: str, handler: Optional[ApiHandler] = None) -> None:
        if not isinstance(service, str) or not service:
            raise TelemetryError("invalid_field", "service: expected a service name such as intake_catalog")
        self._handler = handler or ApiHandler()
        self._service = self._handler._resolve(service, "service")

    @property
    def service(self) -> str:
        """The service name, ``intake_catalog``."""
        return self._service.name

    @property
    def endpoint(self) -> str:
        """The endpoint path, ``intake/catalog``."""
        return self._service.endpoint

    def register(self, *functions: Union[str, Callable[..., Any]]) -> None:
        """Tracks these functions (names or the functions themselves)."""
        for item in functions:
            name = _function_name(item)
            if name not in self._service.functions:
                self._service.functions.append(name)

    def deregister(self, *functions: Union[str, Callable[..., Any]]) -> None:
        """Stops tracking these functions; an unknown one is a ``TelemetryError``."""
        for item in functions:
            name = _function_name(item)
            if name not in self._service.functions:
                raise TelemetryError("not_found", f"'{name}' is not registered for service '{self.service}'", 404)
            self._service.functions.remove(name)

    def __contains__(self, item: object) -> bool:
        if not isinstance(item, str) and not callable(item):
            return False
        return _function_name(item) in self._service.functions

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._service.functions))

    def __len__(self) -> int:
        return len(self._service.functions)

    def __str__(self) -> str:
        return json.dumps(self._service.functions)

    __repr__ = __str__


def _fields(extra_fields: Union[None, Mapping[str, Any], Sequence[Mapping[str, Any]]]) -> Dict[str, Any]:
    if extra_fields is None:
        return {}
    if isinstance(extra_fields, Mapping):
        return dict(extra_fields)
    merged: Dict[str, Any] = {}
    for item in extra_fields:
        merged.update(item)
    return merged


def register_func(
    service: str,
    extra_fields: Union[None, Mapping[str, Any], Sequence[Mapping[str, Any]]] = None,
    pop_fields: Optional[Sequence[str]] = None,
    *,
    name: Optional[str] = None,
    handler: Optional[ApiHandler] = None,
) -> Callable[[F], F]:
    """Registers the function for ``service`` and records each call while it stays registered (``deregister``
    stops the records). With telemetry off the function is returned as it is. ``extra_fields`` (a dict, or a list
    of dicts as in access-py-telemetry) go into every record of the service."""
    api = handler or ApiHandler()
    registry = TelemetryRegister(api._resolve(service, "register_func: service").endpoint, api)
    if extra_fields is not None:
        api.add_extra_field(service, _fields(extra_fields))
    if pop_fields is not None:
        api.pop_fields(service, pop_fields)

    def decorate(fn: F) -> F:
        function = name or _function_name(fn)
        registry.register(function)
        if not api.enabled:
            return fn
        tracked = registry._service

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                if function in tracked.functions:
                    api.record(tracked.endpoint, function, args, kwargs)
                return await fn(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if function in tracked.functions:
                api.record(tracked.endpoint, function, args, kwargs)
            return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def instrument(module: types.ModuleType, registry: Union[TelemetryRegister, str]) -> List[str]:
    """Wraps the functions and methods of ``module`` whose names the registry lists (``search``,
    ``Catalog.search``) so that their calls are recorded; returns the names wrapped."""
    register = registry if isinstance(registry, TelemetryRegister) else TelemetryRegister(registry)
    wrapped: List[str] = []
    for function in list(register):
        owner: Any = module
        parts = function.split(".")
        for part in parts[:-1]:
            owner = getattr(owner, part, None)
            if owner is None:
                break
        if owner is None:
            continue
        target = getattr(owner, parts[-1], None)
        if target is None or not callable(target) or getattr(target, "__simscope_tracked__", False):
            continue
        raw = inspect.getattr_static(owner, parts[-1])
        kind = type(raw) if isinstance(raw, (staticmethod, classmethod)) else None
        inner = raw.__func__ if kind is not None else target
        new = register_func(register.service, name=function, handler=register._handler)(inner)
        setattr(new, "__simscope_tracked__", True)
        setattr(owner, parts[-1], kind(new) if kind is not None else new)
        wrapped.append(function)
    return wrapped


__all__ = [
    "REGISTRY_ENV",
    "ApiHandler",
    "ConsentStatus",
    "SessionID",
    "Summariser",
    "TelemetryError",
    "TelemetryRegister",
    "TelemetryWarning",
    "instrument",
    "parse_registry",
    "register_func",
    "service_name",
    "session_id",
    "telemetry_enabled",
    "telemetry_status",
]

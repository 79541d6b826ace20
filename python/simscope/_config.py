"""Where the server is: the same files, variables and precedence as the Node client (packages/client/src/config.ts)."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

from .errors import SimscopeError

DEFAULT_URL = "http://127.0.0.1:5280"

TomlDoc = Dict[str, Any]


@dataclass(frozen=True)
class Connection:
    """A resolved connection; ``sources`` names where each field came from (``env:SIMSCOPE_URL``, ``argument``,
    ``project:/path/simscope.toml``, ``profile:NAME:/path/config.toml``, ``default``)."""

    url: str
    token: Optional[str] = None
    workspace: Optional[str] = None
    profile: Optional[str] = None
    sources: Dict[str, str] = field(default_factory=dict)


def user_config_file(env: Optional[Mapping[str, str]] = None) -> Path:
    """The user config file: ``SIMSCOPE_CONFIG``, else ``$XDG_CONFIG_HOME/simscope/config.toml``."""
    env = os.environ if env is None else env
    if env.get("SIMSCOPE_CONFIG"):
        return Path(env["SIMSCOPE_CONFIG"]).resolve()
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "simscope" / "config.toml"


def find_project_file(cwd: Optional[Path] = None) -> Optional[Path]:
    """The nearest ``simscope.toml`` from ``cwd`` upwards."""
    directory = (cwd or Path.cwd()).resolve()
    while True:
        candidate = directory / "simscope.toml"
        if candidate.is_file():
            return candidate
        if directory.parent == directory:
            return None
        directory = directory.parent


def read_toml(path: Optional[Path]) -> TomlDoc:
    """The parsed file, ``{}`` when there is none; invalid TOML raises ``SimscopeError('invalid_field')``."""
    if path is None or not path.is_file():
        return {}
    text = path.read_text(encoding="utf-8")
    try:
        if sys.version_info >= (3, 11):
            import tomllib

            return tomllib.loads(text)
        return parse_minimal_toml(text)
    except (ValueError, SimscopeError) as error:
        raise SimscopeError("invalid_field", f"{path}: not valid TOML: {error}") from error


_KEY = r'(?:[A-Za-z0-9_-]+|"[^"]*")'
_HEADER = re.compile(rf"^\[\s*({_KEY}(?:\s*\.\s*{_KEY})*)\s*\]$")
_PAIR = re.compile(rf"^({_KEY})\s*=\s*(.+)$")


def _unquote_key(key: str) -> str:
    key = key.strip()
    return key[1:-1] if key.startswith('"') else key


def _value(raw: str, line_no: int) -> Any:
    raw = raw.strip()
    if raw.startswith('"'):
        end = 1
        out = []
        escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r"}
        while end < len(raw) and raw[end] != '"':
            if raw[end] == "\\" and end + 1 < len(raw):
                out.append(escapes.get(raw[end + 1], raw[end + 1]))
                end += 2
            else:
                out.append(raw[end])
                end += 1
        rest = raw[end + 1 :].strip()
        if end >= len(raw) or (rest and not rest.startswith("#")):
            raise ValueError(f"line {line_no}: bad string")
        return "".join(out)
    if raw.startswith("'"):
        end = raw.find("'", 1)
        rest = raw[end + 1 :].strip() if end > 0 else "x"
        if end < 0 or (rest and not rest.startswith("#")):
            raise ValueError(f"line {line_no}: bad string")
        return raw[1:end]
    raw = raw.split("#", 1)[0].strip()
    if raw in ("true", "false"):
        return raw == "true"
    try:
        return int(raw.replace("_", ""))
    except ValueError:
        pass
    try:
        return float(raw.replace("_", ""))
    except ValueError:
        raise ValueError(f"line {line_no}: unsupported value {raw!r}") from None


def parse_minimal_toml(text: str) -> TomlDoc:
    """Enough TOML for config files (tables, dotted headers, strings, numbers, booleans) on Python < 3.11."""
    root: TomlDoc = {}
    table = root
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        header = _HEADER.match(line.split("#", 1)[0].strip()) if line.startswith("[") else None
        if header:
            table = root
            for part in re.findall(_KEY, header.group(1)):
                child = table.setdefault(_unquote_key(part), {})
                if not isinstance(child, dict):
                    raise ValueError(f"line {number}: {part} is not a table")
                table = child
            continue
        pair = _PAIR.match(line)
        if not pair:
            raise ValueError(f"line {number}: expected key = value")
        table[_unquote_key(pair.group(1))] = _value(pair.group(2), number)
    return root


def _text(value: Any) -> Optional[str]:
    return value if isinstance(value, str) and value != "" else None


def resolve_connection(
    url: Optional[str] = None,
    token: Optional[str] = None,
    workspace: Optional[str] = None,
    profile: Optional[str] = None,
    *,
    env: Optional[Mapping[str, str]] = None,
    cwd: Optional[Path] = None,
) -> Connection:
    """Resolves URL, token and workspace exactly as the Node client does. Each comes from the first of: the
    environment (``SIMSCOPE_URL``, ``SIMSCOPE_TOKEN``, ``SIMSCOPE_WORKSPACE``), the arguments, the project
    ``simscope.toml`` (top-level ``url``, ``token``, ``workspace``, ``profile``), the user config's profile
    (``SIMSCOPE_PROFILE``, else ``profile``, else the project's ``profile``, else ``default_profile``), then
    ``http://127.0.0.1:5280``."""
    environ: Mapping[str, str] = os.environ if env is None else env
    project_file = find_project_file(cwd)
    project = read_toml(project_file)
    user_file = user_config_file(environ)
    user = read_toml(user_file)
    sources: Dict[str, str] = {}

    profile_name: Optional[str] = None
    for candidate, source in (
        (_text(environ.get("SIMSCOPE_PROFILE")), "env:SIMSCOPE_PROFILE"),
        (_text(profile), "argument"),
        (_text(project.get("profile")), f"project:{project_file}"),
        (_text(user.get("default_profile")), f"user:{user_file}"),
    ):
        if candidate is not None:
            profile_name, sources["profile"] = candidate, source
            break
    profiles = user.get("profiles")
    chosen = profiles.get(profile_name) if isinstance(profiles, dict) and profile_name else None
    if profile_name and not isinstance(chosen, dict):
        if sources["profile"] in ("env:SIMSCOPE_PROFILE", "argument"):
            raise SimscopeError("not_found", f"profile '{profile_name}' not found in {user_file}", 404)
        chosen = None
    profile_table: Dict[str, Any] = chosen if isinstance(chosen, dict) else {}

    def pick(name: str, argument: Optional[str]) -> Optional[str]:
        variable = f"SIMSCOPE_{name.upper()}"
        for candidate, source in (
            (_text(environ.get(variable)), f"env:{variable}"),
            (_text(argument), "argument"),
            (_text(project.get(name)), f"project:{project_file}"),
            (_text(profile_table.get(name)), f"profile:{profile_name}:{user_file}"),
        ):
            if candidate is not None:
                sources[name] = source
                return candidate
        return None

    resolved_url = pick("url", url)
    if resolved_url is None:
        resolved_url, sources["url"] = DEFAULT_URL, "default"
    return Connection(
        url=resolved_url.rstrip("/"),
        token=pick("token", token),
        workspace=pick("workspace", workspace),
        profile=profile_name,
        sources=sources,
    )


__all__ = ["Connection", "DEFAULT_URL", "find_project_file", "resolve_connection", "user_config_file"]


def suggest_login(connection: Connection, out: Optional[Any] = None, interactive: Optional[bool] = None) -> bool:
    """When no token was found and a person is at the terminal (stdin is a TTY), says how to sign in with
    ``simscope login``; it never signs in by itself. Returns whether it said so."""
    if connection.token:
        return False
    if interactive is None:
        interactive = sys.stdin is not None and sys.stdin.isatty()
    if not interactive:
        return False
    (out or sys.stderr).write(
        f"simscope: no saved credentials for {connection.url}; sign in with: simscope login --url {connection.url}\n"
    )
    return True

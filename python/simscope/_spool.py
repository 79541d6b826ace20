"""The on-disk spool, in the Node client's format (packages/client/src/spool.ts), so either side uploads the other's.

One directory per run under the spool root: ``meta.json``, ``lock`` (pid and host of the writer) and ``records``,
an append-only file of ``[u32 length][u32 crc32 of kind byte + payload][u8 kind][payload]``, little-endian.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import struct
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

#: What a record asks of the server; the index is the kind byte.
RECORD_KINDS = ("create", "metrics", "events", "patch", "folder")
_HEADER = struct.Struct("<IIB")
RECORDS = "records"
META = "meta.json"
LOCK = "lock"
SYNCED = ".synced"
#: Spooled records reach the disk (fdatasync) at most this long after they were written.
SYNC_INTERVAL_S = 1.0


def spool_directory(option: Optional[str] = None, env: Optional[Mapping[str, str]] = None) -> Path:
    """``SIMSCOPE_SPOOL_DIR``, else the option, else ``$XDG_DATA_HOME/simscope/spool``."""
    env = os.environ if env is None else env
    if env.get("SIMSCOPE_SPOOL_DIR"):
        return Path(env["SIMSCOPE_SPOOL_DIR"]).resolve()
    if option:
        return Path(option).resolve()
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "simscope" / "spool"


def new_run_id() -> str:
    """A new run id (16 URL-safe characters), made on the client so a run can exist before the server saw it."""
    return secrets.token_urlsafe(12)


def now_micros() -> int:
    return time.time_ns() // 1000


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


@dataclass
class SpoolRecord:
    kind: str
    body: bytes
    #: Byte offset of the record in the file, and of the one after it.
    offset: int
    end: int


class SpoolWriter:
    """Appends records to one run's spool file, each with one ``write``; ``fdatasync`` at most a second later."""

    def __init__(self, root: Path, meta: Dict[str, Any]) -> None:
        self.dir = root / str(meta["runId"])
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        meta_file = self.dir / META
        if not meta_file.exists():
            tmp = self.dir / (META + ".tmp")
            _write_private(tmp, _json_bytes(meta))
            os.replace(tmp, meta_file)
        _write_private(self.dir / LOCK, _json_bytes({"pid": os.getpid(), "host": socket.gethostname()}))
        self._fd = os.open(self.dir / RECORDS, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.size = os.fstat(self._fd).st_size
        self.meta = read_meta(self.dir) or dict(meta)
        self._last_sync = 0.0
        self._dirty = False

    def append(self, kind: str, body: bytes) -> None:
        code = RECORD_KINDS.index(kind)
        crc = zlib.crc32(body, zlib.crc32(bytes((code,))))
        record = _HEADER.pack(len(body), crc, code) + body
        view = memoryview(record)
        while view:
            view = view[os.write(self._fd, view) :]
        self.size += len(record)
        self._dirty = True
        now = time.monotonic()
        if now - self._last_sync >= SYNC_INTERVAL_S:
            self.sync(now)

    def sync(self, now: Optional[float] = None) -> None:
        if self._dirty:
            os.fdatasync(self._fd)
        self._dirty = False
        self._last_sync = time.monotonic() if now is None else now

    def close(self) -> None:
        """Syncs, closes the file and releases the lock; the records stay for ``sync``."""
        if self._fd < 0:
            return
        self.sync()
        os.close(self._fd)
        self._fd = -1
        try:
            os.unlink(self.dir / LOCK)
        except FileNotFoundError:
            pass


def read_meta(directory: Path) -> Optional[Dict[str, Any]]:
    try:
        meta = json.loads((directory / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def spool_holder(directory: Path) -> Optional[Dict[str, Any]]:
    """The process holding a spool's lock when it may still be running: on this host and alive, or elsewhere."""
    try:
        lock = json.loads((directory / LOCK).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(lock, dict):
        return None
    if lock.get("host") != socket.gethostname():
        return lock
    try:
        os.kill(int(lock.get("pid", 0)), 0)
        return lock
    except PermissionError:
        return lock
    except (OSError, ValueError):
        return None


def spool_records(directory: Path, start: int = 0, tail: Optional[Dict[str, int]] = None) -> Iterator[SpoolRecord]:
    """The records from byte ``start`` on; stops at one cut short or failing its checksum (``tail['torn']``)."""
    path = directory / RECORDS
    if not path.exists():
        return
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        offset = start
        while offset < size:
            f.seek(offset)
            header = f.read(_HEADER.size)
            whole = len(header) == _HEADER.size
            length, crc, code = _HEADER.unpack(header) if whole else (0, 0, 255)
            whole = whole and code < len(RECORD_KINDS) and offset + _HEADER.size + length <= size
            body = f.read(length) if whole else b""
            if not whole or zlib.crc32(body, zlib.crc32(bytes((code,)))) != crc:
                if tail is not None:
                    tail["torn"] = size - offset
                return
            end = offset + _HEADER.size + length
            yield SpoolRecord(RECORD_KINDS[code], body, offset, end)
            offset = end


def list_spools(root: Path) -> List[Tuple[Path, Dict[str, Any]]]:
    """Spools under ``root``, oldest first."""
    if not root.is_dir():
        return []
    out = []
    for entry in os.listdir(root):
        if entry.startswith("."):
            continue
        meta = read_meta(root / entry)
        if meta is not None:
            out.append((root / entry, meta))
    out.sort(key=lambda item: float(item[1].get("createdAt", 0)))
    return out


def retire_spool(directory: Path) -> None:
    """Marks a spool uploaded in one atomic rename, then removes it."""
    retired = directory.parent / SYNCED
    os.makedirs(retired, mode=0o700, exist_ok=True)
    target = retired / f"{directory.name}-{int(time.time() * 1000)}"
    try:
        os.rename(directory, target)
    except FileNotFoundError:
        return  # another sync got there first
    shutil.rmtree(target, ignore_errors=True)


def sweep_retired(root: Path) -> None:
    """Removes what an interrupted ``retire_spool`` left."""
    shutil.rmtree(root / SYNCED, ignore_errors=True)

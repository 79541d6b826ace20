"""``simscope.sync()``: uploads the runs spooled on this machine, as ``simscope sync`` (the Node CLI) does."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from ._config import resolve_connection
from ._http import Transport
from ._sender import is_transient, record_counts, send_record
from ._spool import list_spools, retire_spool, spool_directory, spool_holder, spool_records, sweep_retired
from .errors import SimscopeError


@dataclass
class SyncedRun:
    """What ``sync`` did with one spooled run."""

    run_id: str
    #: ``synced``: every record is on the server and the spool is gone; ``skipped``: see ``reason``; ``failed``: kept.
    outcome: str
    points: int = 0
    events: int = 0
    #: Records the server refused for good (a 4xx): reported, not retried.
    refused: int = 0
    #: Bytes of a record cut short by a crash, left out.
    torn: int = 0
    reason: Optional[str] = None


def sync(
    url: Optional[str] = None,
    token: Optional[str] = None,
    workspace: Optional[str] = None,
    profile: Optional[str] = None,
    spool_dir: Optional[str] = None,
    force: bool = False,
) -> List[SyncedRun]:
    """Uploads every spooled run that belongs to this server and that no live process holds, then removes it.
    ``force`` also uploads spools whose lock names a process on another host."""
    connection = resolve_connection(url=url, token=token, workspace=workspace, profile=profile)
    if not connection.token:
        raise SimscopeError("unauthorized", "sync: no token: set SIMSCOPE_TOKEN or pass token=...")
    transport = Transport(connection)
    root = spool_directory(spool_dir)
    sweep_retired(root)
    return [_sync_one(transport, directory, meta, connection.url, force) for directory, meta in list_spools(root)]


def _sync_one(transport: Transport, directory: Path, meta: dict, url: str, force: bool) -> SyncedRun:  # type: ignore[type-arg]
    result = SyncedRun(str(meta.get("runId")), "synced")
    if meta.get("url") != url:
        result.outcome, result.reason = "skipped", f"belongs to {meta.get('url')}"
        return result
    holder = spool_holder(directory)
    if holder is not None and not force:
        result.outcome = "skipped"
        result.reason = f"still written by process {holder.get('pid')} on {holder.get('host')} (force to upload anyway)"
        return result
    tail = {"torn": 0}
    for record in spool_records(directory, 0, tail):
        try:
            send_record(transport, result.run_id, record.kind, record.body)
            points, events = record_counts(record.kind, record.body)
            result.points += points
            result.events += events
        except SimscopeError as error:
            # Without its run on the server, nothing after a refused create could land: keep it all.
            if is_transient(error) or record.kind == "create":
                result.outcome, result.reason = "failed", str(error)
                return result
            result.refused += 1
            result.reason = str(error)
    result.torn = tail["torn"]
    retire_spool(directory)
    return result

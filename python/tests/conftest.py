"""Test set-up: a real Simscope server (the built Node server, SQLite in a temp dir) for the whole session."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator, List, Optional

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAIN = ROOT / "packages" / "server" / "dist" / "main.js"
sys.path.insert(0, str(ROOT / "python"))

#: The admin token every server started here bootstraps with.
TOKEN = "ssk_py_admin_token_00000000000000000000000000"


def build_server() -> None:
    """Builds protocol and server into `dist` when `main.js` is missing (the tests build nothing otherwise)."""
    if MAIN.exists():
        return
    subprocess.run(
        ["npx", "tsc", "-b", "packages/protocol/tsconfig.json", "packages/server/tsconfig.json"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )


class ServerProcess:
    """A real `simscope` server in a child process on a loopback port; `home` holds its config and data."""

    def __init__(self, home: Path, port: int = 0, args: Optional[List[str]] = None) -> None:
        self.home = home
        self.args = args or []
        self.output: List[str] = []
        self.url = ""
        self.port = port
        self._proc: Optional["subprocess.Popen[str]"] = None
        self.start()

    def start(self, timeout: float = 20.0) -> None:
        """Starts (or restarts, on the same port and data) and waits for the `listening on` line."""
        config = self.home / "config"
        data = self.home / "data"
        config.mkdir(parents=True, exist_ok=True)
        data.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SIMSCOPE_")}
        env.update(
            XDG_CONFIG_HOME=str(config),
            XDG_DATA_HOME=str(data),
            SIMSCOPE_BOOTSTRAP_TOKEN=TOKEN,
            SIMSCOPE_LOG_LEVEL="warn",
        )
        cmd = ["node", str(MAIN), "--host", "127.0.0.1", "--port", str(self.port), *self.args]
        # cwd is the home so that no simscope.toml of the checkout is picked up.
        proc = subprocess.Popen(
            cmd, cwd=self.home, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self._proc = proc
        found = threading.Event()

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                self.output.append(line)
                match = re.search(r"listening on (http://\S+)", line)
                if match and not found.is_set():
                    self.url = match.group(1)
                    found.set()

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not found.wait(0.05):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("server did not start:\n" + "".join(self.output))
        self.port = int(self.url.rsplit(":", 1)[1].split("/")[0])

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Sends `sig` and waits for the process to exit."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(sig)
            self._proc.wait(10)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)


@pytest.fixture(scope="session")
def server() -> Iterator[ServerProcess]:
    """One server for the session; each test makes its own runs."""
    build_server()
    home = Path(tempfile.mkdtemp(prefix="simscope-py-"))
    proc = ServerProcess(home)
    try:
        yield proc
    finally:
        proc.stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture()
def own_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of this test's own, to kill and restart (same port, same data)."""
    build_server()
    proc = ServerProcess(tmp_path / "server")
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture()
def spool_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A spool directory of this test's own (`SIMSCOPE_SPOOL_DIR`), so no test sees another's spooled runs."""
    path = tmp_path / "spool"
    monkeypatch.setenv("SIMSCOPE_SPOOL_DIR", str(path))
    return path


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's config, environment or spool."""
    for key in list(os.environ):
        if key.startswith("SIMSCOPE_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.chdir(tmp_path)

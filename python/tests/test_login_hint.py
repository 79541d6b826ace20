"""With no saved credentials and a person at the terminal, Client() and Run.init() suggest `simscope login`."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Dict

ROOT = Path(__file__).resolve().parents[2]
HINT = "simscope: no saved credentials for http://127.0.0.1:9; sign in with: simscope login --url http://127.0.0.1:9"
SCRIPT = "from simscope import Client\nClient(url='http://127.0.0.1:9')\nprint('made')\n"


def clean_env(tmp_path: Path) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIMSCOPE_")}
    env["SIMSCOPE_CONFIG"] = str(tmp_path / "none.toml")
    env["PYTHONPATH"] = str(ROOT / "python")
    return env


def run_in_terminal(env: Dict[str, str]) -> str:
    """Runs the script with a pseudo-terminal as stdin, stdout and stderr; returns what it printed."""
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir("/")
        os.execve(sys.executable, [sys.executable, "-c", SCRIPT], env)
    out = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.waitpid(pid, 0)
    return out.decode().replace("\r\n", "\n")


def test_a_terminal_gets_the_hint(tmp_path: Path) -> None:
    assert run_in_terminal(clean_env(tmp_path)) == f"{HINT}\nmade\n"


def test_no_hint_without_a_terminal_or_with_a_token(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    piped = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, cwd="/", stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    assert (piped.stdout, piped.stderr) == ("made\n", "")
    assert run_in_terminal({**env, "SIMSCOPE_TOKEN": "ssk_x"}) == "made\n"

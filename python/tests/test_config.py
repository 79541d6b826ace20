"""Connection config: the same files, variables and precedence as the Node client (checked against it)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Dict, Optional

import pytest

from simscope._config import find_project_file, parse_minimal_toml, resolve_connection
from simscope.errors import SimscopeError

ROOT = Path(__file__).resolve().parents[2]
NODE_CONFIG = ROOT / "packages" / "client" / "dist" / "config.js"

USER = """
default_profile = "lab"

[profiles.lab]
url = "http://lab.example:5280/"
token = "ssk_lab"
workspace = "lab-ws"

[profiles.hpc]
url = "http://hpc.example:5280"
token = "ssk_hpc"
"""


def write_user(tmp_path: Path, text: str = USER) -> Dict[str, str]:
    path = tmp_path / "user" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return {"SIMSCOPE_CONFIG": str(path)}


def test_default_when_nothing_is_set(tmp_path: Path) -> None:
    c = resolve_connection(env={"XDG_CONFIG_HOME": str(tmp_path)}, cwd=tmp_path)
    assert (c.url, c.token, c.workspace, c.profile) == ("http://127.0.0.1:5280", None, None, None)
    assert c.sources == {"url": "default"}


def test_each_level_in_order(tmp_path: Path) -> None:
    env = write_user(tmp_path)
    project = tmp_path / "proj"
    nested = project / "a" / "b"
    nested.mkdir(parents=True)
    user_file = env["SIMSCOPE_CONFIG"]

    c = resolve_connection(env=env, cwd=nested)
    assert (c.url, c.token, c.workspace, c.profile) == ("http://lab.example:5280", "ssk_lab", "lab-ws", "lab")
    assert c.sources == {
        "profile": f"user:{user_file}",
        "url": f"profile:lab:{user_file}",
        "token": f"profile:lab:{user_file}",
        "workspace": f"profile:lab:{user_file}",
    }

    (project / "simscope.toml").write_text('url = "http://project:1"\nprofile = "hpc"\n')
    assert find_project_file(nested) == project / "simscope.toml"
    c = resolve_connection(env=env, cwd=nested)
    assert (c.url, c.token, c.workspace, c.profile) == ("http://project:1", "ssk_hpc", None, "hpc")
    assert c.sources["url"] == f"project:{project / 'simscope.toml'}"

    c = resolve_connection(url="http://arg:2", token="ssk_arg", env=env, cwd=nested)
    assert (c.url, c.token) == ("http://arg:2", "ssk_arg")
    assert c.sources["url"] == c.sources["token"] == "argument"

    env2 = {**env, "SIMSCOPE_URL": "http://env:3/", "SIMSCOPE_TOKEN": "ssk_env", "SIMSCOPE_WORKSPACE": "w"}
    c = resolve_connection(url="http://arg:2", token="ssk_arg", workspace="x", env=env2, cwd=nested)
    assert (c.url, c.token, c.workspace) == ("http://env:3", "ssk_env", "w")
    assert c.sources["workspace"] == "env:SIMSCOPE_WORKSPACE"

    c = resolve_connection(profile="lab", env=env, cwd=tmp_path)
    assert c.token == "ssk_lab" and c.sources["profile"] == "argument"
    c = resolve_connection(profile="lab", env={**env, "SIMSCOPE_PROFILE": "hpc"}, cwd=tmp_path)
    assert c.token == "ssk_hpc" and c.sources["profile"] == "env:SIMSCOPE_PROFILE"


def test_unknown_profile_and_bad_toml(tmp_path: Path) -> None:
    env = write_user(tmp_path)
    with pytest.raises(SimscopeError) as unknown:
        resolve_connection(profile="nope", env=env, cwd=tmp_path)
    assert unknown.value.code == "not_found"
    assert unknown.value.message == f"profile 'nope' not found in {env['SIMSCOPE_CONFIG']}"
    (tmp_path / "simscope.toml").write_text("url = \n")
    with pytest.raises(SimscopeError) as bad:
        resolve_connection(env=env, cwd=tmp_path)
    assert bad.value.code == "invalid_field"
    assert bad.value.message.startswith(f"{tmp_path / 'simscope.toml'}: not valid TOML: ")


def test_minimal_reader_matches_tomllib() -> None:
    tomllib = pytest.importorskip("tomllib")

    text = USER + '\n[telemetry]\nenabled = false # off\n[a."b c".d]\nn = 1_000\nf = 1.5\ns = \'lit\'\ne = "q\\"x"\n'
    assert parse_minimal_toml(text) == tomllib.loads(text)
    with pytest.raises(ValueError, match="line 1: expected key = value"):
        parse_minimal_toml("just words\n")


@pytest.mark.skipif(not NODE_CONFIG.exists(), reason="the Node client is not built")
@pytest.mark.parametrize(
    ("env_extra", "args", "project"),
    [
        ({}, {}, None),
        ({}, {"url": "http://arg:2/", "workspace": "aw"}, 'url = "http://project:1"\nprofile = "hpc"\n'),
        ({"SIMSCOPE_URL": "http://env:3", "SIMSCOPE_PROFILE": "hpc"}, {"token": "t"}, 'workspace = "pw"\n'),
        ({"SIMSCOPE_TOKEN": "ssk_env"}, {"profile": "hpc"}, None),
    ],
)
def test_same_answer_as_the_node_client(
    tmp_path: Path, env_extra: Dict[str, str], args: Dict[str, str], project: Optional[str]
) -> None:
    env = {**write_user(tmp_path), **env_extra}
    if project is not None:
        (tmp_path / "simscope.toml").write_text(project)
    script = (
        f"import({json.dumps(NODE_CONFIG.as_uri())}).then(m => process.stdout.write(JSON.stringify("
        f"m.resolveConfig({json.dumps(args)}, {json.dumps(env)}, {json.dumps(str(tmp_path))}))))"
    )
    node = json.loads(subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True).stdout)
    python = resolve_connection(**args, env=env, cwd=tmp_path)
    assert {"url": python.url, "token": python.token, "workspace": python.workspace} == {
        "url": node["url"],
        "token": node.get("token"),
        "workspace": node.get("workspace"),
    }

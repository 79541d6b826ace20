"""Telemetry for library authors against a real server: records, consent, registry, never blocking the caller."""

from __future__ import annotations

import json
import os
import pwd
import re
import time
import types
import uuid
import warnings
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from conftest import TOKEN, ServerProcess
from simscope._config import resolve_connection
from simscope._http import Transport
from simscope.telemetry import (
    ApiHandler,
    SessionID,
    Summariser,
    TelemetryError,
    TelemetryRegister,
    TelemetryWarning,
    instrument,
    parse_registry,
    register_func,
    session_id,
    telemetry_status,
)


@pytest.fixture()
def handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiHandler]:
    monkeypatch.delenv("DO_NOT_TRACK", raising=False)
    monkeypatch.delenv("SIMSCOPE_TELEMETRY_REGISTRY", raising=False)
    api = ApiHandler._reset_for_tests(flush_interval=0.05)
    yield api
    api.close(0.2)


def login() -> str:
    return pwd.getpwuid(os.getuid()).pw_name


def new_service() -> str:
    return f"pytest/{uuid.uuid4().hex[:12]}"


def make_key(server: ServerProcess, endpoint: str) -> str:
    admin = Transport(resolve_connection(url=server.url, token=TOKEN))
    key: str = admin.request("POST", "/admin/telemetry/keys", json={"service": endpoint, "name": "t"}).json()["key"]
    return key


def records(server: ServerProcess, endpoint: str) -> List[Dict[str, Any]]:
    admin = Transport(resolve_connection(url=server.url, token=TOKEN))
    items: List[Dict[str, Any]] = admin.request(
        "GET", "/telemetry/records", query={"service": endpoint, "limit": 1000}
    ).json()["items"]
    return items


def test_register_func_records_reach_the_server(server: ServerProcess, handler: ApiHandler) -> None:
    endpoint = new_service()
    name = endpoint.replace("/", "_")

    @register_func(endpoint, extra_fields=[{"catalog_version": "2025.1"}, {"site": "nci"}])
    def search(query: str, **kwargs: Any) -> str:
        return query.upper()

    handler.set_destination(name, url=server.url, key=make_key(server, endpoint))
    before = time.time_ns() // 1000
    assert search("tas", variable="tas", frequency="mon") == "TAS"
    assert search("x" * 300, data=list(range(50))) == "X" * 300
    assert handler.flush(5.0) == {"pending": 0, "sent": 2, "dropped": 0, "failed": 0}

    got = sorted(records(server, endpoint), key=lambda r: int(r["id"]))
    assert len(got) == 2
    first, second = got
    assert first["function"] == "search"
    assert first["args"] == ["tas"] and first["kwargs"] == {"variable": "tas", "frequency": "mon"}
    assert first["session_id"] == session_id() and re.fullmatch(r"[0-9a-f]{64}", first["session_id"])
    assert first["catalog_version"] == "2025.1" and first["site"] == "nci"
    assert first["name"] == login()
    assert before <= first["timestamp"] <= time.time_ns() // 1000
    assert second["args"] == ["x" * 200 + "…"]
    assert second["kwargs"]["data"] == list(range(20)) + ["… 30 more"]
    assert SessionID() == session_id()


def test_deregister_stops_records_and_pop_fields_drops_session(server: ServerProcess, handler: ApiHandler) -> None:
    endpoint = new_service()
    registry = TelemetryRegister(endpoint)

    @register_func(endpoint)
    def run_model(steps: int) -> int:
        return steps

    handler.set_destination(endpoint, url=server.url, key=make_key(server, endpoint))
    handler.pop_fields(endpoint, ["session_id"])
    assert str(registry) == '["run_model"]'
    registry.deregister(run_model)
    assert str(registry) == "[]"
    run_model(1)
    registry.register("run_model")
    run_model(2)
    handler.flush(5.0)
    got = records(server, endpoint)
    assert [r["args"] for r in got] == [[2]]
    assert "session_id" not in got[0] and got[0]["name"] == login()


def test_unknown_services_and_reserved_fields_are_clear_errors(handler: ApiHandler) -> None:
    with pytest.raises(KeyError) as unknown:
        handler.add_extra_field("my_other_service", {"interesting_data": 1})
    assert isinstance(unknown.value, TelemetryError) and unknown.value.code == "not_found"
    assert str(unknown.value) == (
        "service 'my_other_service' not found; declare it in a registry (load_registry), with "
        "TelemetryRegister('my_other_service'), or by tracking a function of it"
    )
    endpoint = new_service()
    TelemetryRegister(endpoint)
    with pytest.raises(TelemetryError, match=r"^extra_fields\.session_id: 'session_id' is a field of every record"):
        handler.add_extra_field(endpoint, {"session_id": "x"})
    with pytest.raises(TelemetryError, match="'function' is what a record is about"):
        handler.pop_fields(endpoint, ["function"])
    with pytest.raises(TelemetryError, match="'nope' is not registered"):
        TelemetryRegister(endpoint).deregister("nope")
    with pytest.raises(TypeError, match="unexpected keyword argument 'extra_field'"):
        register_func(endpoint, extra_field={})  # type: ignore[call-arg]


def test_calls_never_block_when_the_server_is_down(handler: ApiHandler) -> None:
    endpoint = new_service()

    @register_func(endpoint)
    def step(i: int) -> int:
        return i

    handler.set_destination(endpoint, url="http://127.0.0.1:9", key="stk_nothing")
    start = time.perf_counter()
    for i in range(10_000):
        step(i)
    per_call = (time.perf_counter() - start) / 10_000
    assert per_call < 50e-6
    start = time.perf_counter()
    stats = handler.flush(0.5)
    assert time.perf_counter() - start < 1.5
    assert stats["sent"] == 0 and stats["pending"] == 10_000 and stats["failed"] == 0


def test_a_wrong_key_is_counted_as_failed_and_not_retried(server: ServerProcess, handler: ApiHandler) -> None:
    endpoint = new_service()
    errors: List[str] = []
    handler.on_error = lambda e: errors.append(f"{e.status} {e.code}")

    @register_func(endpoint)
    def f() -> None:
        return None

    handler.set_destination(endpoint, url=server.url, key="stk_wrong")
    f()
    f()
    assert handler.flush(5.0) == {"pending": 0, "sent": 0, "dropped": 0, "failed": 2}
    assert errors == ["401 unauthorized"]


def test_queue_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DO_NOT_TRACK", raising=False)
    api = ApiHandler._reset_for_tests(flush_interval=60, queue_size=3)
    try:
        endpoint = new_service()
        def nothing() -> None:
            return None

        tracked = register_func(endpoint)(nothing)
        for _ in range(5):
            tracked()
        assert api.stats()["dropped"] == 2 and api.stats()["pending"] == 3
    finally:
        api.close(0.1)


def test_off_means_the_function_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    api = ApiHandler._reset_for_tests()
    try:
        assert api.enabled is False

        def plain() -> int:
            return 1

        assert register_func(new_service())(plain) is plain
    finally:
        api.close(0.1)


def test_consent_follows_the_node_package(tmp_path: Path) -> None:
    user = tmp_path / "user.toml"
    env = {"SIMSCOPE_CONFIG": str(user)}
    assert telemetry_status(env, tmp_path).reason == "nothing turns it off (the default)"
    user.write_text("[telemetry]\nenabled = false\n")
    status = telemetry_status(env, tmp_path)
    assert (status.enabled, status.source, status.reason) == (False, "user", f"[telemetry] enabled = false in {user}")
    (tmp_path / "simscope.toml").write_text("[telemetry]\nenabled = true\n")
    assert telemetry_status(env, tmp_path).source == "project" and telemetry_status(env, tmp_path).enabled
    assert telemetry_status({**env, "SIMSCOPE_TELEMETRY": "off"}, tmp_path).enabled is False
    odd = telemetry_status({**env, "SIMSCOPE_TELEMETRY": "maybe"}, tmp_path)
    assert (odd.enabled, odd.reason) == (False, "SIMSCOPE_TELEMETRY=maybe is not one of 0, 1, true, false, yes, no, on, off")
    assert telemetry_status({**env, "DO_NOT_TRACK": "0"}, tmp_path).enabled is True
    dnt = telemetry_status({**env, "DO_NOT_TRACK": "1", "SIMSCOPE_TELEMETRY": "on"}, tmp_path)
    assert (dnt.enabled, dnt.source) == (False, "DO_NOT_TRACK")
    (tmp_path / "simscope.toml").write_text('[telemetry]\nenabled = "yes"\n')
    bad = telemetry_status(env, tmp_path)
    assert (bad.enabled, bad.reason) == (False, f"{tmp_path / 'simscope.toml'}: [telemetry] enabled must be true or false")


def test_registry_and_instrument(server: ServerProcess, handler: ApiHandler) -> None:
    unique = uuid.uuid4().hex[:8]
    handler.load_registry(
        f"""
lib{unique}:
  catalog:
    - search
    - Catalog.lookup
  other: [noop]
"""
    )
    assert handler.services[-2:] == [f"lib{unique}_catalog", f"lib{unique}_other"]
    assert str(TelemetryRegister(f"lib{unique}_catalog")) == '["search", "Catalog.lookup"]'

    module = types.ModuleType("fake_lib")

    def search(q: str) -> str:
        return q

    class Catalog:
        def lookup(self, key: str) -> str:
            return key * 2

        @staticmethod
        def untracked() -> int:
            return 0

    module.search = search  # type: ignore[attr-defined]
    module.Catalog = Catalog  # type: ignore[attr-defined]
    endpoint = f"lib{unique}/catalog"
    assert instrument(module, f"lib{unique}_catalog") == ["search", "Catalog.lookup"]
    handler.set_destination(endpoint, url=server.url, key=make_key(server, endpoint))
    assert module.search("a") == "a"
    assert module.Catalog().lookup("b") == "bb"
    assert module.Catalog.untracked() == 0
    handler.flush(5.0)
    got = sorted(records(server, endpoint), key=lambda r: int(r["id"]))
    assert [(r["function"], r["args"][-1]) for r in got] == [("search", "a"), ("Catalog.lookup", "b")]
    assert got[1]["args"][0] == "<Catalog>"

    with pytest.raises(TelemetryError, match=r"registry: line 2: expected 'key:' or '- name'"):
        parse_registry("a:\n  just text\n")
    assert parse_registry("payu:\n  run:\n    - Experiment.run\n") == {"payu": {"run": ["Experiment.run"]}}


def test_summaries_are_bounded_json() -> None:
    s = Summariser()
    nested = {"a": {"b": {"c": {"d": 1}}}}
    assert s.value(nested) == {"a": {"b": {"c": "<dict(1)>"}}}
    assert s.value(float("nan")) == "NaN" and s.value(float("-inf")) == "-Infinity"
    assert s.value(ValueError("bad")) == "<ValueError: bad>"
    assert s.value(2**60) == str(2**60)
    assert s.value(Path("/x")) == "/x"
    args, kwargs = s.call(tuple(range(300)), {})
    assert len(args) == 21 and args[-1] == "… 280 more"


def test_service_names_are_looked_up_in_the_registry_and_ambiguous_ones_refused(handler: ApiHandler) -> None:
    unique = uuid.uuid4().hex[:8]
    with pytest.raises(TelemetryError) as ambiguous:
        TelemetryRegister(f"my{unique}_service")
    assert (ambiguous.value.code, str(ambiguous.value)) == (
        "invalid_field",
        f"service: 'my{unique}_service' is not a service of the registry, and a name with '_' could stand for several "
        f"endpoints ('my{unique}/service', 'my{unique}_service'); pass the endpoint, or declare it in a registry",
    )
    with pytest.raises(TelemetryError, match=r"^register_func: service: 'a_b_c_d_e' is not a service of the registry, "
                       r"and a name with '_' could stand for several endpoints \('a/b/c/d/e', 'a_b/c/d/e', "
                       r"'a/b_c/d/e', 'a_b_c/d/e', …\)"):
        register_func("a_b_c_d_e")
    assert not handler.has_service(f"my{unique}_service") and not handler.has_service(f"my{unique}/service")

    handler.load_registry(f"executor{unique}:\n  save_results: [Model.save]\n")
    register = TelemetryRegister(f"executor{unique}_save_results")
    assert (register.service, register.endpoint) == (f"executor{unique}_save_results", f"executor{unique}/save_results")
    assert str(register) == '["Model.save"]'

    @register_func(f"executor{unique}_save_results")
    def save() -> None:
        return None

    assert list(register) == ["Model.save", "save"]
    assert handler.has_service(f"executor{unique}/save_results")
    assert not handler.has_service(f"executor{unique}/save/results")

    plain = TelemetryRegister(f"top{unique}")
    assert (plain.service, plain.endpoint) == (f"top{unique}", f"top{unique}")
    with pytest.raises(TelemetryError, match=r"^service: 'bad//path' is not a service endpoint: 1 to 8 segments"):
        TelemetryRegister("bad//path")


def test_two_endpoints_that_make_one_name_are_refused(handler: ApiHandler) -> None:
    unique = uuid.uuid4().hex[:8]
    TelemetryRegister(f"a{unique}_b/c")
    with pytest.raises(TelemetryError) as conflict:
        TelemetryRegister(f"a{unique}/b_c")
    assert (conflict.value.code, conflict.value.status, str(conflict.value)) == (
        "conflict",
        409,
        f"service: endpoints 'a{unique}_b/c' and 'a{unique}/b_c' both make the service name 'a{unique}_b_c'; "
        "rename one of them",
    )
    with pytest.raises(TelemetryError, match="^service: endpoints .* both make the service name") as from_registry:
        handler.load_registry(f"z{unique}:\n  ok: [f]\na{unique}:\n  b_c: [g]\n")
    assert from_registry.value.code == "conflict"
    assert not handler.has_service(f"z{unique}_ok"), "a refused registry adds none of its services"
    with pytest.raises(TelemetryError) as inside:
        handler.load_registry({f"x{unique}_y": {"z": ["f"]}, f"x{unique}": {"y_z": ["g"]}}, "lib.yaml")
    assert (inside.value.code, str(inside.value)) == (
        "invalid_field",
        f"lib.yaml: endpoints 'x{unique}_y/z' and 'x{unique}/y_z' both make the service name 'x{unique}_y_z'",
    )


def test_records_carry_the_user_name_unless_left_out(server: ServerProcess, handler: ApiHandler) -> None:
    endpoints = [new_service() for _ in range(4)]

    def traced(endpoint: str) -> None:
        @register_func(endpoint)
        def ping() -> None:
            return None

        handler.set_destination(endpoint, url=server.url, key=make_key(server, endpoint))
        ping()

    handler.user_name = False
    traced(endpoints[0])
    handler.flush(5.0)
    handler.user_name = "ada"
    traced(endpoints[1])
    handler.flush(5.0)
    handler.user_name = True
    traced(endpoints[2])
    handler.pop_fields(endpoints[2], ["name"])
    traced(endpoints[3])
    handler.add_extra_field(endpoints[3], {"name": "team-run"})
    assert handler.flush(5.0)["sent"] == 4
    names = [[r.get("name", "<absent>") for r in records(server, e)] for e in endpoints]
    assert names == [["<absent>"], ["ada"], ["<absent>"], ["team-run"]]
    assert all("name" not in r for r in records(server, endpoints[0]))


def test_the_registry_file_named_by_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DO_NOT_TRACK", raising=False)
    unique = uuid.uuid4().hex[:8]
    yaml_file = tmp_path / "telemetry.yaml"
    yaml_file.write_text(f"# the library's registry\nintake{unique}:\n  catalog:\n    - esm_datastore.search\n")
    monkeypatch.setenv("SIMSCOPE_TELEMETRY_REGISTRY", str(yaml_file))
    api = ApiHandler._reset_for_tests()
    try:
        assert str(TelemetryRegister(f"intake{unique}_catalog")) == '["esm_datastore.search"]'
    finally:
        api.close(0.1)

    json_file = tmp_path / "registry.json"
    json_file.write_text(json.dumps({f"payu{unique}": {"run": ["Experiment.run"], "setup": None}}))
    monkeypatch.setenv("SIMSCOPE_TELEMETRY_REGISTRY", str(json_file))
    api = ApiHandler._reset_for_tests()
    try:
        assert api.services == [f"payu{unique}_run", f"payu{unique}_setup"]
        assert list(TelemetryRegister(f"payu{unique}_setup")) == []
        assert api.load_registry_file(yaml_file) == [f"intake{unique}_catalog"]
    finally:
        api.close(0.1)

    missing = tmp_path / "nope.yaml"
    monkeypatch.setenv("SIMSCOPE_TELEMETRY_REGISTRY", str(missing))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        api = ApiHandler._reset_for_tests()
    api.close(0.1)
    assert [(w.category, str(w.message)) for w in caught] == [
        (TelemetryWarning, f"registry file '{missing}' cannot be read: No such file or directory")
    ]
    bad = tmp_path / "bad.yaml"
    bad.write_text("lib:\n  catalog: [ok, '']\n")
    monkeypatch.setenv("SIMSCOPE_TELEMETRY_REGISTRY", str(bad))
    heard: List[str] = []
    api = ApiHandler._reset_for_tests(on_error=lambda e: heard.append(f"{e.code} {e}"))
    api.close(0.1)
    assert heard == [f'invalid_field {bad}: lib.catalog[1]: expected a function name (a non-empty string), got ""']

    with pytest.raises(TelemetryError, match=r"^registry file '.*nope\.yaml' cannot be read"):
        ApiHandler._reset_for_tests(registry_file=missing)
    api = ApiHandler._reset_for_tests(registry_file=False)
    try:
        assert api.services == []
    finally:
        api.close(0.1)

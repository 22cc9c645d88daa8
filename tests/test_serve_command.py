"""`tabular-mlops serve` before it serves: its params, and which dvc.lock checks the bundle."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

from tabular_mlops.cli import main
from tabular_mlops.errors import StageError
from tabular_mlops.serving.server import default_lock
from tests import service as svc

ROOT = Path(__file__).resolve().parents[1]


def test_the_lock_is_dvc_lock_only_for_a_bundle_inside_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models/bundle").mkdir(parents=True)
    assert default_lock("models/bundle", None) is None  # no dvc.lock here
    (tmp_path / "dvc.lock").write_text("")
    assert default_lock("models/bundle", None) == "dvc.lock"
    assert default_lock(str(tmp_path.parent / "elsewhere"), None) is None  # e.g. fetched by `dvc artifacts get`
    assert default_lock("models/bundle", "none") is None
    assert default_lock("models/bundle", "other.lock") == "other.lock"


@pytest.mark.parametrize("key, value, message", [
    ("max_rows", 0, "key 'serve.max_rows' must be greater than or equal to 1; got 0"),
    ("max_body_bytes", "1MB", "key 'serve.max_body_bytes'"),
])
def test_bad_serve_params_are_one_line_before_anything_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture, key: str, value: object, message: str) -> None:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["serve"][key] = value
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.chdir(tmp_path)
    assert main(["serve", "--model", "nowhere"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("error: params.yaml: ") and message in error


def test_a_missing_bundle_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    assert main(["serve", "--model", "nowhere"]) == 2
    assert capsys.readouterr().err.startswith("error: nowhere: not a model bundle")


@pytest.mark.parametrize("problem, outcome, accepted", [
    ("regression", 12.5, True), ("regression", 3, True), ("regression", "12.5", False), ("regression", True, False),
    ("multiclass", "b", True), ("multiclass", "d", False), ("multiclass", 1, False), ("classification", "a", True),
])
def test_feedback_outcome_must_be_a_class_or_a_number(problem: str, outcome: object, accepted: bool) -> None:
    import json

    from tabular_mlops.data.contract import Contract
    from tabular_mlops.serving.outputs import feedback_outcome
    from tabular_mlops.serving.schema import RequestError

    target = {"type": "float", "nullable": False} if problem == "regression" else \
        {"type": "category", "nullable": False, "categories": ["a", "b", "c"]}
    contract = Contract.model_validate({"target": "y", "columns": {"y": target}})
    body = json.dumps({"prediction_id": "p1", "outcome": outcome}).encode()
    if accepted:
        assert feedback_outcome(body, contract, problem) == ("p1", float(outcome) if problem == "regression" else outcome)
    else:
        with pytest.raises(RequestError) as refused:
            feedback_outcome(body, contract, problem)
        assert refused.value.errors[0]["field"] == "outcome" and str(outcome) not in refused.value.errors[0]["rule"]


def test_a_busy_port_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    import socket

    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--model", "nowhere", "--port", str(port)]) == 2
    error = capsys.readouterr().err
    assert error == f"error: --host 127.0.0.1 --port {port}: cannot listen there (Address already in use); pick another --port\n"


def test_each_setting_comes_from_its_flag_else_its_variable_else_params_yaml_else_built_in(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tabular_mlops.deployment.settings import BUILT_IN, VARIABLES, resolve, source_line

    for variable in VARIABLES.values():
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(tmp_path)
    assert resolve({}) == (BUILT_IN, {name: "built in" for name in BUILT_IN})  # no params.yaml: not a project
    assert source_line(resolve({})[1]) == ("settings: model, host, port, workers, log, max_body_bytes, max_rows, key_file, "
                                           "runtime built in (no params.yaml in this folder)")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["serve"].update(max_rows=7, max_body_bytes=70, log="project.sqlite")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.setenv("TABULAR_MLOPS_MAX_ROWS", "9")
    monkeypatch.setenv("TABULAR_MLOPS_MAX_BODY_BYTES", "90")
    values, sources = resolve({"max_rows": "11", "port": None})
    assert {name: values[name] for name in ("max_rows", "max_body_bytes", "log", "port")} == \
        {"max_rows": 11, "max_body_bytes": 90, "log": "project.sqlite", "port": 8000}
    assert source_line(sources) == ("settings: --max-rows from flags; TABULAR_MLOPS_MAX_BODY_BYTES from the environment; "
                                    "serve.log, serve.key_file from ./params.yaml; model, host, port, workers, runtime built in")


def test_a_runtime_that_is_neither_auto_nor_scikit_learn_is_refused_naming_where_it_came_from(monkeypatch: pytest.MonkeyPatch) -> None:
    from tabular_mlops.deployment.settings import resolve

    monkeypatch.setenv("TABULAR_MLOPS_RUNTIME", "onnx")
    with pytest.raises(StageError, match="^TABULAR_MLOPS_RUNTIME: the runtime must be auto or scikit-learn; got 'onnx'$"):
        resolve({}, ("runtime",))
    assert resolve({"runtime": "scikit-learn"}, ("runtime",))[0] == {"runtime": "scikit-learn"}


@pytest.mark.parametrize("variables, message", [
    ({"TABULAR_MLOPS_WORKERS": "0"}, "error: TABULAR_MLOPS_WORKERS must be a whole number >= 1; got '0'"),
    ({"TABULAR_MLOPS_PREDICTION_LOG": "same.file", "TABULAR_MLOPS_PSEUDONYM_KEY_FILE": "same.file"},
     "error: the pseudonym key file must be a file of its own, not the prediction log; got 'same.file' for both "
     "(TABULAR_MLOPS_PREDICTION_LOG, TABULAR_MLOPS_PSEUDONYM_KEY_FILE)"),
])
def test_a_bad_setting_from_the_environment_is_one_line_naming_the_variable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, variables: dict, message: str) -> None:
    monkeypatch.chdir(tmp_path)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert main(["serve"]) == 2
    assert capsys.readouterr().err == message + "\n"


def test_serve_outside_a_project_takes_flags_and_variables_and_says_so(small_repo: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """A deployed host: no params.yaml, the bundle elsewhere; uvicorn is replaced by a recorder."""
    import json

    from tabular_mlops.deployment.settings import VARIABLES
    from tabular_mlops.serving import tcp
    from tabular_mlops.serving.app import SETTINGS_VARIABLE

    for variable in VARIABLES.values():
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv(SETTINGS_VARIABLE, "")  # serve sets it: undone after the test
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TABULAR_MLOPS_MAX_ROWS", "123")
    monkeypatch.setenv("TABULAR_MLOPS_PREDICTION_LOG", "/var/tmp/served.sqlite")
    started = {}
    monkeypatch.setattr(tcp, "run", lambda host, port, workers: started.update(host=host, port=port, workers=workers))
    port = str(svc.free_port())
    assert main(["serve", "--model", str(small_repo / "models/bundle"), "--port", port]) == 0
    assert started["port"] == int(port) and started["host"] == "127.0.0.1" and started["workers"] == 1
    settings = json.loads(os.environ[SETTINGS_VARIABLE])
    assert (settings["max_rows"], settings["log"], settings["max_body_bytes"]) == (123, "/var/tmp/served.sqlite", 1_000_000)
    assert settings["lock"] is None  # the bundle is outside this folder: no dvc.lock to hold it to
    first = capsys.readouterr().err.splitlines()[0]
    assert first == ("settings: --model, --port from flags; TABULAR_MLOPS_PREDICTION_LOG, TABULAR_MLOPS_MAX_ROWS from the "
                     "environment; host, workers, max_body_bytes, key_file, runtime built in (no params.yaml in this folder)")


def test_the_http_api_page_lists_each_setting_with_its_flag_variable_params_key_and_default() -> None:
    from tabular_mlops.deployment.settings import BUILT_IN, IN_PARAMS, VARIABLES, flag

    page = (ROOT / "docs/reference/http-api.md").read_text().split("## Settings\n")[1].split("\n## ")[0]
    rows = [[cell.strip().strip("`") for cell in line.strip("|").split("|")] for line in page.splitlines() if line.startswith("| `--")]
    expected = [[flag(name), VARIABLES[name], f"serve.{name}" if name in IN_PARAMS else "", str(BUILT_IN[name])] for name in VARIABLES]
    assert rows == expected


def test_the_workers_shared_socket_turns_off_nagles_algorithm_on_each_connection() -> None:
    """With --workers above 1, uvicorn binds the socket the workers share; asyncio sets TCP_NODELAY on
    the connections they accept only when that socket names TCP. Without it every answer waited for the
    client's delayed ACK (44 ms; benchmarks/results.md, "The compiled model: the service")."""
    import asyncio
    import socket

    from tabular_mlops.serving.tcp import TcpConfig

    listening = TcpConfig("tabular_mlops.serving.app:create_app", factory=True, host="127.0.0.1", port=0).bind_socket()
    assert listening.proto == socket.IPPROTO_TCP
    accepted = {}

    async def serve_one() -> None:
        def connected(reader, writer):
            accepted["nodelay"] = writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            writer.close()

        server = await asyncio.start_server(connected, sock=listening)
        host, port = listening.getsockname()[:2]
        _, writer = await asyncio.open_connection(host, port)
        for _ in range(100):
            if accepted:
                break
            await asyncio.sleep(0.01)
        writer.close()
        server.close()

    asyncio.run(serve_one())
    assert accepted["nodelay"] != 0

"""`tabular-mlops serve` before it serves: its params, and which dvc.lock checks the bundle."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tabular_mlops.cli import main
from tabular_mlops.serving.server import default_lock

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

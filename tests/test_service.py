"""`tabular-mlops serve` as a real uvicorn process on a loopback port, against conftest's `small_repo` bundle.

The tests whose answers go through the model run on both paths (tests/service.py RUNTIMES): the
bundle's compiled model, as `serve` runs by default, and the pickled pipeline (`--runtime
scikit-learn`), one server each for the module. Those whose answer comes before the model (a 422,
a 413, a 401, a 503) run on the default path only.
"""
from __future__ import annotations

import json
import math
import re
import shutil
import sqlite3
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import joblib
import numpy as np
import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tabular_mlops.compiled.compile import BOUND
from tabular_mlops.deployment.artifact import load_bundle
from tabular_mlops.deployment.prediction_log import read_scored
from tabular_mlops.errors import StageError
from tests import service as svc

MAX_ROWS, MAX_BODY = 50, 30_000
SECRET_NUMBER, SECRET_TEXT = 987654321, "zzz-secret"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def test_rows(small_repo: Path) -> pd.DataFrame:
    return pd.read_parquet(small_repo / "data/prepared/test.parquet").head(20).reset_index(drop=True)


def as_records(rows: pd.DataFrame) -> list[dict]:
    """JSON records as a client sends them: whole numbers as integers, missing values as null."""
    records = []
    for row in rows.drop(columns=["Status"]).to_dict("records"):
        records.append({key: None if isinstance(value, float) and math.isnan(value)
                        else int(value) if isinstance(value, float) else value for key, value in row.items()})
    return records


@pytest.fixture(scope="module")
def services(small_repo: Path, tmp_path_factory: pytest.TempPathFactory):
    """`services(path)`: the module's server on that path, started when first asked for."""
    running = svc.Services(small_repo / "models/bundle", lambda path: svc.working_folder(
        tmp_path_factory.mktemp(f"service-{path}"), small_repo / "params.yaml", max_rows=MAX_ROWS, max_body_bytes=MAX_BODY))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def service(services):
    """The server as `serve` starts by default, for the tests whose answer never reaches the model."""
    return services("onnxruntime")


def in_process(small_repo: Path, path: str):
    """The bundle loaded on `path`, as the server on that path loads it."""
    return load_bundle(small_repo / "models/bundle", runtime="auto" if path == "onnxruntime" else path)


@pytest.mark.parametrize("path", svc.RUNTIMES)
def test_single_and_batch_requests_score_exactly_like_the_bundle_in_process(services, small_repo: Path, test_rows: pd.DataFrame,
                                                                            path: str) -> None:
    service = services(path)
    assert svc.answering_runtime(service)["path"] == path
    bundle = in_process(small_repo, path)
    # The parquet's own dtypes: an independent path to the frame. The same rows in the same
    # batches: BLAS may round a 1-row product differently from a 20-row one, in the last bit.
    expected = bundle.predict(test_rows)
    expected_one = bundle.predict(test_rows.head(1))
    records = as_records(test_rows)
    single = httpx.post(f"{service.url}/predict", json=records[0])
    assert single.status_code == 200, single.text
    body = single.json()
    assert body["probability"] == expected_one["probability"][0] and body["decision"] == expected_one["decision"][0]
    assert body["model_version"] == bundle.version and body["unseen_categories"] == [] and len(body["prediction_id"]) == 32
    batch = httpx.post(f"{service.url}/predict/batch", json=records).json()["predictions"]
    assert [row["probability"] for row in batch] == list(expected["probability"])
    assert [row["decision"] for row in batch] == list(expected["decision"])
    csv = test_rows.drop(columns=["Status"]).to_csv(index=False)
    from_csv = httpx.post(f"{service.url}/predict/batch", content=csv, headers={"Content-Type": "text/csv"})
    assert from_csv.status_code == 200, from_csv.text
    assert [row["probability"] for row in from_csv.json()["predictions"]] == list(expected["probability"])
    assert test_rows[["Income", "Assets"]].isna().any().any(), "the rows should include missing values"

    # And against the pipeline's own predict_proba, independently of the bundle's code: the same
    # bits on scikit-learn's path, within the bound the compiled model was verified to otherwise;
    # the decisions at the evaluated threshold, but for a probability within the bound of it.
    pipeline = joblib.load(small_repo / "models/model.joblib").predict_proba(test_rows.drop(columns=["Status"]))[:, 1]
    served = np.array([row["probability"] for row in batch])
    if path == "scikit-learn":
        assert served.tolist() == pipeline.tolist()
    assert np.max(np.abs(served - pipeline)) <= BOUND
    positive, threshold = bundle.manifest["model"]["positive_class"], bundle.threshold
    clear = np.abs(pipeline - threshold) > BOUND
    assert clear.all(), "no test row should sit at the threshold"
    assert [row["decision"] == positive for row in batch] == (pipeline >= threshold).tolist()


def record(test_rows: pd.DataFrame, **changes) -> dict:
    return {**as_records(test_rows)[0], **changes}


INVALID = {
    "missing field": (lambda r: {k: v for k, v in r.items() if k != "Age"}, "Age", "is required"),
    "wrong type": (lambda r: {**r, "Time": SECRET_TEXT}, "Time", "must be an integer"),
    "below min": (lambda r: {**r, "Income": -SECRET_NUMBER}, "Income", "must be >= 0"),
    "category outside the contract": (lambda r: {**r, "Home": SECRET_TEXT}, "Home", "must be one of 'ignore', 'other'"),
    "extra field": (lambda r: {**r, "Nickname": SECRET_TEXT}, "Nickname", "is not an input column"),
}


@pytest.mark.parametrize("case", INVALID, ids=list(INVALID))
def test_an_invalid_record_is_a_422_naming_field_and_rule_never_the_value(service, test_rows: pd.DataFrame, case: str) -> None:
    change, field, rule = INVALID[case]
    for path, payload, row in (("/predict", change(record(test_rows)), None),
                               ("/predict/batch", [record(test_rows), change(record(test_rows))], 1)):
        response = httpx.post(f"{service.url}{path}", json=payload)
        assert response.status_code == 422
        errors = response.json()["errors"]
        assert errors[0]["field"] == field and errors[0]["rule"].startswith(rule)
        assert errors[0].get("row") == row
        assert SECRET_TEXT not in response.text and str(SECRET_NUMBER) not in response.text
        assert "Traceback" not in response.text and "/" not in json.dumps(errors).replace("/predict", "")


@pytest.mark.parametrize("body, rule", [(b'{"Age": 987654321, ', "the body must be valid JSON"),
                                        (b"[1, 987654321]", "must be a JSON object (one record)"),
                                        (b"[" * 100_00 + b"]" * 100_00, "the body must be valid JSON")])
def test_malformed_json_or_a_wrong_top_level_type_is_a_422(service, body: bytes, rule: str) -> None:
    response = httpx.post(f"{service.url}/predict", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json() == {"errors": [{"field": None, "rule": rule}]}


def test_bodies_and_batches_over_the_limits_are_a_413(service, test_rows: pd.DataFrame) -> None:
    rows = [record(test_rows)] * (MAX_ROWS + 1)
    assert len(json.dumps(rows)) < MAX_BODY
    assert httpx.post(f"{service.url}/predict/batch", json=rows).status_code == 413
    csv = test_rows.drop(columns=["Status"]).head(1).to_csv(index=False)
    many = csv + csv.split("\n", 1)[1] * MAX_ROWS
    assert httpx.post(f"{service.url}/predict/batch", content=many, headers={"Content-Type": "text/csv"}).status_code == 413
    large = b" " * (MAX_BODY + 1)
    assert httpx.post(f"{service.url}/predict", content=large).status_code == 413  # by Content-Length
    chunks = iter([b" " * 10_000] * 4)  # no Content-Length: chunked, counted as it streams in
    assert httpx.post(f"{service.url}/predict", content=chunks).status_code == 413


def error_cases(test_rows: pd.DataFrame) -> dict[str, tuple]:
    """{case: (method, path, request options, status, field, the rule's start)}: every kind of error the service answers."""
    one = record(test_rows)
    return {
        "unknown path": ("GET", f"/{SECRET_TEXT}", {}, 404, None, "no such endpoint"),
        "wrong method": ("GET", "/predict", {}, 405, None, "this endpoint does not take this method"),
        "unknown prediction": ("POST", "/feedback", {"json": {"prediction_id": SECRET_TEXT, "outcome": "bad"}}, 404,
                               "prediction_id", "no prediction with this prediction_id"),
        "body too large": ("POST", "/predict", {"content": SECRET_TEXT.encode() * (MAX_BODY // len(SECRET_TEXT) + 1)}, 413, None,
                           f"the request body is larger than the service allows ({MAX_BODY} bytes)"),
        "too many rows": ("POST", "/predict/batch", {"json": [one] * (MAX_ROWS + 1)}, 413, None, "the batch has more rows"),
        "invalid record": ("POST", "/predict", {"json": {**one, "Home": SECRET_TEXT}}, 422, "Home", "must be one of"),
        "bad query parameter": ("POST", f"/predict?explain={SECRET_TEXT}", {"json": one}, 422, "explain", "the query parameter explain"),
    }


@pytest.mark.parametrize("case", ["unknown path", "wrong method", "unknown prediction", "body too large", "too many rows",
                                  "invalid record", "bad query parameter"])
def test_every_error_answers_one_shape_naming_the_field_and_the_rule_never_the_value(service, test_rows: pd.DataFrame,
                                                                                     case: str) -> None:
    method, path, options, status, field, rule = error_cases(test_rows)[case]
    response = httpx.request(method, f"{service.url}{path}", **options)
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["errors"] and len(body["errors"]) >= 1 and all(set(error) <= {"row", "field", "rule"} for error in body["errors"])
    assert body["errors"][0]["field"] == field and body["errors"][0]["rule"].startswith(rule), body
    assert SECRET_TEXT not in response.text


def shown_error_bodies() -> dict[int, list[dict]]:
    """docs/reference/http-api.md's table of errors: {status: the example bodies it shows}."""
    page = (svc.ROOT / "docs/reference/http-api.md").read_text().split("## Errors\n")[1].split("\n## ")[0]
    shown: dict[int, list[dict]] = {}
    for status, body in re.findall(r"^\| (\d{3}) \|.*\| `(\{.*\})` \|$", page, flags=re.M):
        shown.setdefault(int(status), []).append(json.loads(body))
    return shown


def test_the_http_api_page_shows_the_error_bodies_the_service_answers(service, test_rows: pd.DataFrame) -> None:
    shown = shown_error_bodies()
    one = record(test_rows)
    answered = [httpx.post(f"{service.url}/feedback", json={"prediction_id": "0" * 32, "outcome": "bad"}),
                httpx.get(f"{service.url}/nowhere"), httpx.get(f"{service.url}/predict"),
                httpx.post(f"{service.url}/predict/batch", json=[one] * (MAX_ROWS + 1)),
                httpx.post(f"{service.url}/predict/batch", json=[one, {**one, "Income": -1}])]
    for response in answered:
        assert response.json() in shown[response.status_code], (response.status_code, response.text)
    # 401, 500 and 503 are checked against the page by the tests that provoke them, below.
    assert {response.status_code for response in answered} | {401, 500, 503} == set(shown)


@pytest.mark.parametrize("path", svc.RUNTIMES)
def test_serve_says_which_setting_came_from_where_and_which_runtime_answers(services, small_repo: Path, path: str) -> None:
    service = services(path)
    # The fixture passes --model and --port (and --runtime for scikit-learn), its folder has a
    # params.yaml: the rest comes from there or is built in.
    flags, built_in = (("--model, --port", "host, workers, runtime") if path == "onnxruntime" else
                       ("--model, --port, --runtime", "host, workers"))
    lines = service.errors.splitlines()
    assert lines[0] == (f"settings: {flags} from flags; serve.log, serve.max_body_bytes, serve.max_rows, serve.key_file "
                        f"from ./params.yaml; {built_in} built in")
    version = load_bundle(small_repo / "models/bundle", runtime="scikit-learn").version
    said = "onnxruntime" if path == "onnxruntime" else "scikit-learn: the service was started with --runtime scikit-learn"
    assert lines[1] == (f"serving model {version} from {small_repo / 'models/bundle'} on {service.url} "
                        f"(log: logs/predictions.sqlite; {said})")


@pytest.mark.parametrize("path", svc.RUNTIMES)
def test_metrics_parse_and_count_requests(services, test_rows: pd.DataFrame, path: str) -> None:
    service = services(path)
    httpx.post(f"{service.url}/predict", json=record(test_rows))
    families = {family.name: family for family in text_string_to_metric_families(httpx.get(f"{service.url}/metrics").text)}
    requests = {(s.labels["endpoint"], s.labels["status"]): s.value for s in families["tabular_mlops_requests"].samples
                if s.name.endswith("_total")}
    assert requests[("/predict", "200")] >= 1
    assert {"tabular_mlops_request_seconds", "tabular_mlops_errors", "tabular_mlops_score"} <= set(families)
    scores = [s for s in families["tabular_mlops_score"].samples if s.name.endswith("_count")]
    assert scores[0].value >= 1


@pytest.mark.parametrize("path", svc.RUNTIMES)
def test_version_names_the_model_its_data_its_test_metrics_and_the_runtime(services, small_repo: Path, path: str) -> None:
    version = httpx.get(f"{services(path).url}/version").json()
    manifest = json.loads((small_repo / "models/bundle/manifest.json").read_text())
    assert version["model_sha256"] == manifest["model_sha256"]
    assert version["training_data_sha256"] == manifest["model"]["training_data_sha256"]
    assert version["metrics"] == manifest["metrics"]["test"] and version["threshold"] == manifest["threshold"]
    assert manifest["compiled"]["file"] == "model.onnx"  # the bundle has a compiled model: the default path runs it
    assert version["runtime"] == ({"path": "onnxruntime", "reason": None} if path == "onnxruntime" else
                                  {"path": "scikit-learn", "reason": "the service was started with --runtime scikit-learn"})


@pytest.mark.parametrize("path", svc.RUNTIMES)
def test_feedback_reaches_read_scored(services, small_repo: Path, test_rows: pd.DataFrame, path: str) -> None:
    service = services(path)
    started = pd.Timestamp.now(tz="UTC")
    answers = httpx.post(f"{service.url}/predict/batch", json=as_records(test_rows)[:3]).json()["predictions"]
    first, second = answers[0]["prediction_id"], answers[1]["prediction_id"]
    assert httpx.post(f"{service.url}/feedback", json={"prediction_id": first, "outcome": "bad"}).status_code == 200
    assert httpx.post(f"{service.url}/feedback", json={"prediction_id": "0" * 32, "outcome": "bad"}).status_code == 404
    refused = httpx.post(f"{service.url}/feedback", json={"prediction_id": second, "outcome": SECRET_TEXT})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "outcome" and SECRET_TEXT not in refused.text
    window = read_scored(service.log, since=started)
    window = window[window["prediction_id"].isin([a["prediction_id"] for a in answers])].set_index("prediction_id")
    assert len(window) == 3
    assert window.loc[first, "Status"] == "bad" and pd.isna(window.loc[second, "Status"])
    # The model's inputs, then Marital: protected, not an input, logged for the monitor's group comparisons.
    inputs = json.loads((small_repo / "models/bundle/manifest.json").read_text())["model"]["input_columns"]
    assert list(window.columns[:13]) == inputs + ["Marital"] and set(inputs + ["Marital"]) == set(test_rows.columns.drop("Status"))
    assert list(window["Marital"]) == list(test_rows["Marital"].head(3))
    assert {"probability", "decision", "unseen_categories", "time"} <= set(window.columns)
    assert window.loc[first, "probability"] == answers[0]["probability"] and window.loc[first, "unseen_categories"] == ""
    assert window["Income"].dtype == "float64" and window.loc[first, "Home"] == test_rows.loc[0, "Home"]
    assert read_scored(service.log, until=started).pipe(lambda old: not old["prediction_id"].isin(window.index).any())
    assert read_scored(service.log, model_version="none of these").empty


@pytest.mark.parametrize("path", svc.RUNTIMES)
def test_fuzzing_the_openapi_schema_gives_no_server_error(services, path: str) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from schemathesis import GenerationMode

    from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance

    service = services(path)
    schema = schemathesis.openapi.from_url(f"{service.url}/openapi.json")
    strategy = st.one_of(schema.as_strategy(GenerationMode.POSITIVE), schema.as_strategy(GenerationMode.NEGATIVE))
    statuses = []

    @settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def no_server_error(case) -> None:
        response = case.call(base_url=service.url)
        statuses.append(response.status_code)
        assert response.status_code < 500, f"{case.method} {case.path}: {response.status_code}"
        # Every status answered is documented, and every documented body (the errors' shape) is what comes back.
        case.validate_response(response, checks=[not_a_server_error, status_code_conformance, response_schema_conformance])

    no_server_error()
    assert 200 in statuses and 422 in statuses


@pytest.fixture
def bundle_copy(small_repo: Path, tmp_path: Path) -> Path:
    destination = tmp_path / "bundle"
    shutil.copytree(small_repo / "models/bundle", destination)
    return destination


@pytest.mark.parametrize("path", svc.RUNTIMES)
def test_a_key_guards_every_endpoint_but_health_and_an_unseen_category_is_scored_and_flagged(
        small_repo: Path, bundle_copy: Path, tmp_path: Path, test_rows: pd.DataFrame, path: str) -> None:
    # The contract allows a Home the model never saw in training (the manifest's sha256 covers the model only).
    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    manifest["contract"]["columns"]["Home"]["categories"].append("houseboat")
    manifest["model"]["libraries"]["scikit-learn"] = "0.24.2"  # and another library version: a warning, not a refusal
    (bundle_copy / "manifest.json").write_text(json.dumps(manifest))
    key = "k3y-for-tests"
    running = svc.start(bundle_copy, svc.working_folder(tmp_path / "run", small_repo / "params.yaml"), *svc.runtime_arguments(path),
                        api_key=key)
    try:
        assert httpx.get(f"{running.url}/health").status_code == 200
        refused = {"errors": [{"field": None, "rule": "the X-API-Key header is missing or wrong"}]}
        for method, endpoint in (("GET", "/ready"), ("GET", "/version"), ("GET", "/metrics"), ("POST", "/predict"), ("GET", "/docs")):
            missing = httpx.request(method, f"{running.url}{endpoint}")
            wrong = httpx.request(method, f"{running.url}{endpoint}", headers={"X-API-Key": SECRET_TEXT})
            assert (missing.status_code, missing.json()) == (wrong.status_code, wrong.json()) == (401, refused)
        assert shown_error_bodies()[401] == [refused]
        answer = httpx.post(f"{running.url}/predict", json=record(test_rows, Home="houseboat"), headers={"X-API-Key": key})
        assert answer.status_code == 200, answer.text
        assert answer.json()["unseen_categories"] == ["Home"] and 0 <= answer.json()["probability"] <= 1
        # An unseen category is scored as the pipeline scores it (its one-hot columns all zero, or the infrequent one).
        unseen_row = test_rows.head(1).drop(columns=["Status"]).assign(Home="houseboat")
        expected = joblib.load(small_repo / "models/model.joblib").predict_proba(unseen_row)[0, 1]
        assert abs(answer.json()["probability"] - expected) <= (0 if path == "scikit-learn" else BOUND)
        assert httpx.get(f"{running.url}/version", headers={"X-API-Key": key}).json()["runtime"]["path"] == path
        assert "warning: scikit-learn 0.24.2 trained the model but" in running.errors
    finally:
        assert running.stop() in svc.STOPPED


def test_a_tampered_bundle_is_refused_at_start_up_with_one_line(bundle_copy: Path, small_repo: Path, tmp_path: Path) -> None:
    model = bundle_copy / "model.joblib"
    model.write_bytes(model.read_bytes() + b"\0")
    folder = svc.working_folder(tmp_path / "run", small_repo / "params.yaml")
    result = subprocess.run(svc.serve_command(bundle_copy, svc.free_port()), cwd=folder, env=svc.environment(),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ") and "does not match" in result.stderr


def test_a_changed_or_missing_compiled_model_is_refused_naming_it_and_scikit_learn_still_serves_the_bundle(
        bundle_copy: Path, small_repo: Path, tmp_path: Path, test_rows: pd.DataFrame,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from tabular_mlops.cli import main

    compiled = bundle_copy / "model.onnx"
    data = bytearray(compiled.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit, after bundling: the manifest still names the old sha256
    compiled.write_bytes(bytes(data))
    refusal = (f"{compiled}: missing, or its sha256 does not match {bundle_copy / 'manifest.json'}; refusing to load it "
               "(rebuild the bundle, or serve with --runtime scikit-learn)")
    with pytest.raises(StageError) as refused:
        load_bundle(bundle_copy)
    assert str(refused.value) == refusal
    folder = svc.working_folder(tmp_path / "run", small_repo / "params.yaml")
    monkeypatch.chdir(folder)
    monkeypatch.delenv("TABULAR_MLOPS_RUNTIME", raising=False)
    # In-process: `serve` refuses while loading the bundle, before it starts uvicorn.
    assert main(["serve", "--model", str(bundle_copy), "--port", str(svc.free_port())]) == 2
    assert capsys.readouterr().err == f"error: {refusal}\n"

    # The pickle is verified on its own: the pipeline serves the bundle, and says why.
    running = svc.start(bundle_copy, folder, "--runtime", "scikit-learn")
    try:
        assert svc.answering_runtime(running) == {"path": "scikit-learn", "reason": "the service was started with --runtime scikit-learn"}
        answer = httpx.post(f"{running.url}/predict", json=record(test_rows))
        assert answer.status_code == 200, answer.text
        pipeline = joblib.load(small_repo / "models/model.joblib")
        assert answer.json()["probability"] == pipeline.predict_proba(test_rows.head(1).drop(columns=["Status"]))[0, 1]
    finally:
        assert running.stop() in svc.STOPPED, running.errors
    compiled.unlink()  # gone altogether: the same refusal
    with pytest.raises(StageError, match=f"^{compiled}: missing, or its sha256 does not match"):
        load_bundle(bundle_copy)


def test_ready_is_503_until_the_bundle_is_loaded(small_repo: Path, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from tabular_mlops.serving.app import Settings, create_app

    settings = Settings(model=str(small_repo / "models/bundle"), lock=None, log=str(tmp_path / "log.sqlite"),
                        max_body_bytes=MAX_BODY, max_rows=MAX_ROWS)
    app = create_app(settings)
    client = TestClient(app)  # outside `with`: the start-up task has not run
    assert client.get("/health").status_code == 200 and client.get("/ready").status_code == 503
    not_ready = client.post("/predict", json={})
    assert not_ready.status_code == 503 and [not_ready.json()] == shown_error_bodies()[503]
    with TestClient(app) as started:
        deadline = time.monotonic() + 30
        while started.get("/ready").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started.get("/ready").status_code == 200


@pytest.mark.parametrize("path", svc.RUNTIMES)
def test_an_unexpected_error_is_a_generic_500(small_repo: Path, tmp_path: Path, test_rows: pd.DataFrame,
                                              monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, path: str) -> None:
    from fastapi.testclient import TestClient

    from tabular_mlops.deployment.artifact import Bundle
    from tabular_mlops.serving.app import Settings, create_app

    def broken(self, frame):
        raise RuntimeError(f"{SECRET_TEXT} in /srv/private/path.py")

    # Only the method the path scores with: a request that took the other path would answer 200.
    monkeypatch.setattr(Bundle, "predict_records" if path == "onnxruntime" else "predict", broken)
    settings = Settings(model=str(small_repo / "models/bundle"), lock=None, log=str(tmp_path / "log.sqlite"),
                        max_body_bytes=MAX_BODY, max_rows=MAX_ROWS, runtime="auto" if path == "onnxruntime" else path)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        while client.get("/ready").status_code != 200:
            time.sleep(0.05)
        response = client.post("/predict", json=record(test_rows))
    assert response.status_code == 500
    assert [response.json()] == shown_error_bodies()[500] == [{"errors": [{"field": None, "rule": "internal error; the server log has the details"}]}]
    assert SECRET_TEXT in caplog.text  # logged server-side, with its traceback


def test_concurrent_requests_are_all_logged_once_and_sigterm_loses_no_answered_request(
        small_repo: Path, tmp_path: Path, test_rows: pd.DataFrame) -> None:
    # One worker: two start in ~20 s on the shared 2-core machine; several connections writing
    # at once are covered by test_prediction_log.py. The default path only: what is checked (the
    # log's commit before each answer, the drain on SIGTERM) comes after either path's prediction.
    running = svc.start(small_repo / "models/bundle", svc.working_folder(tmp_path / "run", small_repo / "params.yaml"))
    rows = as_records(test_rows)
    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)

    def send(client: httpx.Client, number: int) -> tuple[int, str | None]:
        try:
            response = client.post(f"{running.url}/predict", json=rows[number % len(rows)])
            return response.status_code, response.json().get("prediction_id")
        except httpx.HTTPError:
            return 0, None

    try:
        assert svc.answering_runtime(running)["path"] == "onnxruntime"
        with httpx.Client(limits=limits, timeout=30) as client, ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda number: send(client, number), range(200)))
        assert [status for status, _ in answers] == [200] * 200
        with sqlite3.connect(running.log) as log:
            logged = [row[0] for row in log.execute("SELECT prediction_id FROM predictions")]
        assert sorted(logged) == sorted(prediction_id for _, prediction_id in answers)

        # A load in flight, then SIGTERM: whatever was answered 200 is in the log exactly once.
        stop = threading.Event()
        answered: list[str] = []

        def load(client: httpx.Client) -> None:
            while not stop.is_set():
                status, prediction_id = send(client, len(answered))
                if status == 200:
                    answered.append(prediction_id)
                elif status == 0:
                    return

        with httpx.Client(limits=limits, timeout=30) as client, ThreadPoolExecutor(16) as pool:
            for _ in range(16):
                pool.submit(load, client)
            time.sleep(1.0)
            assert running.stop() in svc.STOPPED
            stop.set()
    finally:
        running.process.kill()
    assert len(answered) > 0 and "Traceback" not in running.errors
    with sqlite3.connect(running.log) as log:
        counts = dict(log.execute("SELECT prediction_id, COUNT(*) FROM predictions GROUP BY prediction_id"))
    assert all(counts.get(prediction_id) == 1 for prediction_id in answered)

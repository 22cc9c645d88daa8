"""`POST /predict?explain=true` and `/predict/batch?explain=true` against the real service on conftest's `small_repo` bundle."""
from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import httpx
import pandas as pd
import pytest

from tabular_mlops.deployment.artifact import load_bundle
from tests import service as svc
from tests.test_service import as_records

pytestmark = pytest.mark.slow
TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def test_rows(small_repo: Path) -> pd.DataFrame:
    return pd.read_parquet(small_repo / "data/prepared/test.parquet").head(30).reset_index(drop=True)


@pytest.fixture(scope="module")
def service(small_repo: Path, tmp_path_factory: pytest.TempPathFactory):
    folder = svc.working_folder(tmp_path_factory.mktemp("service"), small_repo / "params.yaml")
    running = svc.start(small_repo / "models/bundle", folder)
    yield running
    assert running.stop() in svc.STOPPED, running.errors
    assert "Traceback" not in running.errors


def in_output_space(space: str, probability: float) -> float:
    """The plain answer's probability where the explanation adds up: an independent link."""
    return math.log(probability / (1 - probability)) if space == "log_odds" else probability


def test_explained_answers_add_up_to_the_plain_answers_output(service, small_repo: Path, test_rows: pd.DataFrame) -> None:
    bundle = load_bundle(small_repo / "models/bundle")
    positive = bundle.manifest["model"]["positive_class"]
    # Plain answers come from the compiled model, explained ones from the pipeline (explanations are
    # scikit-learn's): the comparison below crosses the two paths.
    assert svc.answering_runtime(service)["path"] == "onnxruntime"
    refusals = 0
    for record in as_records(test_rows):
        plain = httpx.post(f"{service.url}/predict", json=record)
        explained = httpx.post(f"{service.url}/predict", params={"explain": "true"}, json=record)
        assert plain.status_code == explained.status_code == 200, explained.text
        plain, explained = plain.json(), explained.json()
        explanation = explained.pop("explanation")
        assert "explanation" not in plain
        assert {k: v for k, v in explained.items() if k != "prediction_id"} == {k: v for k, v in plain.items() if k != "prediction_id"}
        assert explanation["output_space"] == bundle.explainer.output_space
        contributions = explanation["contributions"]
        assert [entry["column"] for entry in contributions] != [] and \
            sorted(entry["column"] for entry in contributions) == sorted(bundle.input_columns)
        sizes = [abs(entry["contribution"]) for entry in contributions]
        assert sizes == sorted(sizes, reverse=True)
        assert all(entry["value"] == record[entry["column"]] for entry in contributions)
        total = explanation["base_value"] + sum(entry["contribution"] for entry in contributions)
        assert total == pytest.approx(explanation["output"], abs=TOLERANCE)
        assert explanation["output"] == pytest.approx(in_output_space(explanation["output_space"], plain["probability"]), abs=1e-9)
        if plain["decision"] == positive:
            refusals += 1
            codes = explanation["reason_codes"]
            assert 0 < len(codes) <= 4 and all(code["contribution"] > 0 for code in codes)
            assert all(code["value"] == record[code["column"]] for code in codes)
            assert [code["contribution"] for code in codes] == sorted((code["contribution"] for code in codes), reverse=True)
        else:
            assert "reason_codes" not in explanation
    assert 0 < refusals < len(test_rows), "the rows should include refusals and acceptances"


def test_a_batch_explains_each_row_as_a_single_request_does(service, test_rows: pd.DataFrame) -> None:
    records = as_records(test_rows)[:10]
    batch = httpx.post(f"{service.url}/predict/batch?explain=true", json=records)
    assert batch.status_code == 200, batch.text
    plain = httpx.post(f"{service.url}/predict/batch?explain=false", json=records).json()["predictions"]
    for row, answer, alone in zip(records, batch.json()["predictions"], plain):
        single = httpx.post(f"{service.url}/predict?explain=true", json=row).json()["explanation"]
        assert answer["probability"] == alone["probability"] and "explanation" not in alone
        assert answer["explanation"]["output_space"] == single["output_space"]
        assert [entry["column"] for entry in answer["explanation"]["contributions"]] == [entry["column"] for entry in single["contributions"]]
        for mine, theirs in zip(answer["explanation"]["contributions"], single["contributions"]):
            assert mine["contribution"] == pytest.approx(theirs["contribution"], abs=1e-12)
    csv = test_rows.drop(columns=["Status"]).head(3).to_csv(index=False)
    from_csv = httpx.post(f"{service.url}/predict/batch?explain=true", content=csv, headers={"Content-Type": "text/csv"})
    assert from_csv.status_code == 200 and all("explanation" in row for row in from_csv.json()["predictions"])


@pytest.mark.parametrize("query", ["explain=", "explain=maybe", "explain=TRUE", "explain=1", "explain=true&explain=false"])
@pytest.mark.parametrize("path", ["/predict", "/predict/batch"])
def test_an_explain_value_other_than_true_or_false_is_a_422_naming_explain(service, test_rows: pd.DataFrame, path: str, query: str) -> None:
    record = as_records(test_rows)[0]
    response = httpx.post(f"{service.url}{path}?{query}", json=record if path == "/predict" else [record])
    assert response.status_code == 422, response.text
    assert [error["field"] for error in response.json()["errors"]] == ["explain"]


def test_explanations_are_not_logged(service, test_rows: pd.DataFrame) -> None:
    record = as_records(test_rows)[0]
    answer = httpx.post(f"{service.url}/predict?explain=true", json=record).json()
    with sqlite3.connect(service.log) as connection:
        (outputs,) = connection.execute("SELECT outputs FROM predictions WHERE prediction_id = ?", (answer["prediction_id"],)).fetchone()
    assert "contribution" not in outputs and "output_space" not in outputs and "reason" not in outputs

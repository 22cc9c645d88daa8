"""Shadow scoring against the real service: `serve --shadow-model` on conftest's `small_repo` bundle
and a second bundle made from it (its coefficients halved)."""
from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tabular_mlops.deployment.artifact import load_bundle
from tabular_mlops.deployment.prediction_log import SCHEMA, read_scored
from tests import service as svc
from tests.test_service import as_records

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def test_rows(small_repo: Path) -> pd.DataFrame:
    return pd.read_parquet(small_repo / "data/prepared/test.parquet").head(20).reset_index(drop=True)


@pytest.fixture(scope="module")
def challenger(small_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return svc.variant_bundle(small_repo / "models/bundle", tmp_path_factory.mktemp("challenger") / "bundle")


def answers(service: svc.Service, records: list[dict]) -> list[dict]:
    """Each record alone, then all in one batch: the bodies without their prediction_id."""
    bodies = [httpx.post(f"{service.url}/predict", json=record).json() for record in records]
    bodies += httpx.post(f"{service.url}/predict/batch", json=records).json()["predictions"]
    return [{key: value for key, value in body.items() if key != "prediction_id"} for body in bodies]


def wait_for_the_challenger(service: svc.Service) -> dict:
    """/version once the challenger has loaded (it loads beside the champion, in the background)."""
    deadline = time.monotonic() + 30
    while (version := httpx.get(f"{service.url}/version").json())["shadow"]["model_version"] is None:
        assert time.monotonic() < deadline, "the challenger did not load"
        time.sleep(0.1)
    return version


def shadow_failures(service: svc.Service) -> dict[str, float]:
    text = httpx.get(f"{service.url}/metrics").text
    return {sample.labels["kind"]: sample.value for family in text_string_to_metric_families(text)
            for sample in family.samples if sample.name == "tabular_mlops_shadow_failures_total"}


def test_the_champion_answers_alike_with_a_shadow_and_the_challenger_scores_every_request(
        small_repo: Path, challenger: Path, test_rows: pd.DataFrame, tmp_path: Path) -> None:
    records = as_records(test_rows)
    plain = svc.start(small_repo / "models/bundle", svc.working_folder(tmp_path / "plain", small_repo / "params.yaml"))
    try:
        without_shadow = answers(plain, records)
    finally:
        assert plain.stop() in svc.STOPPED, plain.errors
    shadowed = svc.start(small_repo / "models/bundle", svc.working_folder(tmp_path / "shadowed", small_repo / "params.yaml"),
                         "--shadow-model", str(challenger))
    try:
        with_shadow = answers(shadowed, records)  # sent while the challenger may still be loading: queued
        version = wait_for_the_challenger(shadowed)
    finally:
        assert shadowed.stop() in svc.STOPPED, shadowed.errors  # drains the shadow queue before the log closes
    assert json.dumps(with_shadow) == json.dumps(without_shadow)  # byte for byte, minus the ids
    champion, second = load_bundle(small_repo / "models/bundle"), load_bundle(challenger)
    assert version["shadow"]["model_version"] == second.version != champion.version and version["registry"] is None
    assert "Traceback" not in shadowed.errors and " failed" not in shadowed.errors

    logged = read_scored(shadowed.log, shadow=True)
    assert len(logged) == 2 * len(records) and logged["prediction_id"].is_unique
    assert set(logged["shadow_model_version"]) == {second.version}
    # The challenger's logged outputs are its own predictions, computed here independently, row by row.
    expected = pd.concat([second.predict(test_rows.iloc[[row]]) for row in range(len(test_rows))] * 2, ignore_index=True)
    assert logged["shadow:probability"].tolist() == pytest.approx(expected["probability"].tolist(), abs=1e-12)
    assert logged["shadow:decision"].tolist() == expected["decision"].tolist()
    assert logged["probability"].tolist() == [answer["probability"] for answer in with_shadow]
    assert (logged["shadow:probability"] != logged["probability"]).all()  # another model indeed
    plain_log = read_scored(plain.log, shadow=True)
    assert len(plain_log) == 2 * len(records) and plain_log["shadow_model_version"].isna().all()


def test_a_failing_challenger_never_changes_an_answer_and_is_counted_and_logged_once(
        small_repo: Path, test_rows: pd.DataFrame, tmp_path: Path) -> None:
    broken = svc.variant_bundle(small_repo / "models/bundle", tmp_path / "broken", extra_feature=True)
    records = as_records(test_rows)[:5]
    service = svc.start(small_repo / "models/bundle", svc.working_folder(tmp_path / "work", small_repo / "params.yaml"),
                        "--shadow-model", str(broken))
    try:
        bodies = [httpx.post(f"{service.url}/predict", json=record) for record in records]
        assert [body.status_code for body in bodies] == [200] * len(records)
        deadline = time.monotonic() + 20
        while shadow_failures(service).get("score", 0) < len(records) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert shadow_failures(service) == {"score": len(records)}
    finally:
        assert service.stop() in svc.STOPPED, service.errors
    expected = load_bundle(small_repo / "models/bundle").predict(test_rows.head(5))
    assert [body.json()["probability"] for body in bodies] == pytest.approx(expected["probability"].tolist(), abs=1e-12)
    assert service.errors.count("shadow: score failed") == 1 and "Traceback" not in service.errors
    logged = read_scored(service.log, shadow=True)
    assert len(logged) == len(records) and logged["shadow_model_version"].isna().all()


def test_a_log_written_before_shadows_existed_still_reads(tmp_path: Path) -> None:
    old_schema = SCHEMA.split("CREATE TABLE IF NOT EXISTS shadow_predictions")[0]
    connection = sqlite3.connect(tmp_path / "old.sqlite")
    connection.executescript(old_schema)
    connection.execute("INSERT INTO models VALUES ('m1', 'y', ?)", (json.dumps({"target": "y", "columns": {
        "x": {"type": "float", "nullable": False}, "y": {"type": "category", "nullable": False, "categories": ["a", "b"]}}}),))
    connection.execute("INSERT INTO predictions VALUES ('p1', '2026-01-01T00:00:00.000000+00:00', 'm1', '{\"x\": 1.5}', "
                       "'{\"probability\": 0.25, \"decision\": \"a\", \"unseen_categories\": []}', 'a')")
    connection.commit()
    connection.close()
    table = read_scored(tmp_path / "old.sqlite", shadow=True)
    assert table["probability"].tolist() == [0.25] and table["shadow_model_version"].isna().all()

"""Scorecard points (deployment/scorecard.py): the published convention, the bundle's outputs on both
runtimes, the service's answer, and the monitor's PSI of the score."""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tabular_mlops.deployment.artifact import load_bundle
from tabular_mlops.deployment.scorecard import scorecard_points

SPEC = {"points_to_double_odds": 20.0, "base_score": 600.0, "base_odds": 50.0}


def probability_at(odds: np.ndarray) -> np.ndarray:
    """The positive class's probability whose odds against it are `odds`: odds = (1 - p) / p."""
    return 1 / (1 + np.asarray(odds, dtype=np.float64))


def test_doubling_the_odds_adds_exactly_the_points_to_double_them():
    odds = np.array([0.01, 0.5, 1.0, 3.0, 50.0, 1000.0])
    gained = scorecard_points(probability_at(2 * odds), SPEC) - scorecard_points(probability_at(odds), SPEC)
    np.testing.assert_allclose(gained, 20.0, rtol=0, atol=1e-9)


def test_the_published_factor_and_offset():
    """Siddiqi's worked case: 600 points at odds 50:1, 20 points to double them: factor = 20 / ln 2 =
    28.8539, offset = 600 - 28.8539 x ln 50 = 487.1229; so odds of 1:1 score the offset."""
    assert scorecard_points(probability_at([50.0]), SPEC)[0] == pytest.approx(600.0, abs=1e-9)
    assert scorecard_points(np.array([0.5]), SPEC)[0] == pytest.approx(487.1229, abs=1e-4)
    assert scorecard_points(probability_at([100.0]), SPEC)[0] == pytest.approx(600 + 20 / math.log(2) * math.log(2), abs=1e-9)
    assert np.isfinite(scorecard_points(np.array([0.0, 1.0]), SPEC)).all()  # clipped, not infinite


@pytest.fixture
def scorecard_bundle(small_repo: Path, tmp_path: Path) -> Path:
    """The small project's bundle with a scorecard, as the bundle stage records it with scorecard.enabled."""
    destination = tmp_path / "bundle"
    shutil.copytree(small_repo / "models/bundle", destination)
    manifest = json.loads((destination / "manifest.json").read_text())
    manifest["scorecard"] = SPEC
    (destination / "manifest.json").write_text(json.dumps(manifest))
    return destination


@pytest.mark.slow
@pytest.mark.parametrize("runtime", ["auto", "scikit-learn"])
def test_the_bundle_scores_points_beside_the_probability_on_both_runtimes(scorecard_bundle: Path, small_repo: Path, runtime: str):
    bundle = load_bundle(scorecard_bundle, runtime=runtime)
    test = pd.read_parquet(small_repo / "data/prepared/test.parquet")
    scored = bundle.scored(test[bundle.input_columns])
    assert list(scored.columns) == ["probability", "decision", "points", "unseen_categories"] == [*bundle.prediction_columns, "unseen_categories"]
    odds = (1 - scored["probability"]) / scored["probability"]
    np.testing.assert_allclose(scored["points"], 600 + 20 * np.log2(odds / 50), rtol=0, atol=1e-8)
    # riskier rows score fewer points
    assert scored["points"].corr(scored["probability"], method="spearman") == pytest.approx(-1.0)


@pytest.mark.slow
def test_the_service_answers_the_points(scorecard_bundle: Path, tmp_path: Path, small_repo: Path):
    from fastapi.testclient import TestClient

    from tabular_mlops.serving.app import Settings, create_app
    from tests.service import json_records

    bundle = load_bundle(scorecard_bundle)
    rows = pd.read_parquet(small_repo / "data/prepared/test.parquet").head(5)
    settings = Settings(model=str(scorecard_bundle), lock=None, log=str(tmp_path / "log.sqlite"), max_body_bytes=1_000_000, max_rows=100)
    with TestClient(create_app(settings)) as client:
        while client.get("/ready").status_code != 200:
            pass
        answers = client.post("/predict/batch", json=json_records(rows, scorecard_bundle)).json()["predictions"]
    expected = bundle.predict(rows)
    assert [answer["points"] for answer in answers] == pytest.approx(expected["points"].tolist(), abs=1e-9)
    assert all(set(answer) >= {"probability", "decision", "points"} for answer in answers)


@pytest.mark.slow
def test_the_monitor_reports_the_scores_psi_and_counts_it_once(scorecard_bundle: Path, small_repo: Path):
    """Points are a decreasing function of the probability: quantile-bin PSI is the same for both,
    an independent check of the points' figure; the drift share does not count them."""
    from tabular_mlops.config.params import load_params
    from tabular_mlops.monitoring.check import check_batch
    from tabular_mlops.monitoring.reference import build_reference, scored

    params = load_params(small_repo / "params.yaml")
    bundle = load_bundle(scorecard_bundle)
    train = pd.read_parquet(small_repo / "data/prepared/train.parquet")
    test = pd.read_parquet(small_repo / "data/prepared/test.parquet")
    reference = build_reference(bundle, train, test, 300, 0, params.monitor.calibration)
    assert reference.profile["scorecard"] == SPEC
    batch = scored(bundle, pd.concat([train.head(300), test]).reset_index(drop=True), "Status")
    report = check_batch(batch, reference, params.monitor.model_copy(update={"min_rows": 100}))
    points, probability = report["columns"]["points"], report["columns"]["probability"]
    assert points["psi"] == pytest.approx(probability["psi"], abs=1e-6) and points["psi"] > 0
    assert report["tested_columns"] == sum(1 for name, column in report["columns"].items()
                                           if column["drifted"] is not None and name != "points")

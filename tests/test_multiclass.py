"""Multiclass end to end: a 3-class table (scikit-learn's bundled wine data, 178 rows, 13
measurements) through the bring-your-own-table flow with data.positive_class null.

The reported one-vs-rest ROC-AUC is recomputed by scikit-learn from the saved model on the
test split, so the number a user gates on is checked independently of the pipeline's code.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import joblib
import pandas as pd
import pytest
from sklearn.datasets import load_wine
from sklearn.metrics import brier_score_loss, confusion_matrix, log_loss, roc_auc_score

from tests.dvc_repo import copy_project, dvc, environment, init_git_repo, small_and_fast, update_params

ROOT = Path(__file__).resolve().parents[1]
TABLE = "data/raw/wine.csv"
CLASSES = ["barbera", "barolo", "grignolino"]  # sorted, as the contract lists them

pytestmark = pytest.mark.slow


def write_wine_csv(path: Path) -> None:
    bunch = load_wine(as_frame=True)
    table = bunch.frame.drop(columns="target")
    # The three cultivars of the original study, as text labels a user would have.
    table["cultivar"] = bunch.target.map({0: "barolo", 1: "grignolino", 2: "barbera"})
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)


def configure(params: dict) -> None:
    params["data"].update(path=TABLE, target="cultivar", task="classification", positive_class=None, drop_columns=[])
    small_and_fast(params, ["logistic_regression", "dummy"], [{"metric": "test.roc_auc", "min": 0.9}])
    params["data"]["segment_column"] = None
    params["evaluate"]["cv_folds"] = 3
    params["leaderboard"]["cv_folds"] = 3
    params["train"]["model"] = "auto"


@pytest.fixture(scope="module")
def wine_repo(tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("wine") / "repo"
    copy_project(ROOT, repo)
    write_wine_csv(repo / TABLE)
    update_params(repo, configure)
    drafted = subprocess.run([sys.executable, "-m", "tabular_mlops", "contract", "--force"],
                             cwd=repo, env=environment(), capture_output=True, text=True, timeout=300)
    assert drafted.returncode == 0, drafted.stderr
    init_git_repo(repo)
    result = dvc(repo, "repro")
    assert result.returncode == 0, result.output
    return repo


def read(repo: Path, name: str):
    path = repo / name
    return json.loads(path.read_text()) if name.endswith(".json") else path.read_text()


def test_reported_one_vs_rest_roc_auc_equals_sklearn_on_the_saved_model(wine_repo: Path) -> None:
    model = joblib.load(wine_repo / "models/model.joblib")
    test = pd.read_parquet(wine_repo / "data/prepared/test.parquet")
    assert list(model.classes_) == CLASSES
    probabilities = model.predict_proba(test.drop(columns="cultivar"))
    expected = roc_auc_score(test["cultivar"].astype(str), probabilities, multi_class="ovr", average="macro", labels=CLASSES)
    metrics = read(wine_repo, "metrics/evaluate/metrics.json")
    assert metrics["test"]["roc_auc"] == pytest.approx(expected, abs=1e-6)
    # The AUC of an easy table is near 1: the probability-sensitive scores are checked too.
    target = test["cultivar"].astype(str)
    assert metrics["test"]["log_loss"] == pytest.approx(log_loss(target, probabilities, labels=CLASSES), abs=1e-6)
    assert metrics["test"]["brier"] == pytest.approx(brier_score_loss(target, probabilities, labels=CLASSES), abs=1e-6)
    assert metrics["test"]["log_loss"] > 0.01
    assert metrics["test"]["roc_auc"] > 0.9 and metrics["over_baseline"]["roc_auc"] == pytest.approx(expected - 0.5, abs=1e-6)
    assert "threshold" not in metrics
    assert set(metrics["cv"]) == {f"{name}_{stat}" for name in ("roc_auc", "log_loss", "brier", "accuracy", "f1_macro") for stat in ("mean", "std")}
    assert read(wine_repo, "metrics/gates.json")["passed"] is True
    assert read(wine_repo, "metrics/leaderboard.json")["metric"] == "roc_auc"


def test_confusion_matrix_covers_the_three_classes_at_the_most_probable_class(wine_repo: Path) -> None:
    rows = read(wine_repo, "metrics/evaluate/plots/sklearn/confusion_matrix.json")  # dvclive: one row per test row
    test = pd.read_parquet(wine_repo / "data/prepared/test.parquet")
    model = joblib.load(wine_repo / "models/model.joblib")
    assert {row["actual"] for row in rows} == set(CLASSES) and len(rows) == len(test)
    plotted = confusion_matrix([row["actual"] for row in rows], [row["predicted"] for row in rows], labels=CLASSES)
    direct = confusion_matrix(test["cultivar"].astype(str), model.predict(test.drop(columns="cultivar")), labels=CLASSES)
    assert (plotted == direct).all()
    assert not (wine_repo / "metrics/evaluate/plots/sklearn/roc.json").exists()


def test_model_card_names_the_three_classes_and_no_threshold(wine_repo: Path) -> None:
    card = read(wine_repo, "metrics/model_card.md")
    assert "probability of each class of cultivar: barbera, barolo, grignolino" in card
    assert "Decision threshold" not in card
    assert "| f1_macro |" in card
    assert read(wine_repo, "models/model.json")["classes"] == CLASSES


def test_leaderboard_ranks_by_one_vs_rest_roc_auc_with_the_prior_dummy_at_one_half(wine_repo: Path) -> None:
    ranking = read(wine_repo, "metrics/leaderboard.json")["ranking"]
    assert [row["family"] for row in ranking] == ["logistic_regression", "dummy"]
    assert ranking[1]["cv_mean"] == 0.5 and ranking[0]["cv_mean"] > 0.9


def test_the_score_stage_writes_each_class_probability_and_the_most_probable_class(wine_repo: Path) -> None:
    scored = pd.read_parquet(wine_repo / "data/scored/batch.parquet")
    model = joblib.load(wine_repo / "models/model.joblib")
    test = pd.read_parquet(wine_repo / "data/prepared/test.parquet")
    probabilities = model.predict_proba(test.drop(columns="cultivar"))
    columns = [f"probability:{label}" for label in CLASSES]
    assert scored[columns].to_numpy() == pytest.approx(probabilities, abs=1e-12)
    assert list(scored["decision"]) == [CLASSES[index] for index in probabilities.argmax(axis=1)]
    assert list(scored["cultivar"].astype(str)) == list(test["cultivar"].astype(str))  # the labels pass through

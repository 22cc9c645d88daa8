"""Multiclass end to end: a 3-class table (scikit-learn's bundled wine data, 178 rows, 13
measurements) through the bring-your-own-table flow with data.positive_class null.

The reported one-vs-rest ROC-AUC is recomputed by scikit-learn from the saved model on the
test split, so the number a user gates on is checked independently of the pipeline's code.
A harder 3-class table (the credit table's Home) goes through the same flow with the shipped
gates: the leaderboard's winner passes them, the dummy fails them.
"""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.datasets import load_wine
from sklearn.metrics import brier_score_loss, confusion_matrix, log_loss, roc_auc_score

from tabular_mlops.compiled.compile import BOUND
from tests import service as svc
from tests.dvc_repo import DvcResult, commit, copy_project, draft_contract, dvc, environment, init_git_repo, small_and_fast, update_params

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


@pytest.mark.parametrize("path", svc.RUNTIMES)
def test_the_service_answers_each_class_probability_and_the_most_probable_class_on_either_path(
        wine_repo: Path, tmp_path: Path, path: str) -> None:
    bundle = wine_repo / "models/bundle"
    test = pd.read_parquet(wine_repo / "data/prepared/test.parquet")
    records = svc.json_records(test, bundle)
    one, batch = svc.answers_on(path, bundle, wine_repo / "params.yaml", tmp_path / "serve", records)
    model = joblib.load(wine_repo / "models/model.joblib")
    inputs = test.drop(columns="cultivar")
    # The pipeline's own predict_proba on the same rows in the same batches: the same bits on its
    # own path, within the bound the compiled model was verified to on the other.
    for answers, expected in (([one], model.predict_proba(inputs.head(1))),
                              (batch, model.predict_proba(inputs))):
        assert all(list(answer["probabilities"]) == CLASSES for answer in answers)
        served = np.array([[answer["probabilities"][label] for label in CLASSES] for answer in answers])
        assert np.max(np.abs(served - expected)) <= (0 if path == "scikit-learn" else BOUND)
        assert [answer["decision"] for answer in answers] == [CLASSES[index] for index in expected.argmax(axis=1)]


# --- The default gates on a harder 3-class table: the credit table's Home (owner 55%, rent 25%, parents 20%,
# much as a telco table's contract type), 500 rows. A useful model's multiclass Brier is above 0.20 there.

HOME_TABLE = "data/raw/home.csv"


@dataclass
class GateRuns:
    useful_metrics: dict
    useful_gates: dict
    sklearn_skill: float  # the useful model's Brier skill score, by scikit-learn from the saved model and the splits
    dummy: DvcResult  # `dvc repro gate` with train.model: dummy
    dummy_gates: dict
    metrics_diff: dict  # `dvc metrics diff --json` of the Brier skill score, dummy against the useful model's commit


def sklearn_brier_skill(repo: Path) -> float:
    train, test = (pd.read_parquet(repo / f"data/prepared/{split}.parquet") for split in ("train", "test"))
    model = joblib.load(repo / "models/model.joblib")
    labels = list(model.classes_)
    shares = train["Home"].astype(str).value_counts(normalize=True).reindex(labels).to_numpy()
    target = test["Home"].astype(str)
    brier = brier_score_loss(target, model.predict_proba(test.drop(columns="Home")), labels=labels)
    return 1 - brier / brier_score_loss(target, np.tile(shares, (len(test), 1)), labels=labels)


@pytest.fixture(scope="module")
def gate_runs(tmp_path_factory) -> GateRuns:
    """The bring-your-own-table flow with the shipped gates: `dvc repro gate` with the leaderboard's
    winner, committed, then again with train.model: dummy."""
    repo = tmp_path_factory.mktemp("home") / "repo"
    copy_project(ROOT, repo)
    credit = pd.read_csv(repo / "data/raw/credit.csv")
    credit[credit["Home"].isin(["owner", "rent", "parents"])].sample(n=500, random_state=0).to_csv(repo / HOME_TABLE, index=False)

    def home(params: dict) -> None:
        configure(params)
        params["data"].update(path=HOME_TABLE, target="Home")
        params["gates"] = yaml.safe_load((ROOT / "params.yaml").read_text())["gates"]  # the shipped defaults

    update_params(repo, home)
    assert draft_contract(repo, "--force").returncode == 0
    init_git_repo(repo)
    useful = dvc(repo, "repro", "gate")
    assert useful.returncode == 0, useful.output
    runs = {"useful_metrics": read(repo, "metrics/evaluate/metrics.json"), "useful_gates": read(repo, "metrics/gates.json"),
            "sklearn_skill": sklearn_brier_skill(repo)}
    commit(repo, "the leaderboard's winner")
    update_params(repo, lambda params: params["train"].update(model="dummy"))
    dummy = dvc(repo, "repro", "gate")
    diff = dvc(repo, "metrics", "diff", "--json")
    assert diff.returncode == 0, diff.output
    return GateRuns(**runs, dummy=dummy, dummy_gates=read(repo, "metrics/gates.json"),
                    metrics_diff=json.loads(diff.stdout)["metrics/evaluation/brier_skill.json"])


def test_a_useful_three_class_model_passes_the_default_gates_though_its_brier_is_above_020(gate_runs: GateRuns) -> None:
    metrics = gate_runs.useful_metrics
    assert metrics["test"]["brier"] > 0.20  # the binary-minded bound that the defaults no longer hold
    assert metrics["test"]["brier_skill"] == pytest.approx(gate_runs.sklearn_skill, abs=1e-6)
    assert metrics["baseline"]["brier_skill"] == 0 and metrics["over_baseline"]["brier_skill"] == metrics["test"]["brier_skill"]
    assert "brier_skill_mean" not in metrics["cv"]  # relative to the test split's baseline: not cross-validated
    shipped = yaml.safe_load((ROOT / "params.yaml").read_text())["gates"]["classification"]
    assert [row["metric"] for row in gate_runs.useful_gates["gates"]] == [gate["metric"] for gate in shipped]
    assert gate_runs.useful_gates["passed"] is True


def test_the_dummy_fails_every_default_gate_and_dvc_repro_says_which(gate_runs: GateRuns) -> None:
    assert gate_runs.dummy.returncode != 0
    assert "gate failed (2 of 2): over_baseline.roc_auc = 0 is below the minimum 0.1;" in gate_runs.dummy.output
    assert "test.brier_skill = 0 is below the minimum 0.01" in gate_runs.dummy.output
    assert gate_runs.dummy_gates["passed"] is False and not any(row["passed"] for row in gate_runs.dummy_gates["gates"])


def test_dvc_metrics_diff_shows_the_brier_skill_score(gate_runs: GateRuns) -> None:
    change = gate_runs.metrics_diff["test"]
    assert change["old"] == gate_runs.useful_metrics["test"]["brier_skill"] and change["new"] == 0

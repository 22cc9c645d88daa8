"""Every model family of both tasks, end to end through `dvc exp run -S train.model=...`.

Classification runs on a 600-row sample of the credit table; regression on scikit-learn's
bundled diabetes table (real data, no download), brought in through the documented
bring-your-own-table flow: data.* params, `python -m stages.contract`, commit, `dvc repro`.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from sklearn.datasets import load_diabetes

from stages.train_params import CLASSIFIERS, REGRESSORS
from tests.dvc_repo import copy_project, dvc, environment, init_git_repo

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def update_params(repo: Path, change) -> None:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    change(params)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def commit(repo: Path, message: str) -> None:
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, capture_output=True)
    subprocess.run(["git", "commit", "-qm", message], cwd=repo, check=True, capture_output=True)


def small_and_fast(params: dict, families: list[str], gates: list[dict]) -> None:
    """Two families on the leaderboard and light models, so each experiment takes seconds."""
    params["leaderboard"]["families"] = families
    params["train"]["random_forest"].update(n_estimators=30, n_jobs=1)
    params["train"]["hist_gradient_boosting"]["max_iter"] = 30
    params["train"]["mlp"]["max_iter"] = 200
    params["evaluate"]["importance_repeats"] = 2
    params["gates"] = gates


def run_every_family(repo: Path, families: tuple[str, ...]) -> dict[str, dict]:
    results = {}
    for family in families:
        result = dvc(repo, "exp", "run", "-S", f"train.model={family}")
        assert result.returncode == 0, f"{family}:\n{result.output}"
        assert json.loads((repo / "models/model.json").read_text())["model_family"] == family
        results[family] = json.loads((repo / "metrics/evaluate/metrics.json").read_text())
    return results


@pytest.fixture(scope="module")
def classification_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("classification") / "repo"
    copy_project(ROOT, repo)
    table = pd.read_csv(repo / "data/raw/credit.csv").sample(n=600, random_state=0)
    table.to_csv(repo / "data/raw/credit.csv", index=False)
    update_params(repo, lambda p: small_and_fast(p, ["logistic_regression", "dummy"], [{"metric": "test.roc_auc", "min": 0.55}]))
    init_git_repo(repo)
    result = dvc(repo, "repro")
    assert result.returncode == 0, result.output
    commit(repo, "small credit sample")
    return repo


def test_every_classification_family_runs_through_dvc_exp_run(classification_repo: Path) -> None:
    skilled = [family for family in CLASSIFIERS if family != "dummy"]
    results = run_every_family(classification_repo, tuple(skilled))
    for family, metrics in results.items():
        assert metrics["test"]["roc_auc"] > 0.6, family
    dummy = dvc(classification_repo, "exp", "run", "-S", "train.model=dummy")
    assert dummy.returncode != 0  # the dummy cannot pass the ROC-AUC gate
    assert "gate failed (1 of 1): test.roc_auc = 0.5 is below the minimum 0.55" in dummy.output


def test_random_search_through_dvc_exp_run_writes_the_search_table(classification_repo: Path) -> None:
    result = dvc(classification_repo, "exp", "run", "-S", "train.model=logistic_regression", "-S", "train.search.method=random", "-S", "train.search.n_iter=3")
    assert result.returncode == 0, result.output
    table = json.loads((classification_repo / "metrics/search.json").read_text())
    assert table["method"] == "random" and len(table["candidates"]) == 3
    assert [row["rank"] for row in table["candidates"]] == [1, 2, 3]
    assert table["best_params"] == table["candidates"][0]["params"]
    metadata = json.loads((classification_repo / "models/model.json").read_text())
    assert metadata["hyperparameters"]["C"] == table["best_params"]["C"]


@pytest.fixture(scope="module")
def regression_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("regression") / "repo"
    copy_project(ROOT, repo)
    (repo / "data/contract.yaml").unlink()
    diabetes = load_diabetes(as_frame=True, scaled=False).frame.rename(columns={"target": "progression"})
    diabetes.to_csv(repo / "data/raw/diabetes.csv", index=False)

    def bring_own_table(params: dict) -> None:
        params["data"].update(path="data/raw/diabetes.csv", target="progression", task="regression", positive_class=None)
        params["train"]["model"] = "auto"
        params["evaluate"]["segment_column"] = "sex"
        small_and_fast(params, ["ridge", "dummy"], [{"metric": "test.r2", "min": 0.2}])

    update_params(repo, bring_own_table)
    drafted = subprocess.run([sys.executable, "-m", "stages.contract"], cwd=repo, env=environment(), capture_output=True, text=True)
    assert drafted.returncode == 0, drafted.stderr
    contract = yaml.safe_load((repo / "data/contract.yaml").read_text())
    assert contract["target"] == "progression"
    assert contract["columns"]["progression"]["type"] in ("integer", "float")
    init_git_repo(repo)
    result = dvc(repo, "repro")
    assert result.returncode == 0, result.output
    commit(repo, "diabetes, regression")
    return repo


def test_regression_on_a_bring_your_own_table_reports_regression_metrics_and_plots(regression_repo: Path) -> None:
    metrics = json.loads((regression_repo / "metrics/evaluate/metrics.json").read_text())
    assert set(metrics["test"]) == {"rmse", "mae", "r2"}
    assert metrics["test"]["r2"] > 0.2 and metrics["over_baseline"]["rmse"] > 0
    leaderboard = json.loads((regression_repo / "metrics/leaderboard.json").read_text())
    assert leaderboard["metric"] == "rmse" and leaderboard["best"] == "ridge"
    for plot in ("predicted_vs_actual", "residuals", "importance"):
        assert (regression_repo / f"metrics/evaluate/plots/custom/{plot}.json").is_file()
    assert not (regression_repo / "metrics/evaluate/plots/sklearn").exists()
    segments = json.loads((regression_repo / "metrics/evaluate/segments.json").read_text())
    assert segments["column"] == "sex" and sum(row["rows"] for row in segments["segments"]) > 0


def test_every_regression_family_runs_through_dvc_exp_run(regression_repo: Path) -> None:
    results = run_every_family(regression_repo, tuple(family for family in REGRESSORS if family != "dummy"))
    for family, metrics in results.items():
        assert metrics["test"]["r2"] > 0.2, family
    dummy = dvc(regression_repo, "exp", "run", "-S", "train.model=dummy")
    assert dummy.returncode != 0
    assert "gate failed (1 of 1): test.r2" in dummy.output

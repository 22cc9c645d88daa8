"""Regression end to end: scikit-learn's diabetes table through the bring-your-own-table flow,
every regression family cross-validated by the real pipeline, and a sweep ranked by CV RMSE
that applies the best (`tabular-mlops sweep`)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sklearn.datasets import load_diabetes

from tabular_mlops.config.train_params import REGRESSORS
from tests.dvc_repo import commit, copy_project, dvc, environment, init_git_repo, small_and_fast, update_params
from tests.test_families import ranked, sweep

ROOT = Path(__file__).resolve().parents[1]
SWEPT_REGRESSORS = ("ridge", "hist_gradient_boosting", "dummy")

# With -n 2 the module runs on one worker (conftest's ONE_WORKER_MODULES): its repository is built once.
pytestmark = pytest.mark.slow


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
        params["data"]["segment_column"] = "sex"
        small_and_fast(params, list(REGRESSORS), [{"metric": "test.rmse", "max": 1000.0}])

    update_params(repo, bring_own_table)
    drafted = subprocess.run([sys.executable, "-m", "tabular_mlops", "contract"], cwd=repo, env=environment(), capture_output=True, text=True)
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
    assert metrics["test"]["r2"] > 0.3 and metrics["over_baseline"]["rmse"] > 0
    leaderboard = json.loads((regression_repo / "metrics/leaderboard.json").read_text())
    assert leaderboard["metric"] == "rmse" and leaderboard["best"] not in ("dummy", None)
    assert sorted(row["family"] for row in leaderboard["ranking"]) == sorted(REGRESSORS)  # every regressor ran
    for plot in ("predicted_vs_actual", "residuals", "importance"):
        assert (regression_repo / f"metrics/evaluate/plots/custom/{plot}.json").is_file()
    assert not (regression_repo / "metrics/evaluate/plots/sklearn").exists()
    segments = json.loads((regression_repo / "metrics/evaluate/segments.json").read_text())
    assert segments["column"] == "sex" and sum(row["rows"] for row in segments["segments"]) > 0


def test_sweep_of_regression_families_ranks_them_by_cv_rmse_and_applies_the_best(regression_repo: Path) -> None:
    families = ",".join(SWEPT_REGRESSORS)
    # Chosen on cross-validation: `--metric test.rmse --apply-best` is refused (it would spend the test split).
    result = sweep(regression_repo, "-S", f"train.model={families}", "-j", "2", "--metric", "cv.rmse_mean", "--prefix", "reg", "--apply-best")
    assert result.returncode == 0, result.stdout + result.stderr
    ranking = ranked(result.stdout)
    assert len(ranking) == len(SWEPT_REGRESSORS)
    values = [value for _, value in ranking]
    assert values == sorted(values)  # lower RMSE is better
    best_family = SWEPT_REGRESSORS[int(ranking[0][0].rsplit("-", 1)[1]) - 1]
    assert json.loads((regression_repo / "models/model.json").read_text())["model_family"] == best_family
    assert best_family != "dummy"

"""Every model family of both tasks, end to end through `dvc exp run -S train.model=...`,
queued and run in parallel by the documented sweep command (`tabular-mlops sweep`).

Classification runs on a 600-row sample of the credit table; regression on scikit-learn's
bundled diabetes table (real data, no download), brought in through the documented
bring-your-own-table flow: data.* params, `tabular-mlops contract`, commit, `dvc repro`.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sklearn.datasets import load_diabetes

from tabular_mlops.config.train_params import CLASSIFIERS, REGRESSORS
from tests.dvc_repo import commit, committed_variant, copy_project, dvc, environment, init_git_repo, small_and_fast, update_params

ROOT = Path(__file__).resolve().parents[1]

# With -n 2 the module runs on one worker (conftest's ONE_WORKER_MODULES): each
# module-scoped repository is built once.
pytestmark = pytest.mark.slow


def sweep(repo: Path, *arguments: str) -> subprocess.CompletedProcess:
    """`tabular-mlops sweep`, the documented sweep command, run in the temporary repository."""
    command = [sys.executable, "-m", "tabular_mlops", "sweep", *arguments]
    return subprocess.run(command, cwd=repo, env=environment(), capture_output=True, text=True, timeout=1800)


def ranked(output: str) -> list[tuple[str, float]]:
    """(experiment, metric value) from the sweep's ranking lines, best first."""
    rows = []
    for line in output.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0].rstrip(".").isdigit() and "=" in parts[2]:
            rows.append((parts[1], float(parts[2].split("=")[1])))
    return rows


@pytest.fixture(scope="module")
def classification_repo(small_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small reproduced credit repository (600 rows), with one gate the dummy alone misses."""
    def one_gate(params: dict) -> None:
        params["gates"] = [{"metric": "test.roc_auc", "min": 0.55}]

    return committed_variant(small_repo, tmp_path_factory.mktemp("classification") / "repo", one_gate, "one gate")


def test_sweep_of_every_classification_family_fails_naming_the_dummy_and_ranks_the_rest(classification_repo: Path) -> None:
    families = ",".join(CLASSIFIERS)
    # No --metric: the default, the task's cross-validated primary metric (cv.roc_auc_mean).
    result = sweep(classification_repo, "-S", f"train.model={families}", "-j", "2", "--prefix", "cls")
    assert result.returncode == 1, result.stdout + result.stderr
    dummy = f"cls-{CLASSIFIERS.index('dummy') + 1}"
    assert f"error: experiment {dummy} (train.model=dummy) failed" in result.stderr
    assert "gate failed (1 of 1): test.roc_auc = 0.5 is below the minimum 0.55" in result.stderr
    ranking = ranked(result.stdout)
    assert len(ranking) == len(CLASSIFIERS) - 1 and dummy not in dict(ranking)
    assert all(f"{name}  cv.roc_auc_mean=" in result.stdout for name, _ in ranking)
    values = [value for _, value in ranking]
    assert values == sorted(values, reverse=True) and min(values) > 0.6
    assert "Running" in result.stdout and "Success" in result.stdout  # progress was shown


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
        params["data"]["segment_column"] = "sex"
        small_and_fast(params, ["ridge", "dummy"], [{"metric": "test.rmse", "max": 1000.0}])

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
    assert leaderboard["metric"] == "rmse" and leaderboard["best"] == "ridge"
    for plot in ("predicted_vs_actual", "residuals", "importance"):
        assert (regression_repo / f"metrics/evaluate/plots/custom/{plot}.json").is_file()
    assert not (regression_repo / "metrics/evaluate/plots/sklearn").exists()
    segments = json.loads((regression_repo / "metrics/evaluate/segments.json").read_text())
    assert segments["column"] == "sex" and sum(row["rows"] for row in segments["segments"]) > 0


def test_sweep_of_every_regression_family_ranks_them_by_cv_rmse_and_applies_the_best(regression_repo: Path) -> None:
    families = ",".join(REGRESSORS)
    # Chosen on cross-validation: `--metric test.rmse --apply-best` is refused (it would spend the test split).
    result = sweep(regression_repo, "-S", f"train.model={families}", "-j", "2", "--metric", "cv.rmse_mean", "--prefix", "reg", "--apply-best")
    assert result.returncode == 0, result.stdout + result.stderr
    ranking = ranked(result.stdout)
    assert len(ranking) == len(REGRESSORS)
    values = [value for _, value in ranking]
    assert values == sorted(values)  # lower RMSE is better
    best_family = REGRESSORS[int(ranking[0][0].rsplit("-", 1)[1]) - 1]
    assert json.loads((regression_repo / "models/model.json").read_text())["model_family"] == best_family
    assert best_family != "dummy"

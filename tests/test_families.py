"""Classification families end to end through `dvc exp run -S train.model=...`, queued and run
in parallel by the documented sweep command (`tabular-mlops sweep`), on the shared 600-row
sample of the credit table; and a random search. Regression: test_task_switch.py.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.dvc_repo import committed_variant, dvc, environment

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


# Every family of each task runs through the real pipeline elsewhere: the full-size repro
# cross-validates every classifier (cross_validate@<family>), test_task_switch.py's diabetes run
# every regressor. The sweeps need only enough families to rank, to fail on one and to apply the best.
SWEPT_CLASSIFIERS = ("logistic_regression", "linear_svm", "dummy")


def test_sweep_of_classification_families_fails_naming_the_dummy_and_ranks_the_rest(classification_repo: Path) -> None:
    families = ",".join(SWEPT_CLASSIFIERS)
    # No --metric: the default, the task's cross-validated primary metric (cv.roc_auc_mean).
    result = sweep(classification_repo, "-S", f"train.model={families}", "-j", "2", "--prefix", "cls")
    assert result.returncode == 1, result.stdout + result.stderr
    dummy = f"cls-{SWEPT_CLASSIFIERS.index('dummy') + 1}"
    assert f"experiment {dummy} (train.model=dummy) failed" in result.stderr
    assert result.stderr.splitlines()[-1] == f"verdict: sweep failed: 1 of {len(SWEPT_CLASSIFIERS)} experiments failed"
    assert "gate failed (1 of 1): test.roc_auc = 0.5 is below the minimum 0.55" in result.stderr
    ranking = ranked(result.stdout)
    assert len(ranking) == len(SWEPT_CLASSIFIERS) - 1 and dummy not in dict(ranking)
    assert all(f"{name}  cv.roc_auc_mean=" in result.stdout for name, _ in ranking)
    values = [value for _, value in ranking]
    assert values == sorted(values, reverse=True) and min(values) > 0.6
    assert "Running" in result.stdout and "Success" in result.stdout  # progress was shown


def test_random_search_through_dvc_exp_run_writes_the_search_table(classification_repo: Path) -> None:
    # Up to train, which writes the search table and the model's metadata.
    result = dvc(classification_repo, "exp", "run", "-S", "train.model=logistic_regression", "-S", "train.search.method=random",
                 "-S", "train.search.n_iter=3", "train")
    assert result.returncode == 0, result.output
    table = json.loads((classification_repo / "models/search.json").read_text())
    assert table["method"] == "random" and len(table["candidates"]) == 3
    assert [row["rank"] for row in table["candidates"]] == [1, 2, 3]
    assert table["best_params"] == table["candidates"][0]["params"]
    metadata = json.loads((classification_repo / "models/model.json").read_text())
    assert metadata["hyperparameters"]["C"] == table["best_params"]["C"]

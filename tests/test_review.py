"""`tabular-mlops review` on real commits of a temporary repository: one that regresses, one that improves."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.dvc_repo import commit, committed_variant, dvc, environment, update_params

ROOT = Path(__file__).resolve().parents[1]

# The three tests share one history (module-scoped) and run in order, on one worker with
# -n 2 (conftest's ONE_WORKER_MODULES).
pytestmark = pytest.mark.slow


def review(repo: Path, base: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "tabular_mlops", "review", "--base", base, "--output", "review.md"]
    return subprocess.run(command, cwd=repo, env=environment(), capture_output=True, text=True, timeout=600)


def rerun_with(repo: Path, message: str, change) -> None:
    update_params(repo, change)
    result = dvc(repo, "repro")
    assert result.returncode == 0, result.output
    commit(repo, message)


@pytest.fixture(scope="module")
def history(small_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three commits: a good model, a crippled one (regression), the good one back (improvement)."""
    def lenient_gates(params: dict) -> None:  # the crippled model must still pass them
        params["gates"] = [{"metric": "test.roc_auc", "min": 0.55}, {"metric": "test.brier", "max": 0.3}]

    repo = committed_variant(small_repo, tmp_path_factory.mktemp("review") / "repo", lenient_gates, "lenient gates")
    subprocess.run(["git", "tag", "good"], cwd=repo, check=True)

    def cripple(params: dict) -> None:
        params["train"]["model"] = "hist_gradient_boosting"
        params["train"]["hist_gradient_boosting"].update(max_iter=1, max_leaf_nodes=2)

    rerun_with(repo, "one shallow tree", cripple)
    subprocess.run(["git", "tag", "crippled"], cwd=repo, check=True)
    # The good commit's params again: DVC restores the model from its run-cache instead of training it.
    good_params = subprocess.run(["git", "show", "good:params.yaml"], cwd=repo, check=True, capture_output=True, text=True).stdout
    (repo / "params.yaml").write_text(good_params)
    result = dvc(repo, "repro")
    assert result.returncode == 0 and "Running stage 'train'" not in result.output, result.output
    commit(repo, "back to the good model")
    return repo


def test_review_of_a_regressing_commit_fails_and_names_the_metric(history: Path) -> None:
    subprocess.run(["git", "checkout", "-q", "crippled"], cwd=history, check=True)
    assert dvc(history, "checkout").returncode == 0
    result = review(history, "good")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "verdict: regression beyond review.tolerance=0.01: test.roc_auc" in result.stderr
    markdown = (history / "review.md").read_text()
    assert "## Pipeline review against `good`: regressed" in markdown
    assert "| test.roc_auc |" in markdown and "REGRESSED" in markdown
    assert "train.model" in markdown  # the params diff
    assert "`metrics/evaluate/plots/sklearn/roc.json`: changed" in markdown
    # the headline figures in the metrics diff; the per-group ones reachable from the detail files that changed
    assert "metrics/evaluation/roc_auc.json" in markdown and "| metrics/evaluate/metrics.json |" not in markdown
    assert "- `metrics/fairness/groups.json`: changed (per protected column: each group's figures" in markdown
    assert "`metrics/prepare.json`" not in markdown  # the data did not change


def test_review_of_an_improving_commit_passes(history: Path) -> None:
    subprocess.run(["git", "checkout", "-q", "main"], cwd=history, check=True)
    assert dvc(history, "checkout").returncode == 0
    result = review(history, "crippled")
    assert result.returncode == 0, result.stdout + result.stderr
    markdown = (history / "review.md").read_text()
    assert "## Pipeline review against `crippled`: no regression" in markdown
    assert "REGRESSED" not in markdown and "Gates: all pass" in markdown


def test_review_against_an_unknown_revision_is_one_clear_error(history: Path) -> None:
    result = review(history, "no-such-branch")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: no-such-branch:metrics/evaluate/metrics.json: not found; is --base a git revision whose pipeline ran?"
    )

"""End to end: the real `dvc repro` on a fresh copy of the repository, in a temporary git repo."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import joblib
import pandas as pd
import pytest

from tests.dvc_repo import copy_project, dvc, init_git_repo, locked_outputs, md5_of, ran_stages, read_lock

ROOT = Path(__file__).resolve().parents[1]
ALL_STAGES = {"validate", "prepare", "featurize", "train", "evaluate"}

pytestmark = pytest.mark.slow


def set_param(repo: Path, old: str, new: str) -> None:
    """Edit params.yaml as text, as a user would, keeping its comments."""
    params = repo / "params.yaml"
    text = params.read_text()
    assert old in text, f"params.yaml has no line {old!r}"
    params.write_text(text.replace(old, new, 1))


def evaluation(repo: Path) -> dict:
    return json.loads((repo / "metrics/evaluate/metrics.json").read_text())


def test_repro_from_a_fresh_clone_runs_every_stage_and_beats_080_roc_auc(reproduced_repo: Path) -> None:
    output = (reproduced_repo / ".repro_output.txt").read_text()
    assert ran_stages(output) == ALL_STAGES
    metrics = evaluation(reproduced_repo)
    assert metrics["test"]["roc_auc"] > 0.80
    assert metrics["cv"]["roc_auc_mean"] > metrics["baseline"]["roc_auc"] + 0.2
    for plot in ("roc", "precision_recall", "calibration", "confusion_matrix"):
        assert (reproduced_repo / f"metrics/evaluate/plots/sklearn/{plot}.json").stat().st_size > 100


def test_saved_model_scores_raw_rows_including_missing_values_and_unseen_categories(reproduced_repo: Path) -> None:
    model = joblib.load(reproduced_repo / "models/model.joblib")
    metadata = json.loads((reproduced_repo / "models/model.json").read_text())
    raw = pd.read_csv(reproduced_repo / "data/raw/credit.csv").head(5).drop(columns=[metadata["target"]])
    raw.loc[0, "Income"] = None
    raw.loc[1, "Home"] = "houseboat"  # never seen in training
    assert list(raw.columns) == list(metadata["input_columns"])
    probability = model.predict_proba(raw)[:, 1]
    assert ((probability > 0) & (probability < 1)).all()
    assert metadata["training_data_sha256"] and metadata["libraries"]["scikit-learn"]


def test_fresh_clone_reproduces_the_committed_dvc_lock_and_metrics_byte_for_byte(reproduced_repo: Path) -> None:
    assert (reproduced_repo / "dvc.lock").read_bytes() == (ROOT / "dvc.lock").read_bytes()
    for metrics_file in sorted((ROOT / "metrics").rglob("*.json")):
        relative = metrics_file.relative_to(ROOT)
        assert (reproduced_repo / relative).read_bytes() == metrics_file.read_bytes(), relative


def test_two_runs_from_scratch_give_identical_output_hashes(reproduced_repo: Path, tmp_path: Path) -> None:
    second = tmp_path / "second"
    copy_project(ROOT, second)
    (second / "dvc.lock").unlink()
    init_git_repo(second)
    result = dvc(second, "repro")
    assert result.returncode == 0, result.output
    first_outputs, second_outputs = locked_outputs(reproduced_repo), locked_outputs(second)
    assert second_outputs == first_outputs
    for path in ("models/model.joblib", "models/preprocessor.joblib", "data/validated.parquet"):
        assert md5_of(second / path) == md5_of(reproduced_repo / path)


def test_changing_the_model_reruns_only_train_and_evaluate(repo_copy: Path) -> None:
    before = read_lock(repo_copy)["stages"]
    set_param(repo_copy, "model: logistic_regression", "model: hist_gradient_boosting")
    result = dvc(repo_copy, "repro")
    assert result.returncode == 0, result.output
    assert ran_stages(result.output) == {"train", "evaluate"}
    after = read_lock(repo_copy)["stages"]
    for stage in ("validate", "prepare", "featurize"):
        assert after[stage] == before[stage]
    assert json.loads((repo_copy / "models/model.json").read_text())["model_family"] == "hist_gradient_boosting"


def test_noop_repro_runs_nothing_and_status_is_clean(repo_copy: Path) -> None:
    result = dvc(repo_copy, "repro")
    assert result.returncode == 0, result.output
    assert ran_stages(result.output) == set()
    status = dvc(repo_copy, "status", "--json")
    assert json.loads(status.stdout) == {}


def test_metrics_diff_between_commits_needs_no_remote(repo_copy: Path) -> None:
    git = ["git", "-C", str(repo_copy)]
    subprocess.run([*git, "add", "-A"], check=True, capture_output=True)
    subprocess.run([*git, "commit", "-qm", "baseline run"], check=True, capture_output=True)
    set_param(repo_copy, "C: 1.0", "C: 0.001")
    assert dvc(repo_copy, "repro").returncode == 0
    diff = dvc(repo_copy, "metrics", "diff", "--json")
    assert diff.returncode == 0, diff.output
    changed = json.loads(diff.stdout)["metrics/evaluate/metrics.json"]
    assert changed["test.roc_auc"]["old"] != changed["test.roc_auc"]["new"]
    params = json.loads(dvc(repo_copy, "params", "diff", "--json").stdout)
    change = params["params.yaml"]["train.logistic_regression.C"]
    assert (change["old"], change["new"]) == (1.0, 0.001)


def test_experiment_sweep_value_runs_and_an_appended_misspelt_key_is_refused(repo_copy: Path) -> None:
    good = dvc(repo_copy, "exp", "run", "-S", "train.model=hist_gradient_boosting")
    assert good.returncode == 0, good.output
    # DVC refuses `-S train.modle=...` itself; `+train.modle=...` appends the key, and DVC
    # would run with it. Our params loader is what stops that run.
    bad = dvc(repo_copy, "exp", "run", "-S", "+train.modle=hist_gradient_boosting")
    assert bad.returncode != 0
    assert "unknown key 'train.modle' (did you mean 'model'?)" in bad.output

"""End to end: the real `dvc repro` on a fresh copy of the repository, in a temporary git repo."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import brier_score_loss

from tabular_mlops.config.train_params import CLASSIFIERS
from tabular_mlops.reporting.figures import read_figures
from tests.dvc_repo import (DEPLOYMENT_STAGES, EVALUATION_STAGES, commit, dvc, files_under, lock_bytes, lock_without_model_bytes, locked_outputs, md5_of,
                            qualified, reproduce_small, ran_stages, read_lock)

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = tuple(yaml.safe_load((ROOT / "params.yaml").read_text())["leaderboard"]["families"])  # both tasks'
ALL_STAGES = {"validate", "prepare", "featurize", "leaderboard", "train", *EVALUATION_STAGES, *DEPLOYMENT_STAGES} | {
    qualified("leaderboard/dvc.yaml", f"cross_validate@{family}") for family in FAMILIES
}

pytestmark = pytest.mark.slow
# The tests whose point is the full-size run (every family, the committed figures) read the
# shared `reproduced_repo` (listed in conftest's FULL_SIZE_TESTS: one worker runs them all).
# The tests of what DVC reruns, diffs and refuses work on a copy of the small reproduced one.


def set_param(repo: Path, old: str, new: str) -> None:
    """Edit params.yaml as text, as a user would, keeping its comments."""
    params = repo / "params.yaml"
    text = params.read_text()
    assert old in text, f"params.yaml has no line {old!r}"
    params.write_text(text.replace(old, new, 1))


def evaluation_of(repo: Path) -> dict:
    return read_figures(lambda path: (repo / path).read_text())


def test_repro_from_a_fresh_clone_runs_every_stage_and_beats_080_roc_auc(reproduced_repo: Path) -> None:
    output = (reproduced_repo / ".repro_output.txt").read_text()
    assert ran_stages(output) == ALL_STAGES
    metrics = evaluation_of(reproduced_repo)
    assert metrics["test"]["roc_auc"] > 0.80
    assert metrics["cv"]["roc_auc_mean"] > metrics["baseline"]["roc_auc"] + 0.2
    for plot in ("evaluate/plots/sklearn/roc", "evaluate/plots/sklearn/precision_recall", "evaluate/plots/sklearn/calibration",
                 "evaluate/plots/sklearn/confusion_matrix", "explain/plots/custom/importance", "explain/plots/custom/explanations"):
        assert (reproduced_repo / f"metrics/{plot}.json").stat().st_size > 100
    gates = json.loads((reproduced_repo / "metrics/gates.json").read_text())
    assert gates["passed"] and [gate["metric"] for gate in gates["gates"]] == ["over_baseline.roc_auc", "test.brier_skill"]
    card = (reproduced_repo / "metrics/model_card.md").read_text()
    assert "## Gates" in card and "## Segments by `Marital`" in card and "## Limitations" in card


def test_auto_trains_the_family_that_wins_the_leaderboard(reproduced_repo: Path) -> None:
    leaderboard = json.loads((reproduced_repo / "metrics/leaderboard.json").read_text())
    ranking = leaderboard["ranking"]
    classifiers = [family for family in FAMILIES if family in CLASSIFIERS]
    assert sorted(row["family"] for row in ranking) == sorted(classifiers) and len(classifiers) == 6
    assert leaderboard["not_applicable"] == [family for family in FAMILIES if family not in CLASSIFIERS]
    assert all(first["cv_mean"] >= second["cv_mean"] for first, second in zip(ranking, ranking[1:]))
    metadata = json.loads((reproduced_repo / "models/model.json").read_text())
    assert metadata["model_family"] == leaderboard["best"] == ranking[0]["family"]
    evaluation = evaluation_of(reproduced_repo)
    # evaluate cross-validates the trained pipeline on the same folds as the leaderboard
    assert evaluation["cv"]["roc_auc_mean"] == ranking[0]["cv_mean"]


def test_saved_model_scores_raw_rows_including_missing_values_and_unseen_categories(reproduced_repo: Path) -> None:
    model = joblib.load(reproduced_repo / "models/model.joblib")
    metadata = json.loads((reproduced_repo / "models/model.json").read_text())
    raw = pd.read_csv(reproduced_repo / "data/raw/credit.csv").head(5).drop(columns=[metadata["target"]])
    raw.loc[0, "Income"] = None
    raw.loc[1, "Home"] = "houseboat"  # never seen in training
    # every raw column but the target and Marital, which the contract marks protected (not an input)
    assert list(metadata["input_columns"]) == [name for name in raw.columns if name != "Marital"]
    probability = model.predict_proba(raw)[:, 1]
    assert ((probability > 0) & (probability < 1)).all()
    assert metadata["training_data_sha256"] and metadata["libraries"]["scikit-learn"]


def test_fresh_clone_reproduces_the_committed_dvc_lock_and_metrics_byte_for_byte(reproduced_repo: Path) -> None:
    # What the README promises on any x86-64 machine: every file under metrics/ (plot data
    # included) and dvc.lock, except the md5 of models/model.joblib (its size must match).
    assert ran_stages((reproduced_repo / ".repro_output.txt").read_text()) == ALL_STAGES
    reproduced_metrics, committed_metrics = files_under(reproduced_repo / "metrics"), files_under(ROOT / "metrics")
    assert sorted(reproduced_metrics) == sorted(committed_metrics)
    assert [name for name in committed_metrics if reproduced_metrics[name] != committed_metrics[name]] == []
    reproduced, committed = read_lock(reproduced_repo), read_lock(ROOT)
    assert lock_without_model_bytes(reproduced) == lock_without_model_bytes(committed)


def test_two_runs_from_scratch_give_identical_output_hashes(small_repo: Path, tmp_path: Path) -> None:
    # The full-size case is the committed dvc.lock test above. Here the shared small repository
    # (built from nothing: no dvc.lock, no metrics, an empty cache) is built a second time, the
    # same way, in another folder; every output, the pickled model included, must be the same.
    second = tmp_path / "second"
    reproduce_small(second)
    assert locked_outputs(small_repo) == locked_outputs(second)
    assert lock_bytes(small_repo) == lock_bytes(second)
    for path in ("models/model.joblib", "models/preprocessor.joblib", "data/validated.parquet", "metrics/model_card.md"):
        assert md5_of(small_repo / path) == md5_of(second / path)


def test_changing_the_model_reruns_only_train_and_the_stages_after_it_and_its_metrics_diff_fits_a_screen(small_repo_copy: Path) -> None:
    before = read_lock(small_repo_copy)["stages"]
    commit(small_repo_copy, "the run before the change")
    set_param(small_repo_copy, "model: auto", "model: hist_gradient_boosting")
    result = dvc(small_repo_copy, "repro")
    assert result.returncode == 0, result.output
    assert ran_stages(result.output) == {"train", *EVALUATION_STAGES, *DEPLOYMENT_STAGES}
    after = read_lock(small_repo_copy)["stages"]
    for stage in before:
        if stage not in {"train", *EVALUATION_STAGES, *DEPLOYMENT_STAGES}:
            assert after[stage] == before[stage], stage
    assert json.loads((small_repo_copy / "models/model.json").read_text())["model_family"] == "hist_gradient_boosting"

    # What a reviewer reads: the headline figures that changed, a screen of them, not every
    # per-column figure of every stage.
    lines = dvc(small_repo_copy, "metrics", "diff").stdout.splitlines()
    assert 10 < len(lines) < 60, "\n".join(lines)
    changed = json.loads(dvc(small_repo_copy, "metrics", "diff", "--json").stdout)
    assert all(path.startswith(("metrics/evaluation/", "metrics/gates.json", "metrics/monitoring/")) for path in changed), sorted(changed)
    # each changed figure is the detail file's, before and after the change
    metrics = evaluation_of(small_repo_copy)
    old = json.loads(subprocess.run(["git", "show", "HEAD:metrics/evaluate/metrics.json"], cwd=small_repo_copy,
                                    capture_output=True, text=True, check=True).stdout)
    for name, section in (("roc_auc", "test"), ("roc_auc", "over_baseline"), ("log_loss", "test"), ("f1", "test")):
        assert changed[f"metrics/evaluation/{name}.json"][section] == {"old": old[section][name], "new": metrics[section][name],
                                                                        "diff": pytest.approx(metrics[section][name] - old[section][name])}
    cv = changed["metrics/evaluation/roc_auc.json"]["cv"]
    assert (cv["old"], cv["new"]) == (old["cv"]["roc_auc_mean"], metrics["cv"]["roc_auc_mean"])
    assert changed["metrics/evaluation/Marital.demographic_parity_difference.json"]["test"]["new"] == \
        metrics["fairness"]["Marital"]["demographic_parity_difference"]


def test_noop_repro_runs_nothing_and_status_is_clean(small_repo_copy: Path) -> None:
    result = dvc(small_repo_copy, "repro")
    assert result.returncode == 0, result.output
    assert ran_stages(result.output) == set()
    status = dvc(small_repo_copy, "status", "--json")
    assert json.loads(status.stdout) == {}


def test_metrics_diff_between_commits_needs_no_remote(small_repo_copy: Path) -> None:
    git = ["git", "-C", str(small_repo_copy)]
    subprocess.run([*git, "add", "-A"], check=True, capture_output=True)
    subprocess.run([*git, "commit", "-qm", "baseline run"], check=True, capture_output=True)
    set_param(small_repo_copy, "method: max_f1", "method: fixed")
    result = dvc(small_repo_copy, "repro", "gate")  # the metrics; the deployment stages are not the point here
    assert result.returncode == 0, result.output
    assert ran_stages(result.output) == {"evaluate", "fairness", "gate"}  # fairness decides at evaluate's threshold
    diff = dvc(small_repo_copy, "metrics", "diff", "--json")
    assert diff.returncode == 0, diff.output
    # the threshold is a detail (metrics/evaluate/metrics.json); F1, which it moves, a headline figure
    assert evaluation_of(small_repo_copy)["threshold"] == 0.5
    f1 = json.loads(diff.stdout)["metrics/evaluation/f1.json"]["test"]
    assert f1["old"] != f1["new"] == evaluation_of(small_repo_copy)["test"]["f1"]
    params = json.loads(dvc(small_repo_copy, "params", "diff", "--json").stdout)
    change = params["params.yaml"]["evaluate.threshold.method"]
    assert (change["old"], change["new"]) == ("max_f1", "fixed")


def test_failing_gate_is_a_verdict_exit_1_naming_the_metric_and_keeps_the_metrics(small_repo_copy: Path) -> None:
    set_param(small_repo_copy, "model: auto", "model: dummy")
    lock_before = (small_repo_copy / "dvc.lock").read_bytes()  # the gate stage's own
    result = dvc(small_repo_copy, "repro")
    # dvc fails the run whatever the stage's code; the stage's own 1 says "a verdict", not "bad input".
    assert result.returncode != 0 and "python -m stages gate, exited with 1" in result.output, result.output
    assert any(line.startswith("verdict: gate failed (2 of 2): ") for line in result.stderr.splitlines()), result.stderr
    # docs/reference/exit-codes.md shows these two lines as dvc prints them.
    shown = (ROOT / "docs/reference/exit-codes.md").read_text().split("```text\n")[1].split("```")[0].splitlines()
    assert all(line in result.output.splitlines() for line in shown), shown
    # The dummy misses both: no ranking skill, and its Brier score is that of always predicting the
    # training split's share of 'bad' (computed here with scikit-learn from the prepared splits), the
    # baseline's, so its Brier skill score is 0.
    train, test = (pd.read_parquet(small_repo_copy / f"data/prepared/{split}.parquet") for split in ("train", "test"))
    prior = (train["Status"] == "bad").mean()
    brier = round(brier_score_loss(test["Status"] == "bad", np.full(len(test), prior)), 6)
    assert evaluation_of(small_repo_copy)["test"]["brier"] == evaluation_of(small_repo_copy)["baseline"]["brier"] == brier
    assert "gate failed (2 of 2): over_baseline.roc_auc = 0 is below the minimum 0.1" in result.output
    assert "test.brier_skill = 0 is below the minimum 0.01" in result.output
    assert "Traceback" not in result.output
    gates = json.loads((small_repo_copy / "metrics/gates.json").read_text())
    assert gates["passed"] is False
    shown = json.loads(dvc(small_repo_copy, "metrics", "show", "--json").stdout)
    workspace = next(iter(shown.values()))["data"]
    assert workspace["metrics/evaluation/roc_auc.json"]["data"]["test"] == 0.5
    assert workspace["metrics/gates.json"]["data"]["passed"] is False
    assert "| over_baseline.roc_auc | 0.1000 |  | 0.0000 | FAIL |" in (small_repo_copy / "metrics/model_card.md").read_text()
    assert read_lock(small_repo_copy)["stages"]["gate"] == yaml_stage(lock_before, "gate")


def yaml_stage(lock: bytes, stage: str) -> dict:
    return yaml.safe_load(lock)["stages"][stage]


def test_experiment_sweep_value_runs_and_an_appended_misspelt_key_is_refused(small_repo_copy: Path) -> None:
    good = dvc(small_repo_copy, "exp", "run", "-S", "train.model=logistic_regression", "gate")  # up to the metrics
    assert good.returncode == 0, good.output
    # DVC refuses `-S train.modle=...` itself; `+train.modle=...` appends the key, and DVC
    # would run with it. Our params loader is what stops that run.
    bad = dvc(small_repo_copy, "exp", "run", "-S", "+train.modle=hist_gradient_boosting", "gate")
    assert bad.returncode != 0
    assert "unknown key 'train.modle' (did you mean 'model'?)" in bad.output

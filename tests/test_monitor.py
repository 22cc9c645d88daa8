"""The reference and monitor stages end to end: the real `dvc repro monitor` on the small
repository, the HTML report in headless Chromium offline, and the full-size figures (false
alarms on resamples of the test split, drift and an estimated drop on the shifted batch)."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from scipy import stats
from sklearn.datasets import load_breast_cancer

from tabular_mlops.config.params import MonitorParams
from tabular_mlops.deployment.artifact import load_bundle
from tabular_mlops.monitoring.check import check_batch
from tabular_mlops.monitoring.reference import read_reference, scored
from tabular_mlops.monitoring.shift import Shift, plan_shift, shifted_batch
from tests.dvc_repo import copy_project, draft_contract, dvc, environment, init_git_repo, ran_stages, small_and_fast, update_params
from tests.service import STOPPED, start, working_folder
from tests.test_monitor_page import shown_demo_output
from tests.test_plots_offline import network_resources, parse_html, render_in_chromium

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def test_the_pipeline_monitors_its_own_test_split_by_default(small_repo: Path) -> None:
    # params.yaml's monitor.current is the scored test split until batch scoring is wired: the
    # 600-row sample's test split has 120 rows, fewer than monitor.min_rows (300).
    report = json.loads((small_repo / "metrics/monitor.json").read_text())
    assert report["status"] == "not enough data" and report["rows"] == 120
    profile = json.loads((small_repo / "models/reference/profile.json").read_text())
    assert profile["rows"] == {"training": 480, "training_split": 480, "test": 120}
    assert profile["calibration"]["ece"] >= 0 and set(profile["performance"]) == {"realised", "estimated"}


def test_dvc_repro_monitor_flags_the_shifted_batch_and_the_gate_fails_after_writing(small_repo_copy: Path, tmp_path: Path) -> None:
    repo = small_repo_copy
    bundle = load_bundle(repo / "models/bundle")
    test = pd.read_parquet(repo / "data/prepared/test.parquet")
    shift = plan_shift(read_reference(repo / "models/reference"))
    batch = scored(bundle, shifted_batch(pd.concat([test] * 4, ignore_index=True), shift, seed=0), "Status")
    (repo / "data/batches").mkdir()
    batch.to_csv(repo / "data/batches/shifted.csv", index=False)

    def configure(params: dict) -> None:
        params["monitor"].update(current="data/batches/shifted.csv", fail_on_dataset_drift=True)

    update_params(repo, configure)
    result = dvc(repo, "repro", "monitor")
    # the stage exits 1 (a verdict, one line); dvc then fails the run
    assert result.returncode != 0 and "python -m stages monitor, exited with 1" in result.output, result.output
    assert ran_stages(result.output) == {"monitor"}
    errors = [line for line in result.stderr.splitlines() if line.startswith("verdict: data/batches/shifted.csv: dataset drift: ")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.output
    report = json.loads((repo / "metrics/monitor.json").read_text())  # written before the stage failed
    assert report["status"] == "ok" and report["rows"] == 480 and report["dataset_drift"] is True
    assert {shift.category[0], shift.numeric, "probability"} <= set(report["drifted"])
    assert report["performance"]["realised"]["roc_auc"] > 0.5 and report["performance"]["labelled_rows"] == 480
    assert "DATASET DRIFT" in (repo / "metrics/monitor.md").read_text()

    page = repo / "metrics/monitor.html"
    assert network_resources(parse_html(page.read_text())) == []
    dom = parse_html(render_in_chromium(page, tmp_path / "monitor.png", tmp_path / "profile", len(report["drifted"])))
    plots = [element for element in dom.walk() if element.tag == "svg" and element.has_class("drift-plot")]
    assert [plot.attrs["data-column"] for plot in plots] == report["drifted"]
    assert all(sum(child.tag == "rect" for child in plot.children) >= 4 for plot in plots)


# --- full size: the committed data and model (conftest's reproduced_repo, FULL_SIZE_TESTS) ---

def test_resamples_of_the_test_split_raise_at_most_two_false_alarms_in_twenty(reproduced_repo: Path) -> None:
    reference = read_reference(reproduced_repo / "models/reference")
    alarms = [check_batch(reference.test.sample(n=500, replace=True, random_state=seed), reference, MonitorParams())
              for seed in range(20)]
    assert sum(report["dataset_drift"] for report in alarms) <= 2
    assert sum(bool(report["performance"]["flagged_metrics"]) for report in alarms) <= 2


def test_the_committed_pipeline_monitoring_its_own_test_split_shows_no_drift_and_no_estimated_drop(reproduced_repo: Path) -> None:
    # monitor.current is the scored test split: the very rows behind the reference's estimate and its scores.
    report = json.loads((reproduced_repo / "metrics/monitor.json").read_text())
    assert report["status"] == "ok" and report["dataset_drift"] is False
    # the score against the test split's own scores: 891 rows, so a KS test, whose p-value is 1 on the same values
    assert report["columns"]["probability"]["method"] == "ks" and report["columns"]["probability"]["statistic"] == 1.0
    performance = report["performance"]
    assert performance["estimated_drop"] == {name: 0.0 for name in performance["estimated"]}
    assert performance["realised"] == performance["reference_realised"]


def test_the_shifted_batch_drifts_and_its_estimated_drop_is_flagged_like_the_realised_one(reproduced_repo: Path) -> None:
    reference = read_reference(reproduced_repo / "models/reference")
    bundle = load_bundle(reproduced_repo / "models/bundle", reproduced_repo / "dvc.lock")
    test = pd.read_parquet(reproduced_repo / "data/prepared/test.parquet")
    shift = plan_shift(reference)
    # the module's rule on the credit data: part-time workers are the category the model is least sure of, and the score
    # follows seniority most; low seniority is where it is less sure (the whole number of years moves by half its sd, 4)
    assert shift == Shift(("Job", "partime"), "Seniority", lowest=True, step=-4.0, bounds=(0.0, 48.0), whole=True)
    report = check_batch(scored(bundle, shifted_batch(test, shift, seed=0), "Status"), reference, MonitorParams())
    assert report["dataset_drift"] is True and {"Job", "Seniority", "probability"} <= set(report["drifted"])
    performance = report["performance"]
    assert performance["flagged_metrics"] == ["roc_auc"]
    # The labels came along with the rows: the drop is real, and the estimate is near it.
    realised_drop = performance["reference_realised"]["roc_auc"] - performance["realised"]["roc_auc"]
    assert realised_drop > 0.03 and performance["estimated"]["roc_auc"] == pytest.approx(performance["realised"]["roc_auc"], abs=0.05)


def demo_through_the_service(repo: Path, tmp_path: Path) -> tuple[subprocess.CompletedProcess, Path]:
    """`tabular-mlops demo-drift` against the real service serving the repo's bundle; its run (exit 0) and the log."""
    service = start(repo / "models/bundle", working_folder(tmp_path / "server", repo / "params.yaml"))
    try:
        demo = subprocess.run([sys.executable, "-m", "tabular_mlops", "demo-drift", "--url", service.url, "--output", str(tmp_path / "demo")],
                              cwd=repo, env=environment(), capture_output=True, text=True, timeout=300)
    finally:
        assert service.stop() in STOPPED, service.errors
    assert demo.returncode == 0, demo.stdout + demo.stderr
    return demo, service.log


def test_demo_drift_scores_both_batches_through_the_service_and_only_the_shifted_one_fires(reproduced_repo: Path, tmp_path: Path) -> None:
    demo, log = demo_through_the_service(reproduced_repo, tmp_path)
    shift, unshifted, shifted = demo.stdout.splitlines()
    assert shift == ("shift: Job = partime weighs 15x; the lowest quarter of Seniority weighs 3x, then Seniority moves by -4 (0.5 sd)")
    assert unshifted.startswith("unshifted: no dataset drift") and "ESTIMATED DROP" not in unshifted
    # what docs/how-to/monitor.md shows, with the default --out folder
    assert demo.stdout.replace(str(tmp_path / "demo"), "monitoring-demo").splitlines() == shown_demo_output()
    assert shifted.startswith("shifted: DATASET DRIFT") and "ESTIMATED DROP beyond monitor.max_estimated_drop: roc_auc" in shifted
    # The test split scored by the service gives the very report the pipeline's monitor wrote from
    # the in-process scores: the service's probabilities are the model's, to the last bit.
    through_service = json.loads((tmp_path / "demo/unshifted/monitor.json").read_text())
    assert through_service == json.loads((reproduced_repo / "metrics/monitor.json").read_text())
    with sqlite3.connect(log) as connection:
        assert connection.execute("select count(*) from predictions").fetchone()[0] == 2 * through_service["rows"]


# --- demo-drift on another table ---

def breast_cancer_project(repo: Path) -> Path:
    """scikit-learn's breast cancer table (569 rows, 30 measurements, no category) with the diagnosis as
    yes/no, reproduced up to the reference. Half the rows are the test split, so each batch (285 rows)
    clears monitor.min_rows, lowered to 200 for this table."""
    copy_project(ROOT, repo)
    bunch = load_breast_cancer(as_frame=True)
    table = bunch.frame.drop(columns="target").assign(malignant=bunch.target.map({0: "yes", 1: "no"}))
    (repo / "data/raw/breast_cancer.csv").parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(repo / "data/raw/breast_cancer.csv", index=False)

    def configure(params: dict) -> None:
        params["data"].update(path="data/raw/breast_cancer.csv", target="malignant", task="classification", positive_class="yes",
                              drop_columns=[], segment_column=None)
        small_and_fast(params, ["logistic_regression", "dummy"], [{"metric": "test.roc_auc", "min": 0.9}])
        params["prepare"]["test_size"] = 0.5
        params["monitor"]["min_rows"] = 200
        params["evaluate"]["cv_folds"] = params["leaderboard"]["cv_folds"] = 3

    update_params(repo, configure)
    assert draft_contract(repo, "--force").returncode == 0
    init_git_repo(repo)
    result = dvc(repo, "repro", "reference")
    assert result.returncode == 0, result.output
    return repo


def test_demo_drift_on_a_table_of_measurements_only_fires_on_the_shifted_batch_alone(tmp_path: Path) -> None:
    repo = breast_cancer_project(tmp_path / "repo")
    demo, _ = demo_through_the_service(repo, tmp_path)
    described, unshifted, shifted = demo.stdout.splitlines()
    reference = read_reference(repo / "models/reference")
    shift = plan_shift(reference)
    assert shift.category is None and described == f"shift: {shift.describe()}"  # no categorical input: a quarter and a move
    assert unshifted.startswith("unshifted: no dataset drift") and shifted.startswith("shifted: DATASET DRIFT")
    report = json.loads((tmp_path / "demo/shifted/monitor.json").read_text())
    # The moved column's verdict against scipy's two-sample KS test on the same batch (the demo's seed: params.yaml's)
    seed = yaml.safe_load((repo / "params.yaml").read_text())["seed"]
    batch = shifted_batch(pd.read_parquet(repo / "data/prepared/test.parquet"), shift, seed)
    p_value = stats.ks_2samp(reference.training[shift.numeric], batch[shift.numeric]).pvalue
    assert report["columns"][shift.numeric]["statistic"] == pytest.approx(p_value, abs=1e-6) and p_value < 0.05
    assert report["drift_share"] >= 0.5 > json.loads((tmp_path / "demo/unshifted/monitor.json").read_text())["drift_share"]

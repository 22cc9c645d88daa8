"""Fairness through the real pipeline, on a synthetic table whose outcome depends on a protected column.

The model never sees `Group` (protected, not an input) but learns it through `Proxy`, so its
decisions differ by group. The parity gate must fail naming the column and the gap (checked
against fairlearn's own function on the saved model's decisions); a 25-row group (about 5 test
rows) is "too few rows"; with `threshold_optimizer` the gap falls below the gate and the cost is
reported; the real service then refuses a row of a group the mitigation never saw. A mitigated
model has no compiled form: the bundle says so, and the pickled pipeline serves it.
"""
from __future__ import annotations

import json
from pathlib import Path

import httpx
import joblib
import numpy as np
import pandas as pd
import pytest
import yaml
from fairlearn.metrics import demographic_parity_difference

from tests import service as svc
from tests.dvc_repo import commit, copy_project, dvc, init_git_repo, small_and_fast, update_params

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
GATE = {"metric": "fairness.Group.demographic_parity_difference", "max": 0.1}
CONTRACT = {"target": "Status", "columns": {
    "Status": {"type": "category", "nullable": False, "categories": ["bad", "good"]},
    "Group": {"type": "category", "nullable": True, "categories": ["a", "b", "c"], "protected": True},
    "Proxy": {"type": "float", "nullable": False},
    "Income": {"type": "float", "nullable": False},
}}


def biased_table(rows: int = 1200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = np.where(np.arange(rows) < 25, "c", rng.choice(["a", "b"], rows))
    proxy = (group == "b") * 1.5 + rng.normal(0, 0.5, rows)  # what the model learns the group from
    income = rng.normal(0, 1, rows)
    risk = -0.8 + 1.6 * (group == "b") - 1.0 * income + rng.normal(0, 0.7, rows)
    return pd.DataFrame({"Status": np.where(risk > 0, "bad", "good"), "Group": group, "Proxy": proxy.round(4),
                         "Income": income.round(4)})


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("fairness")
    copy_project(ROOT, repo)
    biased_table().to_csv(repo / "data/raw/credit.csv", index=False)
    (repo / "data/contract.yaml").write_text(yaml.safe_dump(CONTRACT, sort_keys=False))

    def configure(params: dict) -> None:
        small_and_fast(params, ["logistic_regression", "dummy"], [GATE])
        params["train"]["model"] = "logistic_regression"
        params["data"]["segment_column"] = None
        params["evaluate"]["threshold"]["method"] = "fixed"

    update_params(repo, configure)
    init_git_repo(repo)
    return repo


def test_the_parity_gate_fails_naming_the_column_and_fairlearns_gap(repo: Path) -> None:
    result = dvc(repo, "repro")
    assert result.returncode != 0
    metrics = json.loads((repo / "metrics/fairness/metrics.json").read_text())
    gap = metrics["fairness"]["Group"]["demographic_parity_difference"]
    assert f"fairness.Group.demographic_parity_difference = {gap:g} is above the maximum 0.1" in result.output
    assert gap > 0.2
    # Independently: the saved model's decisions on the test split, groups a and b only.
    test = pd.read_parquet(repo / "data/prepared/test.parquet")
    model = joblib.load(repo / "models/model.joblib")
    decided = (model.predict_proba(test.drop(columns=["Status"]))[:, 1] >= 0.5).astype(int)
    compared = test["Group"].isin(["a", "b"]).to_numpy()
    expected = demographic_parity_difference((test["Status"] == "bad").astype(int)[compared], decided[compared],
                                             sensitive_features=test["Group"][compared])
    assert gap == pytest.approx(expected, abs=1e-6)


def test_a_small_group_is_too_few_rows_and_takes_no_part_in_the_gap(repo: Path) -> None:
    report = json.loads((repo / "metrics/fairness/groups.json").read_text())["Group"]
    small = next(group for group in report["groups"] if group["group"] == "c")
    assert small["rows"] < 30 and small["status"] == "too few rows" and "metrics" not in small
    assert report["gaps"]["compared_groups"] == ["a", "b"]
    card = (repo / "metrics/model_card.md").read_text()
    assert "## Fairness" in card and "too few rows" in card


def test_threshold_optimizer_brings_the_gap_under_the_gate_and_reports_its_cost(repo: Path, tmp_path: Path) -> None:
    update_params(repo, lambda params: params["train"]["fairness"].update(mitigation="threshold_optimizer", column="Group"))
    commit(repo, "mitigate")
    result = dvc(repo, "repro")
    assert result.returncode == 0, result.output
    metrics = json.loads((repo / "metrics/fairness/metrics.json").read_text())
    assert metrics["fairness"]["Group"]["demographic_parity_difference"] < 0.1
    comparison = json.loads((repo / "metrics/fairness/mitigation.json").read_text())
    assert comparison["mitigation"] == "threshold_optimizer" and comparison["column"] == "Group"
    assert comparison["unmitigated"]["demographic_parity_difference"] > 0.2
    assert comparison["change"]["roc_auc"] == pytest.approx(comparison["mitigated"]["roc_auc"] - comparison["unmitigated"]["roc_auc"], abs=2e-6)

    reason = "a fairness-mitigated model decides by fairlearn's randomised rule, which has no ONNX form"
    assert result.output.count(f"bundle: the model is served by scikit-learn, not compiled: {reason}\n") == 1
    assert json.loads((repo / "models/bundle/manifest.json").read_text())["compiled"] == {"file": None, "reason": reason}
    assert not (repo / "models/bundle/model.onnx").exists()

    folder = svc.working_folder(tmp_path / "serve", repo / "params.yaml", log=str(tmp_path / "log.sqlite"))
    service = svc.start(repo / "models/bundle", folder)
    try:
        assert svc.answering_runtime(service) == {"path": "scikit-learn", "reason": reason}  # the default runtime, auto
        row = {"Proxy": 0.3, "Income": 0.1}
        answered = httpx.post(f"{service.url}/predict", json={**row, "Group": "a"}, timeout=30)
        assert answered.status_code == 200, answered.text
        again = httpx.post(f"{service.url}/predict", json={**row, "Group": "a"}, timeout=30)
        assert again.json()["decision"] == answered.json()["decision"]  # seeded per row
        refused = httpx.post(f"{service.url}/predict", json=row, timeout=30)  # no Group: the "missing" group, never seen
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == "Group"
        assert "must be a group the fairness mitigation saw in training" in refused.json()["errors"][0]["rule"]
    finally:
        service.stop()


def test_the_mitigated_models_monitor_counts_the_decisions_it_served(repo: Path) -> None:
    """After the threshold optimizer (the test above): the reference's and the monitor's precision
    are scikit-learn's on the `decision` column served, not on probability >= threshold."""
    from sklearn.metrics import precision_score

    from tabular_mlops.config.params import MonitorParams
    from tabular_mlops.monitoring.check import check_batch
    from tabular_mlops.monitoring.reference import read_reference

    reference = read_reference(repo / "models/reference")
    test = reference.test
    labels = (test["Status"] == "bad").astype(int)
    served = (test["decision"] == "bad").astype(int)
    thresholded = (test["probability"] >= reference.profile["threshold"]).astype(int)
    assert (served != thresholded).any()  # the randomised mixture decides otherwise on some rows
    assert reference.profile["performance"]["realised"]["precision"] == pytest.approx(precision_score(labels, served), abs=1e-9)
    batch = pd.concat([test] * 2, ignore_index=True)  # above monitor.min_rows
    performance = check_batch(batch, reference, MonitorParams())["performance"]
    assert performance["realised"]["precision"] == pytest.approx(precision_score(labels, served), abs=1e-6)
    assert performance["estimated_drop"]["precision"] == pytest.approx(0.0, abs=1e-6)

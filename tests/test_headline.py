"""The headline figures: one file per figure, so `dvc metrics show` is one narrow table and
`dvc metrics diff` lists what a reviewer acts on; the per-column figures stay in detail files
that the model card links."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tabular_mlops.files import write_json_folder
from tabular_mlops.metrics import CV_METRICS_BY_TASK, FAIRNESS_GAPS, METRICS_BY_TASK, gate_metric_names
from tabular_mlops.reporting.gates import metric_value
from tabular_mlops.reporting.headline import BINARY_HEADLINE, DETAILS, evaluation_rows, headline_column, monitoring_rows
from tests.dvc_repo import copy_project, dvc, init_git_repo

ROOT = Path(__file__).resolve().parents[1]


def test_evaluation_rows_are_one_file_per_metric_and_per_fairness_gap():
    metrics = {"test": {"roc_auc": 0.85, "f1": 0.6}, "cv": {"roc_auc_mean": 0.84, "roc_auc_std": 0.01},
               "nested_cv": {"roc_auc_mean": 0.83, "roc_auc_std": 0.02}, "baseline": {"roc_auc": 0.5, "f1": 0.0},
               "over_baseline": {"roc_auc": 0.35, "f1": 0.6}, "fairness": {"Marital status": {"demographic_parity_ratio": 0.7,
                                                                                               "equalized_odds_ratio": None}},
               "threshold": 0.3}
    assert evaluation_rows(metrics) == {
        "roc_auc.json": {"test": 0.85, "cv": 0.84, "nested_cv": 0.83, "over_baseline": 0.35},
        "f1.json": {"test": 0.6, "over_baseline": 0.6},  # needs the threshold: not cross-validated
        "Marital_status.demographic_parity_ratio.json": {"test": 0.7},
        "Marital_status.equalized_odds_ratio.json": {"test": None},  # fewer than two groups large enough
    }


def test_monitoring_rows_carry_the_drift_verdicts_and_only_the_rows_below_min_rows():
    report = {"rows": 891, "status": "ok", "dataset_drift": True, "drift_share": 0.6153846,
              "performance": {"estimated_drop": {"roc_auc": 0.07, "f1": 0.01}, "max_estimated_drop": {"roc_auc": 0.05},
                              "flagged_metrics": ["roc_auc"]}}
    assert monitoring_rows(report) == {"rows.json": {"batch": 891}, "drift_share.json": {"batch": 0.6153846, "passed": False},
                                       "estimated_drop.roc_auc.json": {"batch": 0.07, "passed": False}}
    assert monitoring_rows({"rows": 120, "status": "not enough data"}) == {"rows.json": {"batch": 120}}
    regression = {"rows": 400, "status": "ok", "dataset_drift": False, "drift_share": 0.0, "performance": {"estimated": "not estimated"}}
    assert monitoring_rows(regression) == {"rows.json": {"batch": 400}, "drift_share.json": {"batch": 0.0, "passed": True}}


@pytest.mark.parametrize("task", sorted(METRICS_BY_TASK))
def test_every_gate_metric_that_dvc_exp_show_lists_is_where_headline_column_says(task):
    """The sweep ranks by gate names through headline_column: each must find the gate's own value."""
    names = METRICS_BY_TASK[task]
    metrics = {"test": {name: index / 10 for index, name in enumerate(names)},
               "cv": {f"{name}_{stat}": index / 100 for index, name in enumerate(CV_METRICS_BY_TASK[task]) for stat in ("mean", "std")},
               "over_baseline": {name: index / 1000 for index, name in enumerate(names)},
               "fairness": {"Age": {gap: 0.25 for gap in FAIRNESS_GAPS.get(task, FAIRNESS_GAPS["classification"])}}}
    metrics["nested_cv"] = metrics["cv"]
    if task == "classification":
        metrics["operating_point"] = {rate: 0.5 + index / 100 for index, rate in enumerate(("sensitivity", "specificity", "precision", "npv", "net_benefit"))}
        metrics["calibration"] = {"intercept": -0.1, "slope": 0.9}
    rows = evaluation_rows(metrics)
    gaps = [f"fairness.Age.{gap}" for gap in metrics["fairness"]["Age"]]
    for name in gate_metric_names(task, nested_cv=True) + gaps:
        column = headline_column(name)
        section, _, figure = name.partition(".")
        detail_only = name.endswith(("_std", "_low", "_high")) or (
            section in ("operating_point", "calibration") and (section, figure) not in BINARY_HEADLINE.values())
        if detail_only:
            assert column is None, name  # a spread, an interval's bound, a binary figure of the detail file only
            continue
        path, key = column.rsplit(":", 1)
        assert path.startswith("metrics/evaluation/") and rows[path.removeprefix("metrics/evaluation/")][key] == metric_value(metrics, name)


def test_write_json_folder_removes_the_rows_of_a_previous_run(tmp_path):
    folder = tmp_path / "rows"
    write_json_folder(folder, {"rmse.json": {"test": 1.0}, "r2.json": {"test": 0.5}})
    (folder / "notes.txt").write_text("kept")
    write_json_folder(folder, {"roc_auc.json": {"test": 0.8}})
    assert sorted(path.name for path in folder.iterdir()) == ["notes.txt", "roc_auc.json"]
    assert json.loads((folder / "roc_auc.json").read_text()) == {"test": 0.8}


@pytest.mark.slow
def test_dvc_metrics_show_on_the_committed_project_is_a_short_table_within_125_columns(tmp_path):
    repo = tmp_path / "repo"
    copy_project(ROOT, repo)
    init_git_repo(repo)
    shown = dvc(repo, "metrics", "show")
    assert shown.returncode == 0, shown.output
    lines = shown.stdout.splitlines()
    # The longest path (a fairness gap's file) takes 63 columns; each key a headline file adds widens every row.
    assert max(len(line) for line in lines) <= 125 and len(lines) <= 25, shown.stdout
    committed = json.loads((ROOT / "metrics/evaluate/metrics.json").read_text())
    header, roc_auc = lines[0].split(), next(line.split() for line in lines if line.startswith("metrics/evaluation/roc_auc.json "))
    row = dict(zip(header, roc_auc))
    assert float(row["test"]) == round(committed["test"]["roc_auc"], 5) and float(row["cv"]) == round(committed["cv"]["roc_auc_mean"], 5)
    assert any(line.split()[0] == "metrics/gates.json" for line in lines)
    assert any(line.split()[0] == "metrics/monitoring/drift_share.json" for line in lines)


@pytest.mark.slow
def test_the_model_card_links_every_detail_file_and_each_exists(small_repo):
    card = (small_repo / "metrics/model_card.md").read_text()
    linked = re.findall(r"^- \[([^]]+)]\(([^)]+)\): ", card.split("## Detailed figures")[1], flags=re.MULTILINE)
    assert [name for name, _ in linked] == list(DETAILS)
    assert all((small_repo / "metrics" / target).resolve() == small_repo / name and (small_repo / name).is_file() for name, target in linked)

"""The headline figures: what `dvc metrics show` and `dvc metrics diff` list.

DVC prints the metrics files as one table: a row per file, a column per key of any of them. So
each headline file holds one figure, and its keys say where the figure was measured (or whether
its check passed); the table keeps a handful of columns however many metrics, protected columns
or gates a project has:

    metrics/evaluation/<metric>.json          test, cv (the CV mean), over_baseline, nested_cv (when on)
    metrics/evaluation/<column>.<gap>.json    test: a fairness gap between the groups of a protected column
    metrics/evaluation/<figure>.json          test (binary): sensitivity and specificity at the threshold, calibration_slope
                                              (the gate stage writes both from the evaluation's figures)
    metrics/evaluation/<column>.monotonic_violations.json  test: steps against a column's train.monotonic direction
    metrics/gates.json                        passed: every gate held (DVC skips the list of gates)
    metrics/data/rows.json                    train, test: the rows of each split, data.extra_paths's included
    metrics/monitoring/rows.json              batch: the rows of the monitored batch
    metrics/monitoring/drift_share.json       batch: the share of compared columns that drifted; passed: no dataset drift
    metrics/monitoring/estimated_drop.<metric>.json  batch: the estimated drop; passed: within monitor.max_estimated_drop
    metrics/promotion/decision.json           passed: the compare stage's decision is promote
    metrics/promotion/champion.<metric>.json  test: the champion's figure on the test split (with a champion)
    metrics/promotion/gain.<metric>.json      test: the challenger's gain over it on the same rows (its interval: compare.json)

Everything else (CV spreads, the baseline, per-column and per-group figures) stays in the detail
files of DETAILS, committed beside them and linked from the model card.
"""
from __future__ import annotations

import re

EVALUATION = "metrics/evaluation"
MONITORING = "metrics/monitoring"
ROWS = "metrics/data/rows.json"
PROMOTION = "metrics/promotion"

# The detail files: committed and versioned like the headline, not listed by `dvc metrics`.
DETAILS = {
    "metrics/evaluate/metrics.json": "test, CV mean and spread, baseline, over the baseline, threshold; binary: the operating "
                                     "point and the calibration with their intervals, the decision curve's summary; the monotonic "
                                     "constraints' check per column (train.monotonic)",
    "metrics/evaluate/plots/custom/decision_curve.json": "binary: net benefit of the model, treat-all and treat-none by threshold probability",
    "metrics/fairness/metrics.json": "the fairness gaps per protected column",
    "metrics/fairness/groups.json": "per protected column: each group's figures with bootstrap intervals, and the gaps",
    "metrics/fairness/segments.json": "the figures per value of data.segment_column",
    "metrics/fairness/mitigation.json": "the fairness-mitigated model beside the unmitigated one",
    "metrics/explain/importance.json": "permutation importance per input column",
    "metrics/explain/explanations.json": "mean absolute SHAP contribution per input column",
    "metrics/nested_cv/metrics.json": "nested CV mean and spread (evaluate.nested_cv)",
    "metrics/nested_cv/folds.json": "what each nested CV fold chose",
    "metrics/leaderboard.md": "every family's cross-validated score",
    "models/search.json": "how the trained family's hyperparameters were chosen (DVC-tracked beside the model)",
    "metrics/validate.json": "rows, missing cells per column, class counts of the raw table",
    "metrics/prepare.json": "rows dropped (duplicates, no label) and the split sizes, per source with data.extra_paths",
    "metrics/featurize.json": "per column: rows imputed, clipped, categories kept or grouped",
    "metrics/score.json": "rows read, scored and rejected by the score stage",
    "metrics/monitor.md": "the monitored batch: drift per column, estimated performance, group selection rates",
    "metrics/monitor.json": "the same, every figure",
    "metrics/compare.md": "champion and challenger on the same rows: each figure, the gain with its interval, the decision and why",
    "metrics/compare.json": "the same, every figure (what `tabular-mlops promote` acts on)",
}

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def file_name(figure: str) -> str:
    """A figure's file name: characters that a path cannot hold safely (a column named `a/b`) become `_`."""
    return _UNSAFE.sub("_", figure) + ".json"


def evaluation_rows(metrics: dict) -> dict[str, dict]:
    """{file name: row} from the evaluation's figures (reporting/figures.py gathers them)."""
    rows = {}
    for name, value in metrics["test"].items():
        row = {"test": value}
        if name in metrics.get("over_baseline", {}):
            row["over_baseline"] = metrics["over_baseline"][name]
        for section in ("cv", "nested_cv"):
            if f"{name}_mean" in metrics.get(section, {}):
                row[section] = metrics[section][f"{name}_mean"]
        rows[file_name(name)] = row
    for column, gaps in metrics.get("fairness", {}).items():
        for gap, value in gaps.items():
            rows[file_name(f"{column}.{gap}")] = {"test": value}
    for metric, (section, name) in BINARY_HEADLINE.items():
        if section in metrics:
            rows[file_name(metric)] = {"test": metrics[section][name]}
    for column, figures in metrics.get("monotonic", {}).items():
        rows[file_name(f"{column}.monotonic_violations")] = {"test": figures["violations"]}
    return rows


# Binary classification's operating point and calibration (metrics/evaluate/metrics.json): headline
# file -> (section, figure). Their interval bounds stay in the detail file.
# Three, so that `dvc metrics show` stays a short table: the rest (precision, NPV, net benefit, the
# calibration intercept) are in the detail file and the model card.
BINARY_HEADLINE = {"sensitivity": ("operating_point", "sensitivity"), "specificity": ("operating_point", "specificity"),
                   "calibration_slope": ("calibration", "slope")}


def data_rows(prepare_report: dict) -> dict:
    """ROWS from prepare's report: the split sizes (how many of them data.extra_paths gave: the
    report's `sources`)."""
    return {"train": prepare_report["train_rows"], "test": prepare_report["test_rows"]}


def monitoring_rows(report: dict) -> dict[str, dict]:
    """{file name: row} from the monitor's report (metrics/monitor.json); only the rows when the
    batch had too few rows for a verdict."""
    rows = {file_name("rows"): {"batch": report["rows"]}}
    if report["status"] != "ok":
        return rows
    rows[file_name("drift_share")] = {"batch": report["drift_share"], "passed": not report["dataset_drift"]}
    performance = report["performance"]
    for name in performance.get("max_estimated_drop", {}):
        rows[file_name(f"estimated_drop.{name}")] = {"batch": performance["estimated_drop"][name],
                                                      "passed": name not in performance["flagged_metrics"]}
    return rows


def promotion_rows(result: dict) -> dict[str, dict]:
    """{file name: row} from the compare stage's result (metrics/compare.json): the decision, and with
    a champion its figure and the challenger's gain over it, both measured on the test split (the
    challenger's own figure is metrics/evaluation/<metric>.json's test; the interval is in compare.json)."""
    name, difference = result["metric"], result["difference"]
    rows = {file_name("decision"): {"passed": result["decision"] == "promote"}}
    if difference is not None:
        rows[file_name(f"champion.{name}")] = {"test": result["champion"][name]}
        rows[file_name(f"gain.{name}")] = {"test": difference["estimate"]}
    return rows


def headline_column(metric: str) -> str | None:
    """Where `dvc exp show` lists an evaluation figure named as gates name it (`cv.roc_auc_mean`):
    `metrics/evaluation/roc_auc.json:cv`; None for one that only the detail files hold (`cv.roc_auc_std`)."""
    section, _, name = metric.partition(".")
    if section == "fairness":
        return f"{EVALUATION}/{file_name(name)}:test"
    if section == "monotonic":
        column, _, figure = name.rpartition(".")
        return f"{EVALUATION}/{file_name(f'{column}.monotonic_violations')}:test" if figure == "violations" else None
    if section in ("test", "over_baseline"):
        return f"{EVALUATION}/{file_name(name)}:{section}"
    if section in ("cv", "nested_cv") and name.endswith("_mean"):
        return f"{EVALUATION}/{file_name(name.removesuffix('_mean'))}:{section}"
    for headline, place in BINARY_HEADLINE.items():
        if place == (section, name):
            return f"{EVALUATION}/{file_name(headline)}:test"
    return None

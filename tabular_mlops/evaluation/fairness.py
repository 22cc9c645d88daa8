"""The fairness stage: the model's figures per group of the test split.

- Per protected column of the contract, fairlearn's figures per group (with bootstrap intervals;
  "too few rows" below fairness.min_group_rows) and the gaps between them, which gates can bound.
- For a mitigated model (train.fairness), the same beside the unmitigated fit.
- Metrics per value of `data.segment_column`.

The decisions are the served model's own: the threshold for a plain model, the randomised
per-row decisions for a mitigated one (models.mitigation.decisions).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tabular_mlops.config.params import Params
from tabular_mlops.data.contract import Contract
from tabular_mlops.evaluation.calibration import calibration
from tabular_mlops.evaluation.diagnostics import cv_rows, segments
from tabular_mlops.evaluation.operating_point import choose_threshold
from tabular_mlops.fairness.groups import group_labels
from tabular_mlops.fairness.metrics import group_report
from tabular_mlops.metrics import FAIRNESS_GAPS
from tabular_mlops.models.mitigation import decisions, is_mitigated
from tabular_mlops.models.scoring import cross_validated_predictions, predict, rounded, score


@dataclass(frozen=True)
class FairnessEvaluation:
    sections: dict  # {"fairness": {protected column: {gap: value}}}, the gateable gaps; {} without a protected column
    reports: dict  # protected column -> groups and gaps (metrics/fairness/groups.json)
    mitigation: dict  # the mitigated model beside the unmitigated one, or {"mitigation": "none"}
    segments: dict  # {"column": data.segment_column, "segments": [figures per value]}


def evaluate_fairness(params: Params, contract: Contract, model, train: tuple[pd.DataFrame, pd.Series],
                      test: tuple[pd.DataFrame, pd.Series], threshold: float) -> FairnessEvaluation:
    """`threshold` is evaluate's (metrics/evaluate/metrics.json): the served model's decisions."""
    task = params.data.problem
    inputs, target = test
    prediction = predict(task, model, inputs)
    column = params.data.segment_column
    by_segment = segments(task, inputs[column], target, prediction, threshold, params.fairness.min_group_rows) if column else []
    decided = decisions(model, inputs, prediction, threshold) if task == "classification" else None
    reports = fairness_reports(params, contract, inputs, target, prediction, decided)
    compared = mitigation_comparison(params, contract, model, inputs, target, cv_rows(params, *train))
    return FairnessEvaluation({"fairness": gap_metrics(task, reports)} if reports else {}, reports, compared, {"column": column, "segments": by_segment})


def fairness_reports(params: Params, contract: Contract, inputs: pd.DataFrame, target: pd.Series,
                     prediction: np.ndarray, decided: np.ndarray | None) -> dict:
    """{protected column: group_report} for the protected columns the test split holds.
    Multiclass has no report: its parity needs a class of interest (name data.positive_class)."""
    task = params.data.problem
    if task == "multiclass":
        return {}
    spec = params.fairness
    reports = {}
    for column in contract.protected:
        if column not in inputs.columns:
            continue  # listed in data.drop_columns
        groups = group_labels(inputs[column], contract.columns[column].bands)
        reports[column] = {"bands": contract.columns[column].bands, **group_report(
            task, target.to_numpy(), np.asarray(prediction), decided, groups, min_group_rows=spec.min_group_rows,
            bootstrap_rounds=spec.bootstrap_rounds, confidence=spec.confidence, seed=params.seed)}
        if task == "classification":
            add_group_calibration(reports[column]["groups"], groups, target.to_numpy(), np.asarray(prediction), spec.confidence)
    return reports


def add_group_calibration(entries: list[dict], groups: pd.Series, target: np.ndarray, probability: np.ndarray, confidence: float) -> None:
    """Each compared group's calibration intercept and slope (calibration.py), with Wald intervals,
    beside its other figures: a model calibrated overall may be too confident for one group."""
    labels = groups.to_numpy()
    for entry in entries:
        if entry["status"] != "ok":
            continue
        inside = labels == entry["group"]
        figures = calibration(target[inside], probability[inside], confidence)
        for name in ("intercept", "slope"):
            entry["metrics"][f"calibration_{name}"] = {key: None if figures[name + suffix] is None else round(figures[name + suffix], 6)
                                                       for key, suffix in (("value", ""), ("low", "_low"), ("high", "_high"))}


def gap_metrics(task: str, reports: dict) -> dict:
    """The gateable gaps, as evaluate's metrics: {column: {gap: value}}; a gap that could not be
    computed is left out (a gate on it fails, saying why)."""
    return {column: {gap: report["gaps"][gap] for gap in FAIRNESS_GAPS[task] if report["gaps"].get(gap) is not None}
            for column, report in reports.items()}


def mitigation_comparison(params: Params, contract: Contract, model, inputs: pd.DataFrame, target: pd.Series,
                          train: tuple[pd.DataFrame, pd.Series]) -> dict:
    """The mitigated model beside the unmitigated fit of the same family: test ROC-AUC and
    accuracy (on the decisions), each gap of the mitigation column, and the cost and the gain.
    The unmitigated model decides at its own threshold, chosen as evaluate chooses one (on its
    out-of-fold training predictions); the mitigated one makes its own decisions."""
    if not is_mitigated(model):
        return {"mitigation": "none"}
    task, column, spec = params.data.problem, model.column, params.evaluate
    _, out_of_fold = cross_validated_predictions(task, model.unmitigated_, *train, spec.cv_folds, params.seed, spec.n_jobs)
    threshold = choose_threshold(train[1], out_of_fold, spec.threshold)
    sides = {}
    for name, candidate in (("unmitigated", model.unmitigated_), ("mitigated", model)):
        probability = predict(task, candidate, inputs)
        decided = decisions(candidate, inputs, probability, threshold)
        accuracy = float(np.mean(decided == target.to_numpy()))
        report = fairness_reports(params, contract.model_copy(update={"columns": {column: contract.columns[column]}}),
                                  inputs, target, probability, decided)[column]
        sides[name] = {"roc_auc": rounded(score(task, target, probability, threshold))["roc_auc"], "accuracy": round(accuracy, 6),
                       **{gap: report["gaps"][gap] for gap in FAIRNESS_GAPS[task]}}
    before, after = sides["unmitigated"], sides["mitigated"]
    change = {key: None if before[key] is None or after[key] is None else round(after[key] - before[key], 6) for key in before}
    return {"mitigation": model.method, "constraint": model.constraint, "column": column, "unmitigated_threshold": round(threshold, 6),
            **sides, "change": change}

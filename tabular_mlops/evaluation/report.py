"""The evaluate stage's part of the evaluation: test metrics, the threshold, CV and the baseline.

`evaluate_model` is a function of the model, the two splits and params; `evaluation_metrics` is
its figures as metrics/evaluate/metrics.json holds them; `write_live` writes the task's plots
through dvclive. Explanations, fairness and nested CV are stages of their own (explanations.py,
fairness.py, nested.py), so a change to what only one of them reads reruns only that one.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from tabular_mlops.config.params import Params
from tabular_mlops.evaluation.calibration import calibration
from tabular_mlops.evaluation.decision_curve import decision_curve, net_benefit, summary, threshold_range
from tabular_mlops.evaluation.diagnostics import cv_rows, log_plots
from tabular_mlops.evaluation.monotonic import monotonic_report
from tabular_mlops.evaluation.operating_point import choose_threshold, operating_point
from tabular_mlops.evaluation.live import write_plots
from tabular_mlops.files import write_text
from tabular_mlops.models.scoring import DIGITS, cross_validated_predictions, holdout_sections, predict, rounded
from tabular_mlops.progress import Progress


BINARY_SECTIONS = ("operating_point", "calibration", "decision_curve")  # binary classification only; a figure may be None


@dataclass(frozen=True)
class Evaluation:
    sections: dict[str, dict]  # test, cv, baseline, over_baseline; binary: BINARY_SECTIONS too; monotonic with train.monotonic
    threshold: float  # chosen on out-of-fold training predictions (binary); 0.5 and unused otherwise
    prediction: np.ndarray | pd.DataFrame  # on the test split
    curve: list[dict] | None = None  # binary: the decision curve (decision_curve.py), a plot of its own


def evaluate_model(params: Params, model: BaseEstimator, train: tuple[pd.DataFrame, pd.Series],
                   test: tuple[pd.DataFrame, pd.Series]) -> Evaluation:
    task, seed, spec = params.data.problem, params.seed, params.evaluate
    (train_inputs, train_target), (test_inputs, test_target) = train, test
    prediction = predict(task, model, test_inputs)
    progress = Progress("evaluate: cross-validation", spec.cv_folds)
    cv_inputs, cv_target = cv_rows(params, train_inputs, train_target)
    cv, out_of_fold = cross_validated_predictions(task, model, cv_inputs, cv_target, spec.cv_folds, seed, spec.n_jobs,
                                                  on_fold=lambda number: progress.step(f"fold {number}/{spec.cv_folds} done"))
    threshold = choose_threshold(cv_target, out_of_fold, spec.threshold) if task == "classification" else 0.5
    held_out = holdout_sections(task, train_target, test_target, prediction, threshold)
    sections = {"test": held_out["test"], "cv": cv, "baseline": held_out["baseline"], "over_baseline": held_out["over_baseline"]}
    curve = None
    if task == "classification":
        outcome = test_target.to_numpy()
        curve = decision_curve(outcome, prediction, threshold_range(spec.decision_curve.start, spec.decision_curve.stop, spec.decision_curve.step))
        at_threshold = {"net_benefit": net_benefit(outcome, prediction, threshold),
                        "net_benefit_treat_all": decision_curve(outcome, prediction, [threshold])[0]["treat_all"]}
        sections.update(operating_point=operating_point(outcome, prediction, threshold, spec.confidence) | at_threshold,
                        calibration=calibration(outcome, prediction, spec.confidence), decision_curve=summary(curve))
    if params.train.monotonic:
        sections["monotonic"] = monotonic_report(task, model, train_inputs, test_inputs, params.train.monotonic,
                                                 spec.monotonic_rows, spec.monotonic_grid, seed)
    return Evaluation(sections, threshold, prediction, curve)


def evaluation_metrics(params: Params, evaluation: Evaluation) -> dict:
    """Every section's figures rounded, and the threshold (binary)."""
    metrics = {section: rounded_or_none(figures) if section in BINARY_SECTIONS
               else figures if section == "monotonic"  # counts, a direction, and the largest violation already rounded
               else rounded(figures) for section, figures in evaluation.sections.items()}
    return {**metrics, "threshold": evaluation.threshold} if params.data.problem == "classification" else metrics


def rounded_or_none(figures: dict) -> dict:
    """Numbers rounded to DIGITS (metrics.json is committed: last-bit noise must not show); a figure
    that could not be computed stays None; counts stay whole."""
    return {name: value if value is None or isinstance(value, int) else round(float(value), DIGITS) for name, value in figures.items()}


def write_metrics(path: str | Path, metrics: dict) -> None:
    """In the layout dvclive gave metrics.json (indent 4, sections in their order), so its bytes stay the same."""
    write_text(path, json.dumps(metrics, indent=4) + "\n")


def write_live(directory: str | Path, plots_declared: str | Path, params: Params, evaluation: Evaluation, test_target: pd.Series) -> None:
    """The task's plots through dvclive. dvclive also writes `plots_declared` (a dvc.yaml naming only
    this task's plots), so neither task shows an empty plot or a "failed to load" warning.
    dvclive's own metrics.json (empty) is written over by write_metrics."""
    write_plots(directory, plots_declared, lambda live: log_plots(live, params, test_target, evaluation.prediction, evaluation.threshold,
                                                                  evaluation.curve))

"""The compared metric and the calibration figures, as functions of the truth and one model's Scores.

They are scikit-learn's, as evaluate scores the test split (tabular_mlops/models/scoring.py),
with one difference: accuracy and F1 count the model's served decisions (Scores.decision: the
evaluated threshold, or a fairness-mitigated model's own decisions), so the figures describe
what the service would answer.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    f1_score,
    log_loss,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
    root_mean_squared_error,
)

from tabular_mlops.metrics import higher_is_better
from tabular_mlops.monitoring.calibration import reliability
from tabular_mlops.promotion.scores import Scores

MetricFunction = Callable[[np.ndarray, Scores], float]
LABELS = {"roc_auc": "ROC-AUC", "average_precision": "average precision", "log_loss": "log loss", "brier": "Brier score",
          "accuracy": "accuracy", "f1": "F1", "f1_macro": "macro F1", "brier_skill": "Brier skill score",
          "rmse": "RMSE", "mae": "MAE", "r2": "R²"}


def metric_function(problem: str, name: str, baseline: np.ndarray | None = None) -> MetricFunction:
    """The function (truth, scores) -> value of metric `name` for `problem`.
    brier_skill needs `baseline`: the training split's class shares (binary: the positive share),
    the no-skill forecast evaluate measures it against."""
    if name == "brier_skill":
        if baseline is None:
            raise ValueError("brier_skill needs the training class shares (baseline)")
        brier = metric_function(problem, "brier")
        return lambda truth, scores: 1 - brier(truth, scores) / brier(truth, _constant(scores, baseline, len(truth)))
    if problem == "regression":
        plain = {"rmse": root_mean_squared_error, "mae": mean_absolute_error, "r2": r2_score}[name]
        return lambda truth, scores: float(plain(truth, scores.score))
    if problem == "multiclass":
        return _multiclass(name)
    return {
        "roc_auc": lambda truth, scores: float(roc_auc_score(truth, scores.score)),
        "average_precision": lambda truth, scores: float(average_precision_score(truth, scores.score)),
        "log_loss": lambda truth, scores: float(log_loss(truth, scores.score, labels=[0, 1])),
        "brier": lambda truth, scores: float(brier_score_loss(truth, scores.score)),
        "accuracy": lambda truth, scores: float(accuracy_score(truth, scores.decision)),
        "f1": lambda truth, scores: float(f1_score(truth, scores.decision, zero_division=0)),
    }[name]


def _multiclass(name: str) -> MetricFunction:
    def value(truth: np.ndarray, scores: Scores) -> float:
        labels = list(scores.classes)
        if name == "roc_auc":
            return float(roc_auc_score(truth, scores.score, multi_class="ovr", average="macro", labels=labels))
        if name == "log_loss":
            return float(log_loss(truth, scores.score, labels=labels))
        if name == "brier":
            return float(brier_score_loss(truth, scores.score, labels=labels))
        if name == "accuracy":
            return float(accuracy_score(truth, scores.decision))
        return float(f1_score(truth, scores.decision, labels=labels, average="macro", zero_division=0))
    return value


def _constant(scores: Scores, baseline: np.ndarray, rows: int) -> Scores:
    shares = np.tile(np.asarray(baseline, dtype=float), (rows, 1)) if scores.problem == "multiclass" \
        else np.full(rows, float(np.asarray(baseline).reshape(-1)[0]))
    return Scores(scores.problem, shares, None, scores.classes)


def gain(name: str, champion: float, challenger: float) -> float:
    """Challenger minus champion, signed so that positive means the challenger is better."""
    return challenger - champion if higher_is_better(name) else champion - challenger


def calibration(truth: np.ndarray, scores: Scores, bins: int) -> dict[str, float]:
    """Brier score and expected calibration error (the monitor's reliability bins, monitor.calibration.bins).
    Multiclass: the summed Brier score, and the top-label ECE (the most probable class's probability
    against whether it was the true class)."""
    brier = metric_function(scores.problem, "brier")(truth, scores)
    if scores.problem == "multiclass":
        top = np.argmax(scores.score, axis=1)
        correct = (np.asarray(scores.classes)[top] == truth).astype(int)
        return {"brier": brier, "ece": reliability(correct, scores.score[np.arange(len(top)), top], bins)["ece"]}
    return {"brier": brier, "ece": reliability(truth, scores.score, bins)["ece"]}

"""The per-group measures, each written once as a numpy function of the group's rows.

Each takes optional row weights: None for the group's value (each row once), or a
(resamples, rows) array of bootstrap counts, one row of counts per resample. Counting draws
instead of copying rows turns every measure into a matrix-vector product, and ROC-AUC needs
one sort of the group rather than one per resample. The same function therefore gives a
group's value (through fairlearn's MetricFrame) and its bootstrap interval, so the two cannot
describe different quantities. A measure undefined on its rows (a true positive rate with no
positives, a ROC-AUC with one class) is NaN.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

Measure = Callable[..., np.ndarray]


def _weights(weight: np.ndarray | None, rows: np.ndarray) -> np.ndarray:
    return np.ones(rows.shape[-1]) if weight is None else weight


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, NaN where the denominator is 0; a plain float for one group,
    since MetricFrame keeps 0-d arrays as objects and then cannot subtract them."""
    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan)
    return result if result.ndim else float(result)


def _mean(values: np.ndarray, weight: np.ndarray | None) -> np.ndarray:
    weight = _weights(weight, values)
    return _ratio(weight @ values, weight.sum(axis=-1))


def selection_rate(target, probability, decision, weight=None):
    return _mean(decision, weight)


def true_positive_rate(target, probability, decision, weight=None):
    weight = _weights(weight, target)
    return _ratio(weight @ (decision * target), weight @ target)


def false_positive_rate(target, probability, decision, weight=None):
    weight = _weights(weight, target)
    return _ratio(weight @ (decision * (1 - target)), weight @ (1 - target))


def roc_auc(target, probability, decision, weight=None):
    """Mann-Whitney form, ties count one half: the share of (positive, negative) pairs ranked right."""
    weight = _weights(weight, target)
    order = np.argsort(probability, kind="stable")
    ranked, weight, target = probability[order], weight[..., order], target[order]
    new_level = np.r_[True, ranked[1:] != ranked[:-1]]
    first = np.maximum.accumulate(np.where(new_level, np.arange(len(ranked)), 0))  # of each row's tie level
    last = np.r_[np.flatnonzero(new_level)[1:], len(ranked)][np.cumsum(new_level) - 1] - 1
    negatives = np.cumsum(weight * (1 - target), axis=-1)  # up to and including each row
    below = negatives[..., first] - (weight * (1 - target))[..., first]
    tied = negatives[..., last] - below
    pairs_right = np.sum(weight * target * (below + tied / 2), axis=-1)
    return _ratio(pairs_right, (weight @ target) * negatives[..., -1])


def brier(target, probability, decision, weight=None):
    return _mean((probability - target) ** 2, weight)


def calibration_gap(target, probability, decision, weight=None):
    """Mean predicted probability minus the observed positive rate: > 0 means over-predicted."""
    return _mean(probability - target, weight)


def mae(target, prediction, weight=None):
    return _mean(np.abs(prediction - target), weight)


def rmse(target, prediction, weight=None):
    return np.sqrt(_mean((prediction - target) ** 2, weight))


def mean_prediction(target, prediction, weight=None):
    return _mean(prediction, weight)


def mean_target(target, prediction, weight=None):
    return _mean(target, weight)


CLASSIFICATION: dict[str, Measure] = {
    "selection_rate": selection_rate,
    "true_positive_rate": true_positive_rate,
    "false_positive_rate": false_positive_rate,
    "roc_auc": roc_auc,
    "brier": brier,
    "calibration_gap": calibration_gap,
}
REGRESSION: dict[str, Measure] = {
    "mae": mae, "rmse": rmse, "mean_prediction": mean_prediction, "mean_target": mean_target,
}
MEASURES = {"classification": CLASSIFICATION, "regression": REGRESSION}

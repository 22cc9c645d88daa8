"""A binary model's decision threshold and operating point: the threshold evaluate.threshold asks
for (a fixed value, the best F1, the lowest cost, or a required sensitivity, specificity or
precision), and what it gives on the test split, with intervals.

A screening model is run at a chosen sensitivity ("miss at most 5% of cases") rather than at
its best F1. `threshold_for_target` picks the threshold on out-of-fold training predictions, like
every other method (evaluate.threshold); `operating_point` reports the test split's realised
sensitivity, specificity, positive and negative predictive values, each with a Wilson score
interval (scipy's `binomtest(...).proportion_ci`), and the net benefit there (decision_curve.py).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from tabular_mlops.config.params import ThresholdParams
from tabular_mlops.errors import StageError

CANDIDATE_THRESHOLDS = np.round(np.linspace(0.01, 0.99, 99), 2)


def choose_threshold(target: pd.Series, probability: np.ndarray, spec: ThresholdParams) -> float:
    """fixed: the given value; max_f1: the best F1; min_cost: the lowest FP/FN cost (first on ties);
    min_sensitivity, min_specificity, min_precision: operating_point.threshold_for_target."""
    if spec.method == "fixed":
        return spec.value
    if spec.method in TARGET_METHODS:
        return threshold_for_target(target.to_numpy(), probability, spec.method, spec.target)
    decided = probability[None, :] >= CANDIDATE_THRESHOLDS[:, None]
    positive = target.to_numpy()[None, :] == 1
    true_positive = (decided & positive).sum(axis=1)
    false_positive = (decided & ~positive).sum(axis=1)
    false_negative = (~decided & positive).sum(axis=1)
    if spec.method == "max_f1":
        f1 = 2 * true_positive / np.maximum(2 * true_positive + false_positive + false_negative, 1)
        return float(CANDIDATE_THRESHOLDS[np.argmax(f1)])
    cost = spec.cost_false_positive * false_positive + spec.cost_false_negative * false_negative
    return float(CANDIDATE_THRESHOLDS[np.argmin(cost)])


# Candidate thresholds for the target methods: a fixed grid, so the chosen value is the same on
# every machine (an out-of-fold probability may differ in its last bit between CPUs).
TARGET_GRID = np.round(np.linspace(0.001, 0.999, 999), 3)
TARGET_METHODS = {"min_sensitivity": "sensitivity", "min_specificity": "specificity", "min_precision": "precision"}


def rates(positive: np.ndarray, decided: np.ndarray) -> dict[str, tuple[int, int]]:
    """(successes, trials) of each rate: sensitivity = TP / positives, specificity = TN / negatives,
    precision (PPV) = TP / decided positive, NPV = TN / decided negative."""
    true_positive, false_positive = int((decided & positive).sum()), int((decided & ~positive).sum())
    false_negative, true_negative = int((~decided & positive).sum()), int((~decided & ~positive).sum())
    return {"sensitivity": (true_positive, true_positive + false_negative),
            "specificity": (true_negative, true_negative + false_positive),
            "precision": (true_positive, true_positive + false_positive),
            "npv": (true_negative, true_negative + false_negative)}


def threshold_for_target(target: np.ndarray, probability: np.ndarray, method: str, wanted: float) -> float:
    """The grid threshold that meets `wanted` and gives up the least of the other side:
    min_sensitivity, the highest threshold whose sensitivity reaches it (the most specific);
    min_specificity and min_precision, the lowest (the most sensitive). StageError when no
    threshold of the grid reaches it, naming evaluate.threshold.target."""
    positive = np.asarray(target) == 1
    decided = np.asarray(probability)[None, :] >= TARGET_GRID[:, None]
    true_positive = (decided & positive).sum(axis=1)
    predicted_positive = decided.sum(axis=1)
    if method == "min_sensitivity":
        achieved = true_positive / max(int(positive.sum()), 1)
    elif method == "min_specificity":
        achieved = ((~decided) & ~positive).sum(axis=1) / max(int((~positive).sum()), 1)
    else:
        achieved = np.where(predicted_positive > 0, true_positive / np.maximum(predicted_positive, 1), 0.0)
    meeting = np.flatnonzero(achieved >= wanted)
    if not len(meeting):
        best = float(achieved.max())
        raise StageError(f"evaluate.threshold.target: no threshold reaches {TARGET_METHODS[method]} {wanted:g} on the out-of-fold "
                         f"training predictions (the most any reaches is {best:.3f}); lower the target or choose another method")
    return float(TARGET_GRID[meeting[-1] if method == "min_sensitivity" else meeting[0]])


def operating_point(target: np.ndarray, probability: np.ndarray, threshold: float, confidence: float) -> dict[str, float | int | None]:
    """The test split's rates at `threshold`, each with its Wilson interval at `confidence`
    (None when the rate has no rows, e.g. no predicted positives)."""
    positive = np.asarray(target) == 1
    decided = np.asarray(probability) >= threshold
    figures: dict[str, float | int | None] = {"threshold": threshold, "rows": int(len(positive)), "positives": int(positive.sum())}
    for name, (successes, trials) in rates(positive, decided).items():
        if trials == 0:
            figures.update({name: None, f"{name}_low": None, f"{name}_high": None})
            continue
        interval = binomtest(successes, trials).proportion_ci(confidence_level=confidence, method="wilson")
        figures.update({name: successes / trials, f"{name}_low": float(interval.low), f"{name}_high": float(interval.high)})
    return figures

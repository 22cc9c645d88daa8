"""Decision curve analysis (Vickers and Elkin, 2006): is acting on the model worth it?

At a threshold probability pt (the risk at which a clinician would act), the net benefit of
acting on every row the model puts at pt or above is

    net benefit = TP / n - FP / n * pt / (1 - pt),

true positives gained, less false positives weighted by the odds at pt. The model is compared
with treating every row (TP = the positives, FP = the negatives) and treating none (0).
"""
from __future__ import annotations

import numpy as np


def threshold_range(start: float, stop: float, step: float) -> np.ndarray:
    """start, start + step, ..., up to stop, rounded so the grid is the same on every machine."""
    return np.round(np.arange(start, stop + step / 2, step), 6)


def net_benefit(target: np.ndarray, probability: np.ndarray, threshold: float) -> float:
    positive, treated = np.asarray(target) == 1, np.asarray(probability) >= threshold
    rows = len(positive)
    return float((treated & positive).sum() / rows - (treated & ~positive).sum() / rows * threshold / (1 - threshold))


def decision_curve(target: np.ndarray, probability: np.ndarray, thresholds: np.ndarray) -> list[dict[str, float]]:
    """Per threshold probability: the model's net benefit, treat-all's and treat-none's."""
    positive = np.asarray(target) == 1
    prevalence = float(positive.mean())
    return [{"threshold": float(pt), "model": net_benefit(target, probability, pt),
             "treat_all": prevalence - (1 - prevalence) * float(pt) / (1 - float(pt)), "treat_none": 0.0} for pt in thresholds]


def summary(curve: list[dict[str, float]]) -> dict[str, float | None]:
    """The threshold probabilities where the model beats both treat-all and treat-none: the lowest and
    highest of them (None when it never does), and the largest margin over the better strategy."""
    better = [row for row in curve if row["model"] > max(row["treat_all"], row["treat_none"])]
    return {"beats_both_from": better[0]["threshold"] if better else None, "beats_both_to": better[-1]["threshold"] if better else None,
            "largest_gain": max((row["model"] - max(row["treat_all"], row["treat_none"]) for row in curve), default=None)}

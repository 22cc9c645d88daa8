"""Are the model's probabilities what they claim? Reliability bins, expected calibration error,
and a calibration map (fitted on the labelled test split) stored as numbers, not a pickle.

Confidence-based performance estimation trusts the probabilities: when the test split shows
them off by more than `monitor.calibration.max_ece`, the monitor corrects them with the map first.
"""
from __future__ import annotations

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

EPSILON = 1e-12  # keeps the logit finite at probabilities of exactly 0 or 1


def reliability(target: np.ndarray, probability: np.ndarray, bins: int) -> dict:
    """Equal-width bins over [0, 1]: per non-empty bin the rows, mean probability and observed
    positive rate; ECE is the row-weighted mean gap between the two."""
    target, probability = np.asarray(target, dtype=float), np.asarray(probability, dtype=float)
    index = np.minimum((probability * bins).astype(int), bins - 1)
    rows = []
    for number in range(bins):
        inside = index == number
        if inside.any():
            rows.append({"low": number / bins, "high": (number + 1) / bins, "rows": int(inside.sum()),
                         "mean_probability": float(probability[inside].mean()), "positive_rate": float(target[inside].mean())})
    ece = sum(row["rows"] * abs(row["positive_rate"] - row["mean_probability"]) for row in rows) / max(len(target), 1)
    return {"ece": float(ece), "bins": rows}


def fit_calibration(target: np.ndarray, probability: np.ndarray, method: str) -> dict:
    """isotonic: the step function's knots (scikit-learn's IsotonicRegression); sigmoid: Platt's
    slope and intercept on the logit of the probability."""
    target, probability = np.asarray(target, dtype=float), np.asarray(probability, dtype=float)
    if method == "isotonic":
        fitted = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(probability, target)
        return {"method": "isotonic", "x": fitted.X_thresholds_.tolist(), "y": fitted.y_thresholds_.tolist()}
    fitted = LogisticRegression(C=1e6).fit(_logit(probability)[:, None], target)
    return {"method": "sigmoid", "slope": float(fitted.coef_[0, 0]), "intercept": float(fitted.intercept_[0])}


def apply_calibration(mapping: dict | None, probability: np.ndarray) -> np.ndarray:
    """The calibrated probabilities; no map: unchanged."""
    probability = np.asarray(probability, dtype=float)
    if mapping is None:
        return probability
    if mapping["method"] == "isotonic":
        return np.interp(probability, mapping["x"], mapping["y"])  # clips beyond the knots, like out_of_bounds="clip"
    return 1.0 / (1.0 + np.exp(-(mapping["slope"] * _logit(probability) + mapping["intercept"])))


def _logit(probability: np.ndarray) -> np.ndarray:
    clipped = np.clip(probability, EPSILON, 1 - EPSILON)
    return np.log(clipped / (1 - clipped))

"""Calibration a clinician checks: calibration-in-the-large and the calibration slope.

Both come from a logistic recalibration of the outcome on the logit of the predicted
probability (Cox 1958; Steyerberg, Clinical Prediction Models, ch. 15):
- the slope b of logit P(y = 1) = a + b * logit(p): 1 when the predictions spread as they
  should, below 1 when they are too extreme (overfitting), above 1 when too modest;
- calibration-in-the-large, the intercept a of logit P(y = 1) = a + logit(p) (the slope held at
  1, logit(p) an offset): 0 when the predictions are right on average, positive when they are
  too low.
Each with a Wald interval from the fit's Fisher information. Fitted by Newton's method (IRLS):
two parameters, no penalty, the maximum-likelihood fit a statistics package gives.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import norm

CLIP = 1e-6  # probabilities are clipped to [CLIP, 1 - CLIP] before the logit: a forest's 0 and 1 have none
ITERATIONS, TOLERANCE = 100, 1e-10


def logit(probability: np.ndarray) -> np.ndarray:
    clipped = np.clip(np.asarray(probability, dtype=np.float64), CLIP, 1 - CLIP)
    return np.log(clipped / (1 - clipped))


def logistic_fit(outcome: np.ndarray, design: np.ndarray, offset: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(coefficients, standard errors) of logit P(y = 1) = design @ beta + offset, by maximum
    likelihood; None when there is no finite maximum (one class only, or the classes separate)."""
    y = np.asarray(outcome, dtype=np.float64)
    if y.min() == y.max():
        return None
    beta = np.zeros(design.shape[1])
    for _ in range(ITERATIONS):
        mean = 1 / (1 + np.exp(-(design @ beta + offset)))
        weight = mean * (1 - mean)
        information = design.T @ (design * weight[:, None])
        try:
            step = np.linalg.solve(information, design.T @ (y - mean))
        except np.linalg.LinAlgError:
            return None
        beta = beta + step
        if np.max(np.abs(step)) < TOLERANCE:
            break
    else:
        return None  # no convergence: separated classes drive a coefficient to infinity
    mean = 1 / (1 + np.exp(-(design @ beta + offset)))
    information = design.T @ (design * (mean * (1 - mean))[:, None])
    return beta, np.sqrt(np.diag(np.linalg.inv(information)))


def calibration(outcome: np.ndarray, probability: np.ndarray, confidence: float) -> dict[str, float | None]:
    """intercept (calibration-in-the-large) and slope, each with its Wald interval at `confidence`."""
    x = logit(probability)
    z = float(norm.ppf(0.5 + confidence / 2))
    figures: dict[str, float | None] = {}
    for name, design, offset in (("intercept", np.ones((len(x), 1)), x), ("slope", np.column_stack([np.ones(len(x)), x]), np.zeros(len(x)))):
        fitted = logistic_fit(np.asarray(outcome) == 1, design, offset)
        if fitted is None:
            figures.update({name: None, f"{name}_low": None, f"{name}_high": None})
            continue
        estimate, error = fitted[0][-1], fitted[1][-1]  # the slope is the second coefficient
        figures.update({name: float(estimate), f"{name}_low": float(estimate - z * error), f"{name}_high": float(estimate + z * error)})
    return figures

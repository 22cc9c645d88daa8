"""The paired bootstrap interval of the gain: both models scored on the very same resamples.

Each round draws one resample of row positions and scores both models on it, so what the two
share (hard rows, easy rows) cancels in the gain, and the interval is that of the difference,
narrower than two separate intervals would suggest. For classification the resample is
stratified by class: each class's rows are drawn with replacement, as many as it holds, so every
resample holds every class (ROC-AUC is defined on each) and the class shares stay those of the rows.

The draws, for a reader who wants to repeat them: `numpy.random.default_rng(seed)`; per round,
classification: for each class in sorted order, `integers(0, n, size=n)` indexes that class's row
positions in ascending order, and the parts are joined in that order; regression: `integers(0,
rows, size=rows)`. The interval is the percentile one: the (1 - confidence) / 2 and (1 + confidence)
/ 2 quantiles (numpy's default, linear) of the rounds' gains; a round whose gain is undefined
(NaN) is left out.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

from tabular_mlops.promotion.metric import MetricFunction, gain
from tabular_mlops.promotion.scores import Scores


def resamples(truth: np.ndarray, rounds: int, seed: int, stratified: bool) -> Iterator[np.ndarray]:
    """`rounds` arrays of row positions, drawn as the module docstring says."""
    generator = np.random.default_rng(seed)
    strata = [np.flatnonzero(truth == label) for label in np.unique(truth)] if stratified else [np.arange(len(truth))]
    for _ in range(rounds):
        yield np.concatenate([positions[generator.integers(0, len(positions), size=len(positions))] for positions in strata])


def paired_gain(metric: MetricFunction, name: str, truth: np.ndarray, champion: Scores, challenger: Scores, *,
                rounds: int, confidence: float, seed: int) -> dict:
    """{"estimate": the gain on all rows, "low", "high": its percentile interval, "confidence", "rounds"}."""
    estimate = gain(name, metric(truth, champion), metric(truth, challenger))
    stratified = champion.problem != "regression"
    gains = np.array([gain(name, metric(truth[rows], champion.take(rows)), metric(truth[rows], challenger.take(rows)))
                      for rows in resamples(truth, rounds, seed, stratified)])
    gains = gains[~np.isnan(gains)]
    low, high = np.quantile(gains, [(1 - confidence) / 2, (1 + confidence) / 2]) if gains.size else (np.nan, np.nan)
    return {"estimate": float(estimate), "low": float(low), "high": float(high), "confidence": confidence, "rounds": rounds}

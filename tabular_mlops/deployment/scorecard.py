"""Scorecard points: a binary model's probability as the points a risk team reads.

The scorecard convention (N. Siddiqi, 2006, ch. 6): a score rises with the odds
of the good outcome, and a fixed number of points doubles those odds:

    points = offset + factor * ln(odds),  factor = points_to_double_odds / ln 2,
    offset = base_score - factor * ln(base_odds),

where odds = (1 - p) / p are the odds against the positive class (the model's event: a default,
a disease), so base_odds map to base_score and doubling the odds adds points_to_double_odds.
"""
from __future__ import annotations

import math

import numpy as np

CLIP = 1e-12  # a probability of exactly 0 or 1 would give infinite points


def scorecard_points(probability: np.ndarray, spec: dict) -> np.ndarray:
    """`spec`: the bundle manifest's scorecard, {points_to_double_odds, base_score, base_odds}."""
    factor = spec["points_to_double_odds"] / math.log(2)
    offset = spec["base_score"] - factor * math.log(spec["base_odds"])
    p = np.clip(np.asarray(probability, dtype=np.float64), CLIP, 1 - CLIP)
    return offset + factor * (np.log1p(-p) - np.log(p))

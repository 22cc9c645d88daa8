"""Percentile intervals for a group's measures, from resampling rows within that group.

Why not MetricFrame's own bootstrap (`n_boot`, `ci_quantiles`): it resamples the whole table,
so a group's size changes from one resample to the next and a small group can drop out of
some; an interval on "this group's rate" should keep the group's size fixed. It also rebuilds
a whole MetricFrame per resample, where the measures here take a block of resamples at once,
as counts of how often each row was drawn.
"""
from __future__ import annotations

import zlib

import numpy as np

from tabular_mlops.fairness.measures import Measure

_CELLS_PER_BLOCK = 2_000_000  # resamples x rows of counts held at once (16 MB per array)


def bootstrap_intervals(
    measures: dict[str, Measure], columns: dict[str, np.ndarray], *, rounds: int, confidence: float,
    seed: int, label: str,
) -> dict[str, tuple[float, float]]:
    """(low, high) per measure: the central `confidence` share of `rounds` resamples.

    The generator is seeded from the seed and the group's label, so a group's interval does
    not move when another group is added. Resamples where a measure is undefined (no
    positives drawn) are left out; if all are, the interval is (NaN, NaN).
    """
    rows = len(next(iter(columns.values())))
    generator = np.random.default_rng([seed % 2**63, zlib.crc32(label.encode())])
    block = max(1, _CELLS_PER_BLOCK // rows)
    draws: dict[str, list[np.ndarray]] = {name: [] for name in measures}
    for start in range(0, rounds, block):
        size = min(block, rounds - start)
        picks = generator.integers(0, rows, size=(size, rows)) + rows * np.arange(size)[:, None]
        counts = np.bincount(picks.ravel(), minlength=size * rows).reshape(size, rows).astype(float)
        for name, measure in measures.items():
            draws[name].append(np.asarray(measure(**columns, weight=counts), dtype=float))
    tails = [(1 - confidence) / 2, (1 + confidence) / 2]
    return {name: _percentiles(np.concatenate(values), tails) for name, values in draws.items()}


def _percentiles(values: np.ndarray, tails: list[float]) -> tuple[float, float]:
    defined = values[~np.isnan(values)]
    if defined.size == 0:
        return (float("nan"), float("nan"))
    low, high = np.quantile(defined, tails)
    return (float(low), float(high))

"""A realistic shifted batch for the monitoring demo, made from the bundled example's test split.

The story: a new partner channel brings mostly young part-time workers, in a downturn. The
rows are resampled (with replacement, seeded) so that part-time workers weigh 15 times and
applicants under 30 three times their share of the test split (part-time goes from about 12 %
to about 70 % of the batch), then every income is lowered by a third. The labels stay those of
the resampled rows, so the realised performance is known too. On the bundled data and the
default params the monitor flags dataset drift and an estimated ROC-AUC drop beyond 0.05:
part-time workers are the segment the model ranks worst (test ROC-AUC about 0.74).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

PART_TIME_WEIGHT, YOUNG_WEIGHT, YOUNG_BELOW, INCOME_FACTOR = 15.0, 3.0, 30, 2 / 3


def shifted_batch(test: pd.DataFrame, seed: int) -> pd.DataFrame:
    """As many rows as `test`, resampled and changed as the module docstring says (the bundled example's columns Job, Age, Income)."""
    weights = np.where(test["Job"] == "partime", PART_TIME_WEIGHT, 1.0) * np.where(test["Age"] < YOUNG_BELOW, YOUNG_WEIGHT, 1.0)
    rows = np.random.default_rng(seed).choice(len(test), size=len(test), replace=True, p=weights / weights.sum())
    batch = test.iloc[rows].reset_index(drop=True)
    return batch.assign(Income=(batch["Income"] * INCOME_FACTOR).round())

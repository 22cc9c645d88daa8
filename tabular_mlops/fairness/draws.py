"""Per-row uniform draws that depend only on a seed and the row's own values.

Randomised fair classifiers (fairlearn's mitigators) flip a coin per row. Drawing the coins
from one generator would tie a row's decision to its position in the batch; hashing the row
instead gives the same decision for the same row, alone or in a batch, on every run.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

_MASK = 0xFFFFFFFFFFFFFFFF


def row_uniforms(X: pd.DataFrame, columns: list, seed: int) -> np.ndarray:
    """One draw in [0, 1) per row of X from the values in `columns` (taken in sorted order).

    Values are put in one form first, so that an integer column that arrives as floats
    (a missing value elsewhere in the batch) or a category column that arrives as text
    still hashes the same: numbers (and booleans) as float64, everything else as text,
    missing as missing.
    """
    canonical = pd.DataFrame({str(name): _canonical(X[name]) for name in sorted(columns, key=str)})
    if canonical.shape[1]:
        hashes = pd.util.hash_pandas_object(canonical, index=False).to_numpy(dtype=np.uint64)
    else:
        hashes = np.zeros(len(X), dtype=np.uint64)
    mixed = _splitmix64(hashes ^ _splitmix64(np.array([seed & _MASK], dtype=np.uint64)))
    return (mixed >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _canonical(values: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        return values.astype("float64").reset_index(drop=True)
    text = values.astype(object).map(lambda value: None if _missing(value) else str(value))
    return text.astype(object).reset_index(drop=True)


def _missing(value) -> bool:
    return value is None or (np.ndim(value) == 0 and bool(pd.isna(value)))


def _splitmix64(values: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser: spreads nearby hashes (and seeds) over the whole range."""
    z = values.astype(np.uint64)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))

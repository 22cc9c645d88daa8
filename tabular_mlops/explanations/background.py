"""background_rows: the seeded sample of training rows an explainer starts from.

The bundle stores it (models/bundle/background.parquet) and evaluate draws the same one, so the
service, batch scoring and the evaluation's global explanations explain against the same rows.
"""
from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd

from tabular_mlops.errors import StageError

BACKGROUND_SAMPLE = 150  # rows kept; build_explainer uses at most BACKGROUND_ROWS (100) of them, evenly spaced


def background_rows(train: pd.DataFrame, columns: list[str], seed: int, *, personal: Collection[str] = (),
                    rows: int = BACKGROUND_SAMPLE) -> pd.DataFrame:
    """`rows` training rows drawn with `seed` (all of them when there are fewer), in their order,
    the model's input `columns` only. A personal column that is a model input is kept as missing
    values: the background is stored with the model, and a person's values never are."""
    missing = [column for column in columns if column not in train.columns]
    if missing:
        raise StageError(f"explanations: the training rows lack the model's input column(s) {', '.join(map(repr, missing))}")
    if len(train) == 0:
        raise StageError("explanations: the training split has no rows to draw the background from")
    chosen = np.arange(len(train)) if len(train) <= rows else np.sort(np.random.default_rng(seed).choice(len(train), rows, replace=False))
    sample = train.iloc[chosen][list(columns)].reset_index(drop=True)
    for column in columns:
        if column in personal:
            sample[column] = sample[column].mask(np.ones(len(sample), dtype=bool))  # NaN, None or NaT by dtype
    return sample

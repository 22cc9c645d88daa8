"""Splitting a prepared table into model inputs and the 0/1 target the model predicts."""
from __future__ import annotations

import pandas as pd

from stages.params import DataParams


def split_inputs_target(table: pd.DataFrame, data: DataParams) -> tuple[pd.DataFrame, pd.Series]:
    """Inputs keep their raw columns; the target becomes 1 for data.positive_class, else 0."""
    target = (table[data.target].astype(str) == data.positive_class).astype("int64").rename(data.target)
    return table.drop(columns=[data.target]), target

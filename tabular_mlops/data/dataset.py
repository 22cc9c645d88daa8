"""Splitting a prepared table into model inputs and the target the model predicts."""
from __future__ import annotations

import pandas as pd

from tabular_mlops.config.params import DataParams


def split_inputs_target(table: pd.DataFrame, data: DataParams) -> tuple[pd.DataFrame, pd.Series]:
    """Inputs keep their raw columns. Classification: 1 for data.positive_class, else 0.
    Multiclass (no positive class): the class labels as text, so a fitted model's `classes_`
    are the labels in sorted order, the contract's order. Regression: the target as float."""
    column = table[data.target]
    if data.problem == "classification":
        target = (column.astype(str) == data.positive_class).astype("int64")
    elif data.problem == "multiclass":
        target = column.astype(str)
    else:
        target = column.astype("float64")
    return table.drop(columns=[data.target]), target.rename(data.target)

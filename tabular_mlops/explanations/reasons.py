"""What an explanation tells a person: reason codes per row, the largest contributions, global importance.

Every list is ordered by value and then by the model's column order, so equal numbers never
swap places between runs.
"""
from __future__ import annotations

import math
from collections.abc import Collection

import numpy as np
import pandas as pd

from tabular_mlops.errors import StageError
from tabular_mlops.explanations.contributions import Explanation

DIGITS = 6


def reason_codes(explanation: Explanation, rows: pd.DataFrame, *, excluded: Collection[str], count: int = 4) -> list[list[dict]]:
    """Per row, the columns that pushed the output up most (for a risk score: toward refusal), largest first.

    Only positive contributions, never a column in `excluded` (personal columns: a person may not
    be told, nor refused, because of them), at most `count`, each with the row's raw value.
    """
    _check_rows(explanation, rows)
    excluded = _checked(excluded, count)
    codes = []
    for index, contributions in explanation.contributions.iterrows():
        kept = [(column, value) for column, value in contributions.items() if _rounded(value) > 0 and column not in excluded]
        codes.append([_entry(column, value, rows.at[index, column]) for column, value in _largest(kept, count)])
    return codes


def top_contributions(explanation: Explanation, count: int = 4, *, rows: pd.DataFrame | None = None,
                      excluded: Collection[str] = ()) -> list[list[dict]]:
    """Per row, the `count` largest contributions by absolute value, either sign; with `rows`, their raw values."""
    if rows is not None:
        _check_rows(explanation, rows)
    excluded = _checked(excluded, count)
    result = []
    for index, contributions in explanation.contributions.iterrows():
        kept = [(column, value) for column, value in contributions.items() if _rounded(value) != 0 and column not in excluded]
        largest = _largest(kept, count, key=abs)
        if rows is None:
            result.append([{"column": column, "contribution": _rounded(value)} for column, value in largest])
        else:
            result.append([_entry(column, value, rows.at[index, column]) for column, value in largest])
    return result


def global_importance(explanation: Explanation) -> list[dict]:
    """Mean absolute contribution per raw column over the explained rows, largest first."""
    means = explanation.contributions.abs().mean(axis=0).fillna(0.0)  # no rows: 0 for every column
    rounded = [(column, _rounded(value)) for column, value in means.items()]
    order = sorted(range(len(rounded)), key=lambda position: (-rounded[position][1], position))
    return [{"column": rounded[position][0], "mean_abs_contribution": rounded[position][1]} for position in order]


def json_safe(value) -> object:
    """A raw cell as JSON can hold it: numpy scalars as Python ones, missing values as None, dates as ISO text."""
    if value is None or value is pd.NaT or (not isinstance(value, str) and pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value if isinstance(value, (str, int, float, bool)) else str(value)


def _largest(pairs: list[tuple[str, float]], count: int, key=lambda value: value) -> list[tuple[str, float]]:
    order = sorted(range(len(pairs)), key=lambda position: (-key(pairs[position][1]), position))
    return [pairs[position] for position in order[:count]]


def _entry(column: str, contribution: float, value) -> dict:
    return {"column": column, "value": json_safe(value), "contribution": _rounded(contribution)}


def _rounded(value: float) -> float:
    return round(float(value), DIGITS) + 0.0  # + 0.0: no -0.0 in the output


def _checked(excluded: Collection[str], count: int) -> frozenset[str]:
    if isinstance(excluded, str):  # `"Gender" in "Gender_code"` would hold: want a set of names
        raise StageError(f"explanations: excluded must be a collection of column names, not the text {excluded!r}")
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise StageError(f"explanations: count must be a whole number, 0 or more; got {count!r}")
    return frozenset(excluded)


def _check_rows(explanation: Explanation, rows: pd.DataFrame) -> None:
    if not rows.index.equals(explanation.contributions.index):
        raise StageError("explanations: rows must be the explained rows, with the same index as explanation.contributions")

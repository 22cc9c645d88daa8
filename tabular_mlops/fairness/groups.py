"""Group labels: one text label per row, so that every fairness figure is keyed the same way.

Numbers are cut into bands when edges are given (an age is not a group, an age band is);
everything else is its own value written as text. Missing values form their own group rather
than being dropped, since rows whose protected value is unknown are scored too.

Band labels, for edges [25, 35, 45]: "<25", "25-35", "35-45", ">=45". Each band holds its
lower edge and not its upper one: 25 is in "25-35", 45 in ">=45". Text sorting would put
"<25" after "35-45", so reports order labels with `group_sort_key` (bands by their lower edge,
numbers by value, then text, then MISSING_GROUP).
"""
from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from tabular_mlops.errors import StageError

MISSING_GROUP = "missing"
TOO_FEW_ROWS = "too few rows"

_NUMBER = r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?"
_PLAIN = re.compile(rf"^{_NUMBER}$")
_RANGE = re.compile(rf"^({_NUMBER})-({_NUMBER})$")


def group_labels(values: pd.Series, bands: list[float] | None = None) -> pd.Series:
    """Text labels, one per row of `values`, on its index; missing values -> MISSING_GROUP."""
    if bands is None:
        labels = values.map(_text)
    else:
        labels = _band_labels(values, _checked_edges(values.name, bands))
    return pd.Series(labels.to_numpy(dtype=object), index=values.index, name=values.name).astype(str)


def group_sort_key(label: str) -> tuple[int, float, str]:
    """Sort key that puts bands and numbers in numeric order (see the module docstring)."""
    if label == MISSING_GROUP:
        return (2, 0.0, label)
    if label.startswith("<") and _PLAIN.match(label[1:]):
        return (0, -math.inf, label)
    if label.startswith(">=") and _PLAIN.match(label[2:]):
        return (0, float(label[2:]), label)
    match = _RANGE.match(label)
    if match:
        return (0, float(match.group(1)), label)
    if _PLAIN.match(label):
        return (0, float(label), label)
    return (1, 0.0, label)


def band_names(edges: list[float]) -> list[str]:
    """The labels of the len(edges) + 1 bands, lowest first."""
    texts = [_number_text(edge) for edge in edges]
    middle = [f"{low}-{high}" for low, high in zip(texts, texts[1:])]
    return [f"<{texts[0]}", *middle, f">={texts[-1]}"]


def _band_labels(values: pd.Series, edges: list[float]) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce")
    not_numbers = values.notna() & numbers.isna()
    if not_numbers.any():
        row = not_numbers.idxmax()
        raise StageError(f"column '{values.name}': bands need numbers, but row {row} holds {values[row]!r}")
    positions = np.searchsorted(edges, numbers.to_numpy(dtype=float), side="right")
    labels = pd.Series(np.asarray(band_names(edges), dtype=object)[positions], index=values.index)
    return labels.where(numbers.notna(), MISSING_GROUP)


def _checked_edges(column: object, bands: list[float]) -> list[float]:
    edges = [float(edge) for edge in bands]
    if not edges or any(not math.isfinite(e) for e in edges) or any(a >= b for a, b in zip(edges, edges[1:])):
        raise StageError(
            f"column '{column}': bands must be finite numbers in strictly ascending order, got {list(bands)}"
        )
    return edges


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if value is None or pd.isna(value):
        return MISSING_GROUP
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return _number_text(value)
    return str(value)


def _number_text(number: float) -> str:
    """1.0 -> "1", 2.5 -> "2.5": a float column of whole numbers reads like integers."""
    number = float(number)
    return str(int(number)) if number.is_integer() else repr(number)

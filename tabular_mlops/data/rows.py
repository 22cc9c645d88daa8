"""Checking a table row by row against the data contract: which rows break which rules.

validate stops at the first broken rule; batch scoring must instead set each bad row aside
with its reasons and score the rest. The rules and their texts are validate's (rules.py; the
pandera schema in validation.pandera_column), minus the ones about a column as a whole, so
both say the same thing about the same value. Here they are whole-column numpy and Arrow
operations, a few milliseconds for a chunk of 50,000 rows (tests/test_rows.py holds them to
pandera's verdicts).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from tabular_mlops.data.contract import ColumnContract, Contract, labels_as_written
from tabular_mlops.data.dates import parse_datetimes
from tabular_mlops.data.rules import DATETIME_RULE, FINITE, NOT_EMPTY, NOT_NUMERIC, WHOLE_NUMBER, at_least, at_most, one_of

VIOLATION_COLUMNS = ["position", "column", "rule"]


def check_rows(table: pd.DataFrame, contract: Contract, columns: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`table[columns]` coerced to the contract's types (numbers float64, categories and text
    as text, datetimes UTC), and its violations: one row per (position, column, rule), position
    counting from 0 in `table`, sorted by position, then column (in `columns`' order), then
    rule (in the contract's order). A missing target is no violation: scoring expects unlabelled rows."""
    frame = table[columns].reset_index(drop=True)
    coerced, broken = {}, []  # broken: (positions, column index, rule) in column order, each column's rules in order
    for order, name in enumerate(columns):
        spec = contract.columns[name]
        coerced[name], rules, missing = _column(frame[name], spec)
        if not spec.nullable and name != contract.target:
            rules.append((missing, NOT_EMPTY))
        broken += [(np.flatnonzero(rows), order, rule) for rows, rule in rules if rows.any()]
    checked = pd.DataFrame(coerced, index=frame.index)
    if not broken:
        return checked, pd.DataFrame({"position": pd.Series(dtype="int64"), "column": pd.Series(dtype="object"),
                                      "rule": pd.Series(dtype="object")})
    positions = np.concatenate([rows for rows, _, _ in broken])
    orders = np.concatenate([np.full(len(rows), order) for rows, order, _ in broken])
    sequence = np.concatenate([np.full(len(rows), number) for number, (rows, _, _) in enumerate(broken)])
    rules = np.array([rule for _, _, rule in broken], dtype=object)
    chosen = np.lexsort((sequence, orders, positions))
    return checked, pd.DataFrame({"position": positions[chosen].astype("int64"),
                                  "column": np.array(columns, dtype=object)[orders[chosen]],
                                  "rule": rules[sequence[chosen]]})


def _column(values: pd.Series, spec: ColumnContract) -> tuple[pd.Series, list[tuple[np.ndarray, str]], np.ndarray]:
    """The column in the contract's type, each rule's rows that break it, and the rows with no
    value (NOT_EMPTY's, when the column is not nullable). A missing value breaks no other rule;
    a value that is not a number (or no date) is reported as such, not also as missing."""
    if spec.type == "category":
        labels = labels_as_written(values, spec.categories or []).astype("str")
        present = labels.notna().to_numpy()
        return labels, [(present & ~labels.isin(spec.categories or []).to_numpy(), one_of(spec.categories))], ~present
    if spec.type == "text":
        text = values.astype("str")
        return text, [], text.isna().to_numpy()
    present = values.notna().to_numpy()
    if spec.type == "datetime":
        # Checked as given, as validate does: a value that is no ISO 8601 date is a violation, not a missing one.
        stamps = parse_datetimes(values)
        return stamps, [(present & stamps.isna().to_numpy(), DATETIME_RULE)], ~present
    numbers = _numbers(values)
    array = numbers.to_numpy()
    not_numbers = present & np.isnan(array)
    present = present & ~not_numbers
    rules = [(not_numbers, NOT_NUMERIC)]
    with np.errstate(invalid="ignore"):
        if spec.type == "integer":
            rules.append((present & ~((array % 1 == 0) | np.isinf(array)), WHOLE_NUMBER))
        rules.append((present & ~np.isfinite(array), FINITE))
        if spec.min is not None:
            rules.append((present & ~(array >= spec.min), at_least(spec.min)))
        if spec.max is not None:
            rules.append((present & ~(array <= spec.max), at_most(spec.max)))
    return numbers, rules, ~present & ~not_numbers


def _numbers(values: pd.Series) -> pd.Series:
    """float64, NaN where the value is missing or not a number. Text is parsed by Arrow when
    every value is a plain number (the usual chunk), else by pandas, which also reads ' 12 '."""
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        import pyarrow as pa
        import pyarrow.compute as pc

        try:
            parsed = pc.cast(values.array.__arrow_array__(), pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        else:
            return pd.Series(parsed.to_numpy(), index=values.index, dtype="float64")
    return pd.to_numeric(values, errors="coerce").astype("float64")

"""Checking a table row by row against the data contract: which rows break which rules.

validate stops at the first broken rule; batch scoring must instead set each bad row aside
with its reasons and score the rest. The rules and their texts are validate's own
(validation.pandera_column), minus the ones about a column as a whole, so both say the same
thing about the same value.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from tabular_mlops.data.contract import Contract, labels_as_written
from tabular_mlops.data.dates import parse_datetimes
from tabular_mlops.data.validation import NOT_EMPTY, NOT_NUMERIC, pandera_column, rule_text

VIOLATION_COLUMNS = ["position", "column", "rule"]


def check_rows(table: pd.DataFrame, contract: Contract, columns: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`table[columns]` coerced to the contract's types (numbers float64, categories text,
    datetimes UTC), and its violations: one row per (position, column, rule), position counting
    from 0 in `table`. A missing target is no violation: scoring expects unlabelled rows."""
    frame = table[columns].reset_index(drop=True)
    specs = {name: contract.columns[name] for name in columns}
    frame = frame.assign(**{name: labels_as_written(frame[name], spec.categories or []) for name, spec in specs.items() if spec.type == "category"})
    violations, not_numbers = [], {}
    for name in (name for name, spec in specs.items() if spec.type in ("integer", "float")):
        # Coerced here rather than by pandera: a value that fails pandera's coercion is reported
        # without its row, and the column's other checks then fail on text.
        numbers = pd.to_numeric(frame[name], errors="coerce").astype("float64")
        positions = np.flatnonzero((frame[name].notna() & numbers.isna()).to_numpy())
        not_numbers[name] = set(positions.tolist())
        violations.append(_violations(positions, name, NOT_NUMERIC))
        frame[name] = numbers
    schema = pa.DataFrameSchema({name: pandera_column(spec.model_copy(update={"nullable": True}) if name == contract.target else spec,
                                                      name == contract.target, whole_table=False)
                                 for name, spec in specs.items()}, name="contract")
    try:
        checked = schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        checked = errors.data  # coerced, as validate would return it
        violations += _failures(errors.failure_cases, not_numbers)
    datetimes = [name for name, spec in specs.items() if spec.type == "datetime"]
    checked = checked.assign(**{name: parse_datetimes(checked[name]) for name in datetimes})
    found = pd.concat(violations, ignore_index=True) if violations else pd.DataFrame(columns=VIOLATION_COLUMNS)
    # Per row, the columns in the table's order (a column's rules in the contract's order).
    order = found["column"].map(columns.index)
    return checked, found.assign(order=order).sort_values(["position", "order"], kind="stable").drop(columns="order").reset_index(drop=True)


def _failures(cases: pd.DataFrame, not_numbers: dict[str, set]) -> list[pd.DataFrame]:
    if cases["index"].isna().any():  # every rule left names a row; a failure without one is a bug here
        raise RuntimeError(f"a contract check failed without naming a row:\n{cases[cases['index'].isna()]}")
    found = pd.DataFrame({"position": cases["index"].astype(int), "column": cases["column"].astype(str),
                          "rule": cases["check"].astype(str).map(rule_text)})
    # A value that is not a number became missing above: "must not be empty" would say it twice.
    repeated = pd.Series([rule == NOT_EMPTY and position in not_numbers.get(column, ())
                          for position, column, rule in found.itertuples(index=False)], index=found.index, dtype=bool)
    return [found[~repeated]]


def _violations(positions: np.ndarray, column: str, rule: str) -> pd.DataFrame:
    return pd.DataFrame({"position": positions.astype(int), "column": column, "rule": rule})

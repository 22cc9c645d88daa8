"""Checking a table against the data contract with pandera; one line per violation.

A violation names the file, the column, example rows and the rule.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from tabular_mlops.data.contract import ColumnContract, Contract, as_labels
from tabular_mlops.config.params import DataParams
from tabular_mlops.errors import StageError
from tabular_mlops.data.dates import parse_datetimes
from tabular_mlops.data.rules import DATETIME_RULE, FINITE, NOT_EMPTY, NOT_NUMERIC, WHOLE_NUMBER, at_least, at_most, one_of

EXAMPLES_SHOWN = 3
# The rules about a column as a whole (pandera_column's whole_table): a part of a table may break them when the whole does not.
SOME_VALUE_RULE = "must hold at least one value, but every row is empty"
TWO_CLASSES_RULE = "must hold at least two classes"
MASKED = "a value not shown (personal column)"


def check_params_against_contract(data: DataParams, contract: Contract) -> None:
    """The params and the contract must describe the same table."""
    if data.target != contract.target:
        raise StageError(
            f"{data.contract}: the contract's target is '{contract.target}' but data.target is '{data.target}'"
        )
    if data.target not in contract.columns:
        raise StageError(f"{data.contract}: the target '{data.target}' is not among the contract's columns")
    target_type = contract.columns[data.target].type
    if (data.task == "classification") != (target_type == "category"):
        expected = "category" if data.task == "classification" else "integer or float"
        raise StageError(f"{data.contract}: data.task is '{data.task}', so the target '{data.target}' must have type {expected}; the contract says {target_type}")
    classes = contract.columns[data.target].categories or []
    if data.problem == "multiclass" and len(classes) == 2:
        # Two classes: one is the class of interest; naming it keeps the decision threshold,
        # its F1 and the ROC, precision-recall and calibration plots.
        raise StageError(f"params.yaml: data.positive_class is null, but the target '{data.target}' has two classes {classes}"
                         f" (from {data.contract}); name the class whose probability the model outputs, e.g. positive_class: {classes[0]}")
    if data.problem == "classification" and data.positive_class not in classes:
        raise StageError(f"params.yaml: data.positive_class must be one of {classes} (from {data.contract}); got '{data.positive_class}'")
    unknown = [name for name in data.drop_columns if name not in contract.columns]
    if unknown:
        raise StageError(f"params.yaml: data.drop_columns names {unknown}, which {data.contract} does not list")


def check_segment_column(column: str | None, data: DataParams, contract: Contract) -> None:
    """Checked here, before hours of training, though only evaluate uses it. A protected column
    that is not a model input is a segment column too; a withheld personal column is not."""
    kept = [name for name in contract.columns if name not in (contract.target, *contract.withheld, *data.drop_columns)]
    if column is not None and column not in kept:
        raise StageError(f"params.yaml: data.segment_column '{column}' is not a column of {data.contract} that validate keeps;"
                         f" choose one of {', '.join(kept)} or null")


def pandera_schema(contract: Contract, whole_table: bool = True) -> pa.DataFrameSchema:
    """The contract as a pandera schema; each check's error text is the rule users read."""
    columns = {name: pandera_column(spec, name == contract.target, whole_table) for name, spec in contract.columns.items()}
    return pa.DataFrameSchema(columns, strict=True, name="contract")


def pandera_column(spec: ColumnContract, is_target: bool, whole_table: bool = True) -> pa.Column:
    """One column's rules. whole_table=False leaves out the rules about the column as a whole
    (some value, two classes), so every failure names a row: batch scoring checks a chunk at a time."""
    checks = []
    if whole_table:
        checks.append(pa.Check(lambda s: bool(s.notna().any()), ignore_na=False, error=SOME_VALUE_RULE))
    if spec.type == "category":
        checks.append(pa.Check.isin(spec.categories or [], error=one_of(spec.categories)))
    if spec.type == "integer":
        checks.append(pa.Check(lambda s: (s % 1 == 0) | np.isinf(s), error=WHOLE_NUMBER))
    if spec.type == "text":
        return pa.Column("str", checks, nullable=spec.nullable, coerce=True)
    if spec.type == "datetime":
        checks.append(pa.Check(lambda s: parse_datetimes(s).notna(), error=DATETIME_RULE))
        # Checked as text, then parsed by validate_table: pandera's own coercion would accept 01/02/2024.
        return pa.Column(None, checks, nullable=spec.nullable)
    if spec.type in ("integer", "float"):
        # pandas reads "inf" as a number, which scikit-learn's imputers refuse.
        checks.append(pa.Check(lambda s: np.isfinite(s), error=FINITE))
    if spec.min is not None:
        checks.append(pa.Check.ge(spec.min, error=at_least(spec.min)))
    if spec.max is not None:
        checks.append(pa.Check.le(spec.max, error=at_most(spec.max)))
    if whole_table and is_target and spec.type == "category":
        checks.append(pa.Check(lambda s: s.dropna().nunique() >= 2, error=TWO_CLASSES_RULE))
    # Integers are held as float64 so that a missing value stays NaN, as scikit-learn expects.
    dtype = "str" if spec.type == "category" else "float64"
    return pa.Column(dtype, checks, nullable=spec.nullable, coerce=True)


def validate_table(table: pd.DataFrame, contract: Contract, source: str | Path, whole_table: bool = True) -> pd.DataFrame:
    """Return the table coerced to the contract's types, or raise StageError on the first violation."""
    validated, failures = check_table(table, contract, whole_table)
    if failures is not None:
        raise StageError(describe_violation(failures, list(contract.columns), source, masked=contract.personal))
    return validated


def check_table(table: pd.DataFrame, contract: Contract, whole_table: bool = True) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """(the table coerced to the contract's types, None), or (None, pandera's failure cases).
    Personal columns that are not model inputs are checked, then left out (`Contract.withheld`):
    nothing downstream, DVC's cache included, ever holds them. whole_table=False: as pandera_column's."""
    categories = [name for name, spec in contract.columns.items() if spec.type == "category" and name in table.columns]
    table = table.assign(**{name: as_labels(table[name]) for name in categories})
    try:
        validated = pandera_schema(contract, whole_table).validate(table, lazy=True)
    except pa.errors.SchemaErrors as errors:
        return None, errors.failure_cases
    datetimes = [name for name, spec in contract.columns.items() if spec.type == "datetime"]
    validated = validated.drop(columns=contract.withheld)
    return validated.assign(**{name: parse_datetimes(validated[name]) for name in datetimes if name in validated}), None


def describe_violation(failures: pd.DataFrame, column_order: list[str], source: str | Path, masked: list[str] = ()) -> str:
    """One line: the first column that breaks a rule, the rule, example rows, and how much else broke.
    The example values of `masked` (personal) columns are not quoted."""
    failures = failures.assign(order=failures["column"].map(lambda name: _rank(name, column_order)))
    first = failures.sort_values(["order", "check_number"], kind="stable", na_position="first").iloc[0]
    if first["check"] == "column_in_dataframe":
        message = f"column '{first['failure_case']}' is missing; the contract requires it"
    elif first["check"] == "column_in_schema":
        message = f"column '{first['failure_case']}' is not in the contract; add it to the contract or remove it from the table"
    else:
        same = failures[(failures["column"] == first["column"]) & (failures["check"] == first["check"])]
        message = f"column '{first['column']}' {rule_text(first['check'])}{_examples(same, source, first['column'] in masked)}"
    others = sorted({str(name) for name in failures["column"].dropna()} - {str(first["column"])})
    more = f" (other columns with violations: {', '.join(others)})" if others else ""
    return f"{source}: {message}{more}"


def _rank(name: object, column_order: list[str]) -> int:
    return column_order.index(name) if name in column_order else -1


def rule_text(check: str) -> str:
    if check.startswith("coerce_dtype") or check.startswith("dtype("):
        return NOT_NUMERIC if "float" in check else f"has the wrong type ({check})"
    if check == "not_nullable":
        return NOT_EMPTY
    return check


def _examples(failures: pd.DataFrame, source: str | Path, masked: bool = False) -> str:
    rows = failures.dropna(subset=["index"]).head(EXAMPLES_SHOWN)
    if rows.empty:
        return ""
    # CSV rows are given as line numbers (the header is line 1) so an editor finds them.
    offset, unit = (2, "line") if str(source).endswith(".csv") else (0, "row")
    shown = ", ".join(f"{unit} {int(row['index']) + offset} holds {MASKED if masked else _value(row['failure_case'])}"
                      for _, row in rows.iterrows())
    total = len(failures)
    return f", but {shown}" + (f" ({total} rows in all)" if total > len(rows) else "")


def _value(value: object) -> str:
    return "an empty value" if value is None or (isinstance(value, float) and pd.isna(value)) else repr(value)


def summarize(table: pd.DataFrame, target: str) -> dict:
    """What was checked: sizes, missing cells per column, duplicates, and the target's classes
    (or, for a numeric target, its range)."""
    return summary_of(len(table), int(table.duplicated().sum()), table.isna().sum(), table[target])


def summarize_parts(duplicate_rows: int, missing_by_part: list[pd.Series], target: pd.Series) -> dict:
    """`summarize` from a table's parts: its duplicate rows, each part's missing cells per column
    and the whole target column."""
    return summary_of(len(target), duplicate_rows, sum(missing_by_part[1:], missing_by_part[0]), target)


def summary_of(rows: int, duplicate_rows: int, missing_by_column: pd.Series, target: pd.Series) -> dict:
    summary = {
        "rows": int(rows),
        "columns": int(len(missing_by_column)),
        "duplicate_rows": int(duplicate_rows),
        "missing_cells": int(missing_by_column.sum()),
        "missing_by_column": {name: int(count) for name, count in missing_by_column.items()},
    }
    values = target.dropna()
    if pd.api.types.is_numeric_dtype(values):
        described = {"mean": values.mean(), "std": values.std(), "min": values.min(), "max": values.max()}
        summary["target"] = {name: round(float(value), 6) for name, value in described.items()}
    else:
        summary["class_counts"] = {str(label): int(count) for label, count in values.value_counts().sort_index().items()}
    return summary

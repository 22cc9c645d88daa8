"""Row-by-row contract checks (batch scoring): every rule a row breaks, in validate's words."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from tabular_mlops.data.contract import ColumnContract, Contract
from tabular_mlops.data.rows import check_rows
from tabular_mlops.data.validation import validate_table
from tabular_mlops.errors import StageError

CONTRACT = Contract(target="y", columns={
    "y": ColumnContract(type="category", nullable=False, categories=["no", "yes"]),
    "n": ColumnContract(type="integer", nullable=False, min=0, max=10),
    "x": ColumnContract(type="float", nullable=True),
    "c": ColumnContract(type="category", nullable=True, categories=["a", "b"]),
    "d": ColumnContract(type="datetime", nullable=True),
})
GOOD = {"y": "yes", "n": 3, "x": 0.5, "c": "a", "d": "2024-01-31"}
# One broken rule each: (column, value, the rule check_rows names).
BROKEN = [
    ("n", -1, "must be >= 0"),
    ("n", 11, "must be <= 10"),
    ("n", 2.5, "must hold whole numbers"),
    ("n", np.nan, "must not be empty"),
    ("n", "abc", "must be numeric"),
    ("x", np.inf, "must be a finite number"),
    ("c", "z", "must be one of ['a', 'b']"),
    ("d", "31/01/2024", "must be an ISO 8601 date or timestamp (e.g. 2024-01-31 or 2024-01-31T14:05:00)"),
]


def table(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame([{**GOOD, **row} for row in rows])


@pytest.mark.parametrize(("column", "value", "rule"), BROKEN, ids=[rule for _, _, rule in BROKEN])
def test_each_broken_rule_names_its_row_and_column_in_the_words_validate_uses(column, value, rule) -> None:
    frame = table({"y": "no"}, {column: value}, {})
    checked, violations = check_rows(frame, CONTRACT, list(frame.columns))
    assert violations.to_dict("records") == [{"position": 1, "column": column, "rule": rule}]
    assert len(checked) == 3
    # One definition of each rule: validate refuses the same table with the same text.
    with pytest.raises(StageError, match=re.escape(f"column '{column}' {rule}")):
        validate_table(frame, CONTRACT, "t.parquet")


def test_a_row_breaking_several_rules_gets_each_once_in_column_order() -> None:
    frame = table({}, {"c": "z", "n": "abc", "d": "never"}, {"n": np.nan})
    _, violations = check_rows(frame, CONTRACT, list(frame.columns))
    assert violations.to_dict("records") == [
        {"position": 1, "column": "n", "rule": "must be numeric"},  # not also "must not be empty"
        {"position": 1, "column": "c", "rule": "must be one of ['a', 'b']"},
        {"position": 1, "column": "d", "rule": BROKEN[-1][2]},
        {"position": 2, "column": "n", "rule": "must not be empty"},
    ]


def test_good_rows_come_out_in_the_contract_types_and_a_missing_label_is_no_violation() -> None:
    frame = table({"n": "7", "c": None, "y": None, "d": "2024-02-01T10:00:00+02:00"})
    checked, violations = check_rows(frame, CONTRACT, list(frame.columns))
    assert violations.empty
    assert checked["n"].dtype == "float64" and checked.loc[0, "n"] == 7.0
    assert pd.isna(checked.loc[0, "c"]) and pd.isna(checked.loc[0, "y"])
    assert checked.loc[0, "d"] == pd.Timestamp("2024-02-01T08:00:00Z")


def test_a_chunk_whose_nullable_column_is_all_empty_passes() -> None:
    # validate refuses a column with no value at all; a chunk of a scoring file may have one.
    frame = table({"x": np.nan, "c": None})
    assert check_rows(frame, CONTRACT, list(frame.columns))[1].empty


def test_a_number_read_as_text_is_the_label_validate_would_have_made_of_it() -> None:
    # validate reads a whole CSV: a 0/1 column is numeric there, and 1.0 becomes the label '1'.
    contract = Contract(target="y", columns={"y": ColumnContract(type="category", nullable=True, categories=["0", "1"])})
    frame = pd.DataFrame({"y": pd.Series(["1.0", "01", "0", "2", "yes"], dtype="str")})
    checked, violations = check_rows(frame, contract, ["y"])
    assert checked["y"].tolist()[:3] == ["1", "1", "0"]
    assert violations["position"].tolist() == [3, 4]

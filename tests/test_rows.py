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


# The rows' checks are whole-column numpy; validate's are pandera's. Each value below breaks a
# rule, breaks several, or none, as text (a CSV chunk) and as typed values (a Parquet chunk).
WIDE = Contract(target="y", columns={
    "y": ColumnContract(type="category", nullable=False, categories=["0", "1"]),
    "n": ColumnContract(type="integer", nullable=False, min=0, max=10),
    "x": ColumnContract(type="float", nullable=True, min=-1.5),
    "c": ColumnContract(type="category", nullable=False, categories=["a", "b"]),
    "t": ColumnContract(type="text", nullable=True),
    "d": ColumnContract(type="datetime", nullable=False),
})
POOLS = {
    "y": ["0", "1", "1.0", "01", "2", "yes", None, ""],
    "n": ["3", "0", "10", "-1", "11", "2.5", "-2.5", "inf", "-inf", "1e400", "abc", "nan", " 7 ", "1_0", None, "", "-0", "7.0"],
    "x": ["0.5", "-1.5", "-1.6", "1e-300", "inf", "-inf", "NaN", "x", "3", None, "", "  "],
    "c": ["a", "b", "z", "A", " a", None, "", "1"],
    "t": ["free text", "", None, "12"],
    "d": ["2024-01-31", "2024-01-31T14:05:00+02:00", "2024-13-01", "31/01/2024", "2024-01-31Z", "now", None, ""],
}


def pandera_rows(table: pd.DataFrame, contract: Contract, columns: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows' checks as pandera runs validate's rules (validation.pandera_column): the reference."""
    import pandera.pandas as pa

    from tabular_mlops.data.contract import labels_as_written
    from tabular_mlops.data.dates import parse_datetimes
    from tabular_mlops.data.validation import NOT_EMPTY, NOT_NUMERIC, pandera_column, rule_text

    frame = table[columns].reset_index(drop=True)
    specs = {name: contract.columns[name] for name in columns}
    frame = frame.assign(**{name: labels_as_written(frame[name], spec.categories or [])
                            for name, spec in specs.items() if spec.type == "category"})
    found, not_numbers = [], set()
    for name in (name for name, spec in specs.items() if spec.type in ("integer", "float")):
        numbers = pd.to_numeric(frame[name], errors="coerce").astype("float64")
        for position in np.flatnonzero((frame[name].notna() & numbers.isna()).to_numpy()):
            found.append((int(position), name, NOT_NUMERIC))
            not_numbers.add((int(position), name))
        frame[name] = numbers
    schema = pa.DataFrameSchema({name: pandera_column(spec.model_copy(update={"nullable": True}) if name == contract.target else spec,
                                                      name == contract.target, whole_table=False) for name, spec in specs.items()})
    try:
        checked = schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        checked = errors.data
        found += [(int(case["index"]), case["column"], rule_text(case["check"])) for _, case in errors.failure_cases.iterrows()
                  if not (rule_text(case["check"]) == NOT_EMPTY and (int(case["index"]), case["column"]) in not_numbers)]
    checked = checked.assign(**{name: parse_datetimes(checked[name]) for name, spec in specs.items() if spec.type == "datetime"})
    found.sort(key=lambda violation: (violation[0], columns.index(violation[1])))  # stable: each column's rules in pandera's order
    return checked, pd.DataFrame(found, columns=["position", "column", "rule"])


# Numbers Arrow parses (the quick path), and pandas too: every text number above but those with
# spaces or underscores, "-0" (pandas reads it as 0.0 or -0.0 depending on the other rows) and words.
PLAIN = {"n": ["3", "0", "10", "-1", "11", "2.5", "-2.5", "inf", "-inf", "1e400", "nan", "7.0", "+4", None],
         "x": ["0.5", "-1.5", "-1.6", "1e-300", "inf", "-inf", "NaN", "3", ".25", "1.7976931348623157e308", None]}


def drawn(seed: int, form: str) -> pd.DataFrame:
    generator = np.random.default_rng(seed)
    pools = POOLS | PLAIN if form == "plain numbers" else POOLS
    table = pd.DataFrame({name: pd.Series(generator.choice(np.array(pool, dtype=object), 400), dtype="str")
                          for name, pool in pools.items()}).replace("", np.nan)  # a CSV's empty field is missing
    if form == "typed":  # as a Parquet file holds them: numbers as numbers, dates as timestamps
        table = table.assign(n=pd.to_numeric(table["n"], errors="coerce"), x=pd.to_numeric(table["x"], errors="coerce"),
                             d=pd.to_datetime(table["d"], format="ISO8601", utc=True, errors="coerce"),
                             t=table["t"].astype(object))
    return table


@pytest.mark.parametrize("form", ["text", "plain numbers", "typed"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_vectorised_checks_name_the_rows_rules_and_values_pandera_names(seed: int, form: str) -> None:
    table = drawn(seed, form)
    columns = ["n", "y", "x", "c", "t", "d"]
    checked, violations = check_rows(table, WIDE, columns)
    expected_checked, expected = pandera_rows(table, WIDE, columns)
    assert len(expected) > 400  # most rules are broken many times, several in one row
    assert violations.to_dict("records") == expected.to_dict("records")
    pd.testing.assert_frame_equal(checked, expected_checked, check_dtype=True)


def test_a_chunk_without_violations_checks_its_numbers_text_the_way_pandas_reads_them() -> None:
    frame = table({"n": "7"}, {"n": " 8 "}, {"x": "1e-3"}).astype({"n": "str", "x": "str"})
    checked, violations = check_rows(frame, CONTRACT, list(frame.columns))
    assert violations.empty
    assert checked["n"].tolist() == [7.0, 8.0, 3.0] and checked["x"].tolist() == [0.5, 0.5, 0.001]

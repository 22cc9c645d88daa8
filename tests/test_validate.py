"""validate: the table against the contract, with one message that names column, rule and rows."""
import numpy as np
import pandas as pd
import pytest

from tabular_mlops.data.contract import ColumnContract, Contract
from tabular_mlops.errors import StageError
from tabular_mlops.config.params import DataParams
from tabular_mlops.data.validation import check_params_against_contract, summarize, validate_table

SOURCE = "data/raw/credit.csv"
CONTRACT = Contract(
    target="Status",
    columns={
        "Status": ColumnContract(type="category", nullable=True, categories=["bad", "good"]),
        "Age": ColumnContract(type="integer", nullable=False, min=0.0),
        "Home": ColumnContract(type="category", nullable=True, categories=["owner", "rent"]),
        "Ratio": ColumnContract(type="float", nullable=True),
    },
)


@pytest.fixture
def good():
    return pd.DataFrame(
        {"Status": ["bad", "good", "good", None], "Age": [30, 41, 52, 23], "Home": ["rent", None, "owner", "rent"], "Ratio": [0.5, np.nan, 1.5, 2.0]}
    )


def data_params(**changes):
    values = dict(path=SOURCE, target="Status", task="classification", positive_class="bad", drop_columns=[], contract="data/contract.yaml")
    return DataParams(**(values | changes))


def test_good_table_passes_and_numbers_become_float(good):
    validated = validate_table(good, CONTRACT, SOURCE)
    assert validated["Age"].dtype == np.float64
    assert validated["Age"].tolist() == [30.0, 41.0, 52.0, 23.0]
    assert validated["Status"].isna().tolist() == [False, False, False, True]


@pytest.mark.parametrize(
    "column, values, expected",
    [
        ("Age", [30, "abc", 52, 23], r"column 'Age' must be numeric, but line 3 holds 'abc'"),
        ("Home", ["rent", "boat", "owner", "rent"], r"column 'Home' must be one of \['owner', 'rent'\], but line 3 holds 'boat'"),
        ("Age", [30, 41, -1, 23], r"column 'Age' must be >= 0, but line 4 holds -1"),
        ("Age", [30, 41, 52.5, 23], r"column 'Age' must hold whole numbers, but line 4 holds 52\.5"),
        ("Age", [30, 41, None, 23], r"column 'Age' must not be empty, but line 4 holds an empty value"),
        ("Ratio", [np.nan] * 4, r"column 'Ratio' must hold at least one value, but every row is empty"),
        ("Status", ["bad", "bad", None, "bad"], r"column 'Status' must hold at least two classes"),
    ],
)
def test_violation_names_the_column_the_rule_and_the_csv_line(good, column, values, expected):
    with pytest.raises(StageError, match=rf"^data/raw/credit\.csv: {expected}"):
        validate_table(good.assign(**{column: values}), CONTRACT, SOURCE)


def test_parquet_source_gives_row_numbers_not_line_numbers(good):
    with pytest.raises(StageError, match=r"column 'Age' must be >= 0, but row 2 holds -1"):
        validate_table(good.assign(Age=[30, 41, -1, 23]), CONTRACT, "data/raw/credit.parquet")


def test_many_violations_show_three_examples_and_the_total(good):
    table = pd.concat([good] * 3, ignore_index=True).assign(Home="boat")
    with pytest.raises(StageError, match=r"line 2 holds 'boat', line 3 holds 'boat', line 4 holds 'boat' \(12 rows in all\)"):
        validate_table(table, CONTRACT, SOURCE)


def test_first_violation_is_reported_and_other_broken_columns_are_named(good):
    with pytest.raises(StageError, match=r"column 'Age' must be >= 0.*\(other columns with violations: Home\)$"):
        validate_table(good.assign(Age=[-1, 41, 52, 23], Home="boat"), CONTRACT, SOURCE)


def test_missing_column_is_refused(good):
    with pytest.raises(StageError, match=r"column 'Home' is missing; the contract requires it"):
        validate_table(good.drop(columns="Home"), CONTRACT, SOURCE)


def test_column_not_in_contract_is_refused(good):
    with pytest.raises(StageError, match=r"column 'Id' is not in the contract"):
        validate_table(good.assign(Id=range(4)), CONTRACT, SOURCE)


def test_params_matching_the_contract_pass():
    check_params_against_contract(data_params(drop_columns=["Home"]), CONTRACT)


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"target": "Age"}, r"the contract's target is 'Status' but data\.target is 'Age'"),
        ({"positive_class": "ugly"}, r"data\.positive_class must be one of \['bad', 'good'\] .*; got 'ugly'"),
        ({"drop_columns": ["Id"]}, r"data\.drop_columns names \['Id'\], which data/contract\.yaml does not list"),
    ],
)
def test_params_that_disagree_with_the_contract_are_refused(changes, expected):
    with pytest.raises(StageError, match=expected):
        check_params_against_contract(data_params(**changes), CONTRACT)


def test_regression_with_a_category_target_is_refused():
    with pytest.raises(StageError, match=r"data\.task is 'regression', so the target 'Status' must have type integer or float; the contract says category"):
        check_params_against_contract(data_params(task="regression", positive_class=None), CONTRACT)


def test_classification_with_a_numeric_target_is_refused():
    contract = Contract(target="Age", columns=dict(CONTRACT.columns))
    with pytest.raises(StageError, match=r"data\.task is 'classification', so the target 'Age' must have type category; the contract says integer"):
        check_params_against_contract(data_params(target="Age"), contract)


def test_regression_with_a_numeric_target_passes_without_a_positive_class():
    contract = Contract(target="Ratio", columns=dict(CONTRACT.columns))
    check_params_against_contract(data_params(target="Ratio", task="regression", positive_class=None), contract)


def test_zero_one_labels_with_an_unlabelled_row_pass_a_contract_of_0_and_1(tmp_path):
    # pandas reads the label column as floats 0.0/1.0 because of the empty cell; the file holds 0 and 1.
    path = tmp_path / "t.csv"
    path.write_text("Default,Age\n0,30\n1,41\n,52\n1,23\n", encoding="utf-8")
    contract = Contract(target="Default", columns={
        "Default": ColumnContract(type="category", nullable=True, categories=["0", "1"]),
        "Age": ColumnContract(type="integer", nullable=False),
    })
    validated = validate_table(pd.read_csv(path), contract, str(path))
    assert validated["Default"].tolist()[:2] == ["0", "1"]


def test_summarize_counts_rows_missing_cells_duplicates_and_classes(good):
    table = pd.concat([good, good.iloc[[0]]], ignore_index=True)
    summary = summarize(table, "Status")
    assert summary["rows"] == 5 and summary["columns"] == 4
    assert summary["duplicate_rows"] == 1
    assert summary["missing_by_column"] == {"Status": 1, "Age": 0, "Home": 1, "Ratio": 1}
    assert summary["missing_cells"] == 3
    assert summary["class_counts"] == {"bad": 2, "good": 2}


def test_summarize_gives_the_range_of_a_numeric_target_instead_of_class_counts(good):
    summary = summarize(good, "Age")
    assert "class_counts" not in summary
    assert summary["target"] == {"mean": 36.5, "std": round(float(np.std([30, 41, 52, 23], ddof=1)), 6), "min": 23.0, "max": 52.0}


DATED = Contract(target="Status", columns={
    "Status": ColumnContract(type="category", nullable=True, categories=["bad", "good"]),
    "Opened": ColumnContract(type="datetime", nullable=True),
})


def test_datetime_column_is_parsed_to_utc_timestamps():
    table = pd.DataFrame({"Status": ["bad", "good", "good"], "Opened": ["2024-01-31", None, "2024-02-01T10:30:00+01:00"]})
    validated = validate_table(table, DATED, SOURCE)
    assert str(validated["Opened"].dtype).endswith("UTC]")
    assert validated["Opened"].isna().tolist() == [False, True, False]
    assert str(validated["Opened"].iloc[2]) == "2024-02-01 09:30:00+00:00"


def test_unparseable_datetime_names_the_column_the_format_and_the_csv_line():
    table = pd.DataFrame({"Status": ["bad", "good", "good"], "Opened": ["2024-01-31", "31/01/2024", "2024-02-30"]})
    with pytest.raises(StageError, match=r"^data/raw/credit\.csv: column 'Opened' must be an ISO 8601 date or timestamp"
                                         r" \(e\.g\. 2024-01-31 or 2024-01-31T14:05:00\), but line 3 holds '31/01/2024', line 4 holds '2024-02-30'$"):
        validate_table(table, DATED, SOURCE)


def test_empty_datetime_in_a_non_nullable_column_is_refused():
    contract = Contract(target="Status", columns=dict(DATED.columns) | {"Opened": ColumnContract(type="datetime", nullable=False)})
    table = pd.DataFrame({"Status": ["bad", "good"], "Opened": ["2024-01-31", None]})
    with pytest.raises(StageError, match=r"column 'Opened' must not be empty, but line 3 holds an empty value"):
        validate_table(table, contract, SOURCE)


def test_two_classes_without_a_positive_class_are_refused_asking_to_name_one():
    with pytest.raises(StageError, match=r"data\.positive_class is null, but the target 'Status' has two classes \['bad', 'good'\] .*"
                                         r"name the class whose probability the model outputs, e.g\. positive_class: bad"):
        check_params_against_contract(data_params(positive_class=None), CONTRACT)


def test_three_classes_without_a_positive_class_pass_as_multiclass():
    columns = dict(CONTRACT.columns) | {"Status": ColumnContract(type="category", nullable=True, categories=["bad", "fair", "good"])}
    check_params_against_contract(data_params(positive_class=None), Contract(target="Status", columns=columns))

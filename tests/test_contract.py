"""The data contract: drafted from a table, written as YAML, read back and checked."""
import numpy as np
import pandas as pd
import pytest

from tabular_mlops.data.contract import ColumnContract, Contract, contract_yaml, infer_contract, read_contract
from tabular_mlops.errors import StageError


@pytest.fixture
def table():
    return pd.DataFrame(
        {
            "Status": ["good", "bad", "good", "bad"],
            "Income": [100.0, np.nan, 250.0, 0.0],  # whole numbers held as float because of the NaN
            "Ratio": [0.5, 1.25, 2.0, 0.0],
            "Balance": [-10, 5, 0, 7],
            "Home": ["rent", "owner", "rent", "parents"],
            "Flag": [True, False, True, True],
        }
    )


def test_whole_floats_with_missing_values_are_inferred_as_nullable_integer(table):
    income = infer_contract(table, "Status", "t.csv").columns["Income"]
    assert income == ColumnContract(type="integer", nullable=True, min=0.0)


def test_fractional_numbers_are_inferred_as_float(table):
    assert infer_contract(table, "Status", "t.csv").columns["Ratio"].type == "float"


def test_floor_of_zero_only_when_no_value_is_negative(table):
    columns = infer_contract(table, "Status", "t.csv").columns
    assert columns["Ratio"].min == 0.0
    assert columns["Balance"].min is None


def test_text_and_bool_columns_are_categories_with_sorted_observed_values(table):
    columns = infer_contract(table, "Status", "t.csv").columns
    assert columns["Home"] == ColumnContract(type="category", nullable=False, categories=["owner", "parents", "rent"])
    assert columns["Flag"].categories == ["False", "True"]


def test_target_is_a_nullable_category_even_without_missing_labels(table):
    status = infer_contract(table, "Status", "t.csv").columns["Status"]
    assert status == ColumnContract(type="category", nullable=True, categories=["bad", "good"])


def test_all_null_column_is_refused(table):
    with pytest.raises(StageError, match=r"t\.csv: column 'Empty' has no values"):
        infer_contract(table.assign(Empty=np.nan), "Status", "t.csv")


def test_target_not_in_table_is_refused(table):
    with pytest.raises(StageError, match=r"the target column 'Outcome' \(data\.target\) is not in the table"):
        infer_contract(table, "Outcome", "t.csv")


def test_contract_yaml_round_trips_through_read_contract(table, tmp_path):
    # 'no', 'yes', 'on' and '1' are booleans and numbers to YAML unless quoted.
    contract = infer_contract(table.assign(Records=["no", "yes", "on", "1"]), "Status", "t.csv")
    path = tmp_path / "contract.yaml"
    path.write_text(contract_yaml(contract, "t.csv"), encoding="utf-8")
    assert read_contract(path) == contract


def test_missing_contract_is_refused_with_the_command_that_writes_one(tmp_path):
    with pytest.raises(StageError, match=r"contract\.yaml: file not found; draft the contract with `tabular-mlops contract`"):
        read_contract(tmp_path / "contract.yaml")


def test_unknown_key_in_contract_is_refused_naming_it(tmp_path):
    path = tmp_path / "contract.yaml"
    path.write_text("target: y\ncolumns:\n  y: {type: category, nullable: true, maximum: 3}\n", encoding="utf-8")
    with pytest.raises(StageError, match=r"key 'columns\.y\.maximum'"):
        read_contract(path)


def test_unknown_column_type_in_contract_is_refused(tmp_path):
    path = tmp_path / "contract.yaml"
    path.write_text("target: y\ncolumns:\n  y: {type: string, nullable: true}\n", encoding="utf-8")
    with pytest.raises(StageError, match=r"key 'columns\.y\.type'"):
        read_contract(path)


def test_features_exclude_the_target_and_the_dropped_columns(table):
    contract = infer_contract(table, "Status", "t.csv")
    assert list(contract.features(["Flag"])) == ["Income", "Ratio", "Balance", "Home"]


def test_contract_is_immutable():
    contract = Contract(target="y", columns={"y": ColumnContract(type="category", nullable=True, categories=["a", "b"])})
    with pytest.raises(ValueError):
        contract.target = "z"


def test_regression_target_stays_numeric_and_nullable(table):
    contract = infer_contract(table.assign(Price=[10.5, 20.0, 30.25, 5.0]), "Price", "t.csv", task="regression")
    assert contract.columns["Price"] == ColumnContract(type="float", nullable=True, min=0.0)
    assert contract.columns["Status"].type == "category"  # a text column is still a category


def test_whole_number_regression_target_is_an_integer_column(table):
    contract = infer_contract(table.assign(Count=[3, 0, 7, 1]), "Count", "t.csv", task="regression")
    assert contract.columns["Count"].type == "integer"


def test_classification_target_of_zeros_and_ones_is_a_category_not_a_number(table):
    contract = infer_contract(table.assign(Default=[0, 1, 1, 0]), "Default", "t.csv", task="classification")
    assert contract.columns["Default"] == ColumnContract(type="category", nullable=True, categories=["0", "1"])


def test_a_zero_one_feature_stays_numeric_when_the_target_is_another_column(table):
    contract = infer_contract(table.assign(Default=[0, 1, 1, 0]), "Status", "t.csv", task="classification")
    assert contract.columns["Default"].type == "integer"


def test_zero_one_target_with_an_unlabelled_row_keeps_its_labels_as_written(tmp_path):
    # pandas reads a 0/1 column with an empty cell as floats 0.0/1.0; the labels in the file are still 0 and 1,
    # so `positive_class: 1` (read as "1") must be one of them.
    path = tmp_path / "t.csv"
    path.write_text("Default,Age\n0,30\n1,41\n,52\n1,23\n", encoding="utf-8")
    contract = infer_contract(pd.read_csv(path), "Default", path, task="classification")
    assert contract.columns["Default"].categories == ["0", "1"]


def test_iso_dates_and_timestamps_are_inferred_as_datetime_not_as_one_category_per_value(table):
    dated = table.assign(Opened=["2024-01-31", "2023-02-01T10:00:00", None, "2022-12-31 23:59"])
    assert infer_contract(dated, "Status", "t.csv").columns["Opened"] == ColumnContract(type="datetime", nullable=True)


def test_a_datetime_dtype_column_is_inferred_as_datetime(table):
    stamps = table.assign(Opened=pd.to_datetime(["2024-01-31", "2023-02-01", "2022-12-31", "2021-06-01"]))
    assert infer_contract(stamps, "Status", "t.csv").columns["Opened"].type == "datetime"


@pytest.mark.parametrize(
    "values, expected",
    [(["2024-01-31", "2024-02-01", "soon", "2024-02-03"], "category"),  # one value is not a date
     (["31/01/2024", "01/02/2024", "02/02/2024", "03/02/2024"], "category"),  # not ISO: day and month are a guess
     ([20240131, 20240201, 20240202, 20240203], "integer")],  # numbers stay numbers
)
def test_columns_that_are_not_all_iso_dates_keep_their_type(table, values, expected):
    assert infer_contract(table.assign(Opened=values), "Status", "t.csv").columns["Opened"].type == expected


def test_datetime_contract_round_trips_through_yaml(table, tmp_path):
    contract = infer_contract(table.assign(Opened=["2024-01-31"] * 4), "Status", "t.csv")
    path = tmp_path / "contract.yaml"
    path.write_text(contract_yaml(contract, "t.csv"), encoding="utf-8")
    assert "  Opened:\n    type: datetime\n    nullable: false\n" in path.read_text(encoding="utf-8")
    assert read_contract(path) == contract


def test_hand_written_yes_no_labels_and_column_names_keep_their_text(tmp_path):
    path = tmp_path / "contract.yaml"
    path.write_text(
        "target: on\n"
        "columns:\n"
        "  on: {type: category, nullable: true, categories: [yes, no]}\n"
        "  off: {type: integer, nullable: false}\n",
        encoding="utf-8",
    )
    contract = read_contract(path)
    assert contract.target == "on"
    assert contract.columns["on"].categories == ["yes", "no"]
    assert list(contract.columns) == ["on", "off"] and contract.columns["off"].nullable is False


def test_drafted_contract_quotes_yes_no_labels_so_any_yaml_reader_sees_text(tmp_path):
    table = pd.DataFrame({"Default": ["yes", "no", "yes"], "Age": [30, 40, 50]})
    contract = infer_contract(table, "Default", "t.csv")
    (tmp_path / "contract.yaml").write_text(contract_yaml(contract, "t.csv"), encoding="utf-8")
    assert "categories: ['no', 'yes']" in (tmp_path / "contract.yaml").read_text()
    assert read_contract(tmp_path / "contract.yaml").columns["Default"].categories == ["no", "yes"]

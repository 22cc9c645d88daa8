"""split_inputs_target: the raw input columns, and the target as the model sees it."""
import numpy as np
import pandas as pd
import pytest

from tabular_mlops.data.dataset import split_inputs_target
from tabular_mlops.config.params import DataParams

TABLE = pd.DataFrame({"Age": [30.0, 41.0, 52.0], "Status": ["bad", "good", "bad"], "Home": ["rent", "owner", None]})


def data(**changes) -> DataParams:
    values = dict(path="t.csv", target="Status", task="classification", positive_class="bad", contract="c.yaml")
    return DataParams(**(values | changes))


def test_inputs_are_every_other_column_in_order_and_unchanged():
    inputs, _ = split_inputs_target(TABLE, data())
    pd.testing.assert_frame_equal(inputs, TABLE[["Age", "Home"]])


def test_classification_target_is_one_for_the_positive_class_and_zero_otherwise():
    _, target = split_inputs_target(TABLE, data())
    assert target.tolist() == [1, 0, 1] and target.dtype == np.int64 and target.name == "Status"


def test_positive_class_is_compared_as_text():
    # Validated tables hold labels as text; params.yaml may give the class as a number.
    table = pd.DataFrame({"x": [1.0, 2.0, 3.0], "Default": ["0", "1", "1"]})
    _, target = split_inputs_target(table, data(target="Default", positive_class=1))
    assert target.tolist() == [0, 1, 1]


def test_regression_target_is_the_value_as_float():
    table = pd.DataFrame({"x": ["a", "b"], "Price": [3, 7]})
    inputs, target = split_inputs_target(table, data(target="Price", task="regression", positive_class=None))
    assert target.tolist() == [3.0, 7.0] and target.dtype == np.float64 and target.name == "Price"
    assert list(inputs.columns) == ["x"]


def test_the_table_is_left_as_it_was():
    before = TABLE.copy()
    split_inputs_target(TABLE, data())
    pd.testing.assert_frame_equal(TABLE, before)


def test_missing_target_column_raises():
    with pytest.raises(KeyError):
        split_inputs_target(TABLE.drop(columns="Status"), data())


def test_multiclass_target_is_the_labels_as_text():
    # No positive class: every class is predicted, so the labels are kept (as text, like the contract's).
    table = pd.DataFrame({"x": [1.0, 2.0, 3.0], "Grade": ["b", "a", "c"]})
    inputs, target = split_inputs_target(table, data(target="Grade", positive_class=None))
    assert target.tolist() == ["b", "a", "c"] and target.name == "Grade" and list(inputs.columns) == ["x"]

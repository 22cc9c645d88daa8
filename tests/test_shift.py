"""demo-drift's shifted batch: the rule of monitoring/shift.py on references built by hand, for
each task, and its one-line refusal when no input can be shifted."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tabular_mlops.errors import StageError
from tabular_mlops.monitoring.reference import Reference
from tabular_mlops.monitoring.shift import Shift, plan_shift, shifted_batch


def binary_reference() -> Reference:
    """400 rows: the model is unsure (p = 0.5) of channel 'web' and of low x, sure elsewhere;
    the score follows x; 'noise' follows nothing; 'rare' holds 2 % of the rows."""
    rng = np.random.default_rng(0)
    x = np.arange(400, dtype=float)  # whole numbers
    channel = np.where(np.arange(400) % 4 == 0, "web", "branch")
    channel[:8] = "rare"
    probability = np.where((channel == "web") | (x < 100), 0.5, np.clip(x / 400, 0.01, 0.99))
    test = pd.DataFrame({"x": x, "noise": rng.normal(size=400), "channel": channel, "probability": probability,
                         "Status": np.where(rng.random(400) < probability, "bad", "good")})
    profile = {"problem": "classification", "target": "Status", "positive_class": "bad",
               "columns": {"channel": "categorical", "noise": "numeric", "x": "numeric"}}
    return Reference(test.iloc[:0], test, profile)


def test_the_least_sure_category_and_the_input_the_score_follows_are_shifted_towards_the_unsure_quarter():
    shift = plan_shift(binary_reference())
    # 'web' rows all score 0.5 (uncertainty 0.25, the most); 'rare' is below 5 % of the rows; x's sd is 115.6, half is 58
    assert shift == Shift(("channel", "web"), "x", lowest=True, step=-58.0, bounds=(0.0, 399.0), whole=True)
    assert shift.describe() == "channel = web weighs 15x; the lowest quarter of x weighs 3x, then x moves by -58 (0.5 sd)"


def test_the_shifted_batch_over_represents_the_category_and_the_quarter_and_moves_the_input():
    test = binary_reference().test.assign(x=lambda table: table["x"].astype("int64"))
    shift = plan_shift(binary_reference())
    batch = shifted_batch(test, shift, seed=0)
    assert len(batch) == len(test) and batch["x"].dtype == "int64"
    # each row's chance to be drawn: 15 for 'web', times 3 in the lowest quarter of x
    weights = np.where(test["channel"] == "web", 15.0, 1.0) * np.where(test["x"] <= test["x"].quantile(0.25), 3.0, 1.0)
    expected_web = weights[test["channel"] == "web"].sum() / weights.sum()
    assert (batch["channel"] == "web").mean() == pytest.approx(expected_web, abs=0.06)
    assert batch["x"].min() == 0 and batch["x"].max() <= 399 - 58  # moved down by 58, kept within the test split's range
    assert shifted_batch(test, shift, seed=0).equals(batch)  # the same seed, the same batch


def test_regression_uses_the_absolute_error_and_the_prediction():
    rng = np.random.default_rng(1)
    size = rng.uniform(0, 10, 300)
    prediction = 2 * size
    target = prediction + np.where(size > 7.5, rng.normal(0, 5, 300), rng.normal(0, 0.1, 300))  # wrong on the large ones
    test = pd.DataFrame({"size": size, "prediction": prediction, "price": target})
    reference = Reference(test.iloc[:0], test, {"problem": "regression", "target": "price", "columns": {"size": "numeric"}})
    shift = plan_shift(reference)
    assert shift.category is None and shift.numeric == "size" and shift.lowest is False and not shift.whole
    assert shift.step == pytest.approx(0.5 * test["size"].std())


@pytest.mark.parametrize("columns, table", [
    ({"when": "datetime"}, {"when": pd.date_range("2024-01-01", periods=40)}),
    ({"flat": "numeric", "one": "categorical"}, {"flat": [3.0] * 40, "one": ["a"] * 40}),
])
def test_a_table_with_no_input_to_shift_is_refused_in_one_line(columns, table):
    test = pd.DataFrame({**table, "probability": np.linspace(0.1, 0.9, 40), "Status": ["bad", "good"] * 20})
    profile = {"problem": "classification", "target": "Status", "positive_class": "bad", "columns": columns}
    with pytest.raises(StageError) as refused:
        plan_shift(Reference(test.iloc[:0], test, profile))
    assert str(refused.value) == ("demo-drift: no input column to shift: it needs a numeric input with two or more values or a"
                                  f" categorical one with two or more categories; the model's inputs are {', '.join(columns)}")

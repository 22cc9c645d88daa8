"""gate: every metric held to its bound; a failure names the metric, the bound and the value; the shipped
defaults pass a useful model and fail the dummy on binary, multiclass and regression tables."""
from pathlib import Path

import pandas as pd
import pytest
import yaml
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from tabular_mlops.config.params import Gate, Params
from tabular_mlops.families.registry import build_estimator
from tabular_mlops.features.preprocessing import build_preprocessor
from tabular_mlops.models.scoring import holdout_sections, predict
from tabular_mlops.reporting.gates import GATES, check_gates, failure_message

METRICS = {
    "test": {"roc_auc": 0.82, "brier": 0.15, "rmse": 3.0},
    "cv": {"roc_auc_mean": 0.8},
    "over_baseline": {"roc_auc": 0.32},
    "threshold": 0.3,
}


def test_gates_within_their_bounds_pass():
    gates = [Gate(metric="test.roc_auc", min=0.8), Gate(metric="test.brier", max=0.2), Gate(metric="cv.roc_auc_mean", min=0.7, max=0.9)]
    results = check_gates(gates, METRICS)
    assert [row["passed"] for row in results] == [True, True, True]
    assert results[0] == {"metric": "test.roc_auc", "min": 0.8, "max": None, "value": 0.82, "passed": True}


def test_a_value_equal_to_its_bound_passes():
    results = check_gates([Gate(metric="test.roc_auc", min=0.82), Gate(metric="test.brier", max=0.15)], METRICS)
    assert all(row["passed"] for row in results)


@pytest.mark.parametrize(
    "gate",
    [Gate(metric="test.roc_auc", min=0.9), Gate(metric="test.brier", max=0.1), Gate(metric="over_baseline.roc_auc", min=0.0, max=0.3)],
)
def test_a_value_beyond_its_min_or_max_fails(gate):
    assert check_gates([gate], METRICS)[0]["passed"] is False


def test_failure_message_names_each_failed_metric_its_threshold_and_its_value():
    gates = [Gate(metric="test.roc_auc", min=0.9), Gate(metric="test.brier", max=0.2), Gate(metric="test.rmse", max=2.5)]
    message = failure_message(check_gates(gates, METRICS))
    assert message.startswith("gate failed (2 of 3): ")
    assert "test.roc_auc = 0.82 is below the minimum 0.9" in message
    assert "test.rmse = 3 is above the maximum 2.5" in message
    assert "test.brier" not in message  # it passed
    assert GATES in message and "params.yaml" in message


def test_failure_message_for_a_gate_with_min_and_max_says_which_side_was_missed():
    message = failure_message(check_gates([Gate(metric="over_baseline.roc_auc", min=0.0, max=0.3)], METRICS))
    assert "over_baseline.roc_auc = 0.32 is above the maximum 0.3" in message


def test_a_nan_metric_fails_its_gate_and_the_message_still_names_it():
    # A fold that fails to fit gives NaN scores (cross_validate's error_score), so cv.* can be NaN.
    results = check_gates([Gate(metric="cv.roc_auc_mean", min=0.7)], {"cv": {"roc_auc_mean": float("nan")}})
    assert results[0]["passed"] is False
    assert "cv.roc_auc_mean is not a number" in failure_message(results)


def test_a_fairness_gate_reads_the_gap_of_its_column_and_fails_when_it_cannot_be_computed():
    from tabular_mlops.config.params import Gate
    from tabular_mlops.reporting.gates import check_gates, failure_message

    metrics = {"fairness": {"Marital": {"demographic_parity_difference": 0.31}, "Age": {"demographic_parity_difference": None}}}
    results = check_gates([Gate(metric="fairness.Marital.demographic_parity_difference", max=0.25),
                           Gate(metric="fairness.Age.demographic_parity_difference", max=0.25)], metrics)
    assert [row["passed"] for row in results] == [False, False]
    message = failure_message(results)
    assert "fairness.Marital.demographic_parity_difference = 0.31 is above the maximum 0.25" in message
    assert "fairness.Age.demographic_parity_difference could not be computed" in message


def test_a_fairness_gate_on_a_column_that_is_not_protected_names_the_protected_ones():
    from tabular_mlops.config.params import Gate
    from tabular_mlops.errors import StageError
    from tabular_mlops.reporting.gates import check_gates

    with pytest.raises(StageError, match=r"'Income' is not a protected column of the data contract \(protected columns: Marital\)"):
        check_gates([Gate(metric="fairness.Income.demographic_parity_difference", max=0.2)], {"fairness": {"Marital": {}}})


# --- the shipped defaults: a useful model passes them on any table, the dummy fails every one ---

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = yaml.safe_load((ROOT / "params.yaml").read_text())


def credit_table() -> pd.DataFrame:
    return pd.read_csv(ROOT / "data/raw/credit.csv")


# Each gives the inputs, the target (binary as 0/1) and data.positive_class, which makes the problem binary or not.
def records(table: pd.DataFrame):  # binary, 17% 'yes': a useful model whose ROC-AUC is near 0.72
    return table.drop(columns="Records"), (table["Records"] == "yes").astype(int), "yes"


def status(table: pd.DataFrame):  # binary, 28% 'bad': the committed pipeline's target
    return table.drop(columns="Status"), (table["Status"] == "bad").astype(int), "bad"


def home(table: pd.DataFrame):  # three classes with shares 55/25/20%, much as a telco table's contract type
    table = table[table["Home"].isin(["owner", "rent", "parents"])]
    return table.drop(columns="Home"), table["Home"], None


def diabetes(_: pd.DataFrame):
    frame = load_diabetes(as_frame=True, scaled=False).frame
    return frame.drop(columns="target"), frame["target"], None


def default_gates_and_sections(target, family: str) -> tuple[list, dict]:
    """The shipped gates of the table's problem, and the sections evaluate writes for `family` fitted on 75% of it."""
    inputs, labels, positive_class = target(credit_table())
    task = "regression" if target is diabetes else "classification"
    raw = {**SHIPPED, "data": {**SHIPPED["data"], "task": task, "positive_class": positive_class, "segment_column": None}}
    params = Params.model_validate(raw)
    problem = params.data.problem
    train_inputs, test_inputs, train_target, test_target = train_test_split(
        inputs, labels, test_size=0.25, random_state=0, stratify=None if task == "regression" else labels)
    numeric = list(train_inputs.select_dtypes("number").columns)
    categorical = [column for column in train_inputs.columns if column not in numeric]
    model = Pipeline([("preprocess", build_preprocessor(numeric, categorical, params.featurize)),
                      ("model", build_estimator(task, family, params.train.family_params(family), params.seed))])
    model.fit(train_inputs, train_target)
    return params.task_gates, holdout_sections(problem, train_target, test_target, predict(problem, model, test_inputs))


TABLES = [status, records, home, diabetes]


@pytest.mark.parametrize("target", TABLES, ids=lambda target: target.__name__)
def test_the_default_gates_pass_a_useful_model(target):
    family = "linear_regression" if target is diabetes else "logistic_regression"
    gates, sections = default_gates_and_sections(target, family)
    results = check_gates(gates, sections)
    assert all(row["passed"] for row in results), failure_message(results)


@pytest.mark.parametrize("target", TABLES, ids=lambda target: target.__name__)
def test_every_default_gate_fails_the_dummy(target):
    gates, sections = default_gates_and_sections(target, "dummy")
    assert [row for row in check_gates(gates, sections) if row["passed"]] == []


def test_review_against_a_base_that_predates_a_gated_metric_shows_nan_and_no_regression():
    from tabular_mlops.reporting.review import regressions

    base = {"test": {"brier": 0.13}, "over_baseline": {"roc_auc": 0.35}}  # evaluated before test.brier_skill existed
    new = {"test": {"brier": 0.13, "brier_skill": 0.33}, "over_baseline": {"roc_auc": 0.35}}
    rows = regressions([Gate(metric="over_baseline.roc_auc", min=0.1), Gate(metric="test.brier_skill", min=0.01)], base, new, 0.01)
    assert [row["regressed"] for row in rows] == [False, False]
    assert rows[1]["new"] == 0.33 and rows[1]["base"] != rows[1]["base"]  # NaN

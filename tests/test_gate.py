"""gate: every metric held to its bound; a failure names the metric, the bound and the value."""
import pytest

from tabular_mlops.reporting.gates import GATES, check_gates, failure_message
from tabular_mlops.config.params import Gate

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


def test_review_against_a_base_that_predates_a_gated_metric_shows_nan_and_no_regression():
    from tabular_mlops.reporting.review import regressions

    base = {"test": {"brier": 0.13}, "over_baseline": {"roc_auc": 0.35}}  # evaluated before test.brier_skill existed
    new = {"test": {"brier": 0.13, "brier_skill": 0.33}, "over_baseline": {"roc_auc": 0.35}}
    rows = regressions([Gate(metric="over_baseline.roc_auc", min=0.1), Gate(metric="test.brier_skill", min=0.01)], base, new, 0.01)
    assert [row["regressed"] for row in rows] == [False, False]
    assert rows[1]["new"] == 0.33 and rows[1]["base"] != rows[1]["base"]  # NaN

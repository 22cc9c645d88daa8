"""The monitor's statistics, each checked against an independent computation on a tiny case,
and its verdicts on hand-made batches (no DVC, no trained model: a reference built by hand)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.calibration import calibration_curve
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import roc_auc_score, root_mean_squared_error

from tabular_mlops.config.params import DriftParams, MonitorParams, load_params
from tabular_mlops.errors import StageError
from tabular_mlops.monitoring.calibration import apply_calibration, fit_calibration, reliability
from tabular_mlops.monitoring.check import check_batch, gate_failure
from tabular_mlops.monitoring.drift import choose_method, column_drift, dataset_drift, psi
from tabular_mlops.monitoring.estimation import estimate, estimated_roc_auc, expected_confusion
from tabular_mlops.monitoring.reference import Reference
from tabular_mlops.monitoring.report import html, markdown

SPEC = DriftParams()


# --- which method, as Evidently chooses ---

@pytest.mark.parametrize("rows, values, kind, expected", [
    (1000, range(6), "numeric", "ks"),
    (1000, range(5), "numeric", "chi_square"),  # few distinct numbers: compared as categories
    (1000, [0, 1], "numeric", "z"),
    (1000, ["a", "b", "c"], "categorical", "chi_square"),
    (1000, ["a", "b"], "categorical", "z"),
    (1001, range(6), "numeric", "wasserstein"),
    (1001, range(5), "numeric", "jensen_shannon"),
    (1001, ["a", "b"], "categorical", "jensen_shannon"),
])
def test_the_method_follows_evidentlys_defaults(rows, values, kind, expected) -> None:
    values = list(values)
    reference = pd.Series([values[i % len(values)] for i in range(rows)])
    assert choose_method(reference, reference.head(50), kind, SPEC) == expected


# --- each statistic against an independent computation ---

def test_ks_verdict_is_scipys_ks_2samp() -> None:
    rng = np.random.default_rng(0)
    reference, current = pd.Series(rng.normal(size=300)), pd.Series(rng.normal(0.3, size=200))
    result = column_drift(reference, current, "numeric", SPEC)
    expected = stats.ks_2samp(reference, current).pvalue
    assert result["method"] == "ks" and result["statistic"] == pytest.approx(expected)
    assert result["drifted"] == (expected < 0.05) and result["drifted"]


def test_z_test_is_the_two_proportion_formula() -> None:
    # reference: 30 of 100 "yes"; current: 45 of 100. Pooled p = 0.375.
    reference = pd.Series(["yes"] * 30 + ["no"] * 70)
    current = pd.Series(["yes"] * 45 + ["no"] * 55)
    z = (0.70 - 0.55) / math.sqrt(0.375 * 0.625 * (1 / 100 + 1 / 100))  # share of "no", the first value
    expected = math.erfc(abs(z) / math.sqrt(2))  # two-sided normal tail
    result = column_drift(reference, current, "categorical", SPEC)
    assert result["method"] == "z" and result["statistic"] == pytest.approx(expected, rel=1e-9)
    assert result["drifted"] is True and expected == pytest.approx(0.0285, abs=1e-3)


def test_chi_square_is_the_homogeneity_test_of_the_counts() -> None:
    reference = pd.Series(["a"] * 50 + ["b"] * 30 + ["c"] * 20)
    current = pd.Series(["a"] * 30 + ["b"] * 30 + ["c"] * 40)
    # expected counts per row: the column totals split evenly (both rows hold 100)
    observed = np.array([[50, 30, 20], [30, 30, 40]])
    expected = observed.sum(axis=0) / 2
    statistic = ((observed - expected) ** 2 / expected).sum()
    p_value = stats.chi2.sf(statistic, df=2)
    result = column_drift(reference, current, "categorical", SPEC)
    assert result["method"] == "chi_square" and result["statistic"] == pytest.approx(p_value)
    assert result["drifted"] is True


def test_jensen_shannon_distance_by_hand() -> None:
    # 2,000 reference rows (a distance, not a test): shares (0.5, 0.5) against (0.9, 0.1).
    reference = pd.Series(["a"] * 1000 + ["b"] * 1000)
    current = pd.Series(["a"] * 90 + ["b"] * 10)
    p, q = np.array([0.5, 0.5]), np.array([0.9, 0.1])
    m = (p + q) / 2
    divergence = 0.5 * np.sum(p * np.log(p / m)) + 0.5 * np.sum(q * np.log(q / m))  # natural log, as Evidently
    result = column_drift(reference, current, "categorical", SPEC)
    assert result["method"] == "jensen_shannon"
    assert result["statistic"] == pytest.approx(math.sqrt(divergence)) and result["statistic"] == pytest.approx(0.3190, abs=1e-4)
    assert result["drifted"] is True


def test_normed_wasserstein_is_the_mean_shift_over_the_reference_std() -> None:
    # Shifting every value by 0.5 moves the earth by 0.5; the reference's std (ddof 0) is 2.0.
    reference = pd.Series(np.tile([-2.0, 2.0, -2.0, 2.0, 1.0, -1.0, 1.0, -1.0], 200))  # 1,600 rows, 4 values... and more:
    reference = pd.concat([reference, pd.Series(np.linspace(-0.5, 0.5, 101))], ignore_index=True)
    current = reference + 0.5
    result = column_drift(reference, current, "numeric", SPEC)
    assert result["method"] == "wasserstein"
    assert result["statistic"] == pytest.approx(0.5 / np.std(reference)) and result["drifted"] is True
    unchanged = column_drift(reference, reference.sample(frac=1.0, random_state=0), "numeric", SPEC)
    assert unchanged["statistic"] == pytest.approx(0.0, abs=1e-12) and unchanged["drifted"] is False


def test_psi_by_hand_on_categories() -> None:
    reference = pd.Series(["a"] * 60 + ["b"] * 40)
    current = pd.Series(["a"] * 40 + ["b"] * 60)
    expected = (0.4 - 0.6) * math.log(0.4 / 0.6) + (0.6 - 0.4) * math.log(0.6 / 0.4)
    assert psi(reference, current, numeric=False, bins=10) == pytest.approx(expected)


def test_missing_values_are_a_rate_not_part_of_the_comparison() -> None:
    reference = pd.Series([1.0, 2.0, None, 4.0, 5.0, 6.0, 7.0, 8.0] * 25)
    current = pd.Series([None, None, 2.0, 4.0, 6.0, 8.0, 9.0, 10.0] * 25)
    result = column_drift(reference, current, "numeric", SPEC)
    assert result["missing_rate"] == 0.25 and result["missing_rate_reference"] == 0.125 and result["method"] == "ks"
    assert result["statistic"] == pytest.approx(stats.ks_2samp(reference.dropna(), current.dropna()).pvalue)
    gone = column_drift(reference, pd.Series([None] * 10, dtype="float64"), "numeric", SPEC)
    assert gone["method"] == "all_missing" and gone["drifted"] is True


def test_dataset_drift_at_half_the_columns() -> None:
    columns = {name: {"drifted": name in "ab"} for name in "abcd"}
    assert dataset_drift(columns, SPEC)["dataset_drift"] is True  # 2 of 4 = 0.5, at the threshold
    columns["b"]["drifted"] = False
    assert dataset_drift(columns, SPEC) == {"dataset_drift": False, "drift_share": 0.25, "drifted_columns": 1,
                                            "tested_columns": 4, "drifted": ["a"]}


# --- performance estimation and calibration ---

def test_estimated_roc_auc_is_the_auc_of_each_row_counted_positive_with_weight_p() -> None:
    # CBPE's expected ROC curve is the ROC curve of a table where each row is a positive with
    # weight p and a negative with weight 1 - p: scikit-learn computes that one independently.
    probability = np.array([0.9, 0.8, 0.8, 0.6, 0.4, 0.3, 0.3, 0.1, 0.05])
    labels = np.r_[np.ones(9), np.zeros(9)]
    weighted = roc_auc_score(labels, np.r_[probability, probability], sample_weight=np.r_[probability, 1 - probability])
    assert estimated_roc_auc(probability) == pytest.approx(weighted)


def test_expected_confusion_matrix_by_hand() -> None:
    probability = np.array([0.9, 0.6, 0.2])
    counts = expected_confusion(probability, probability >= 0.5)
    assert counts == pytest.approx({"tp": 1.5, "fp": 0.5, "fn": 0.2, "tn": 0.8})
    metrics = estimate(probability, probability >= 0.5)
    assert metrics["accuracy"] == pytest.approx(2.3 / 3) and metrics["precision"] == pytest.approx(0.75)
    assert metrics["recall"] == pytest.approx(1.5 / 1.7) and metrics["f1"] == pytest.approx(3.0 / 3.7)


def test_cbpe_on_calibrated_probabilities_matches_the_realised_metrics_on_average() -> None:
    # Labels drawn from the probabilities themselves: perfectly calibrated. The estimate is the
    # expected value of the realised metric, so it must match the mean over many draws.
    rng = np.random.default_rng(7)
    probability = rng.beta(1.5, 3.0, size=2000)
    decided = probability >= 0.35
    from tabular_mlops.monitoring.estimation import realised

    draws = [realised(rng.random(2000) < probability, probability, decided) for _ in range(200)]
    estimated = estimate(probability, decided)
    for name in ("roc_auc", "accuracy", "precision", "recall", "f1"):
        assert estimated[name] == pytest.approx(np.mean([draw[name] for draw in draws]), abs=0.004), name


def test_reliability_bins_and_ece_match_scikit_learns_calibration_curve() -> None:
    rng = np.random.default_rng(3)
    probability = rng.random(500)
    target = (rng.random(500) < probability ** 2).astype(int)  # over-confident: true rate p^2
    result = reliability(target, probability, bins=10)
    observed, predicted = calibration_curve(target, probability, n_bins=10, strategy="uniform")
    assert [row["positive_rate"] for row in result["bins"]] == pytest.approx(observed)
    assert [row["mean_probability"] for row in result["bins"]] == pytest.approx(predicted)
    counts = np.array([row["rows"] for row in result["bins"]])
    assert result["ece"] == pytest.approx(np.sum(counts / 500 * np.abs(observed - predicted))) and result["ece"] > 0.05


def test_the_isotonic_map_is_stored_as_numbers_and_applies_like_scikit_learns() -> None:
    rng = np.random.default_rng(4)
    probability = rng.random(400)
    target = (rng.random(400) < probability ** 2).astype(int)
    mapping = fit_calibration(target, probability, "isotonic")
    fitted = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(probability, target)
    new = np.linspace(-0.1, 1.1, 57)
    assert apply_calibration(mapping, new) == pytest.approx(fitted.predict(new))
    assert reliability(target, apply_calibration(mapping, probability), 10)["ece"] < 0.02
    sigmoid = fit_calibration(target, probability, "sigmoid")
    assert set(sigmoid) == {"method", "slope", "intercept"} and sigmoid["slope"] > 1  # it sharpens the scores


# --- the whole check on a hand-made reference ---

def _profile() -> dict:
    return {"model_version": "abc123def456", "problem": "classification", "target": "y", "positive_class": "bad",
            "classes": None, "threshold": 0.5, "columns": {"x": "numeric", "colour": "categorical"},
            "seen_categories": {"colour": ["blue", "red"]},
            "calibration": {"map": None},
            "performance": {"realised": {"roc_auc": 0.9, "accuracy": 0.8, "precision": 0.7, "recall": 0.7, "f1": 0.7},
                            "estimated": {"roc_auc": 0.89, "accuracy": 0.8, "precision": 0.7, "recall": 0.7, "f1": 0.7}}}


def _batch(rows: int, seed: int, shift: float = 0.0, labels: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, rows)
    probability = 1 / (1 + np.exp(-2 * x))
    frame = pd.DataFrame({"x": x, "colour": np.where(rng.random(rows) < 0.5 + shift / 4, "red", "blue"),
                          "probability": probability, "decision": np.where(probability >= 0.5, "bad", "good")})
    if labels:
        frame["y"] = np.where(rng.random(rows) < probability, "bad", "good")
    return frame


REFERENCE = Reference(_batch(2000, 0), _batch(500, 1), _profile())


def test_twenty_rows_are_not_enough_data() -> None:
    report = check_batch(_batch(20, 2, shift=2.0), REFERENCE, MonitorParams())
    assert report["status"] == "not enough data" and "dataset_drift" not in report and "performance" not in report
    assert "not enough data: 20 rows" in markdown(report)


def test_a_shifted_batch_drifts_and_labels_give_realised_metrics_beside_the_estimate() -> None:
    current = _batch(400, 3, shift=1.0, labels=True)
    report = check_batch(current, REFERENCE, MonitorParams())
    assert report["dataset_drift"] is True and set(report["drifted"]) == {"x", "colour", "probability"}
    performance = report["performance"]
    assert performance["labelled_rows"] == 400
    target = (current["y"] == "bad").astype(int)
    assert performance["realised"]["roc_auc"] == pytest.approx(roc_auc_score(target, current["probability"]), abs=1e-6)
    # estimate minus estimate: the profile's test-split estimate (0.89), not its realised 0.9
    assert performance["estimated_drop"]["roc_auc"] == pytest.approx(0.89 - performance["estimated"]["roc_auc"], abs=2e-6)
    assert report["columns"]["colour"]["unseen_rate"] == 0.0
    page = html(report, REFERENCE, current)
    assert page.count('<svg class="drift-plot"') == 3 and "http" not in page


def test_an_unchanged_batch_does_not_drift_and_unseen_categories_are_counted() -> None:
    current = _batch(400, 4)
    current.loc[:39, "colour"] = "green"  # 10 % never seen in training
    report = check_batch(current, REFERENCE, MonitorParams())
    assert report["dataset_drift"] is False and report["columns"]["colour"]["unseen_rate"] == 0.1
    assert "realised" not in report["performance"] and report["performance"]["labelled_rows"] == 0


def test_the_gate_options_name_what_failed() -> None:
    spec = MonitorParams(fail_on_dataset_drift=True, fail_on_estimated_drop=True, max_estimated_drop={"roc_auc": 0.01})
    drifted = check_batch(_batch(400, 3, shift=1.0), REFERENCE, spec)
    assert gate_failure(drifted, spec, "batch.csv").startswith("batch.csv: dataset drift: 3 of 3 columns drifted (x, colour, probability)")
    calm = check_batch(_batch(400, 5), REFERENCE, spec)
    message = gate_failure(calm, spec, "batch.csv")
    assert message is not None and message.startswith("batch.csv: estimated performance drop: roc_auc by ")
    assert gate_failure(calm, MonitorParams(), "batch.csv") is None


def test_a_batch_without_the_scored_columns_is_refused_naming_them() -> None:
    with pytest.raises(StageError, match=r"batch.csv: a scored table needs the columns probability; it has x, colour"):
        check_batch(_batch(300, 6).drop(columns=["probability"]), REFERENCE, MonitorParams(), "batch.csv")


def test_monitor_params_are_checked_like_the_others(tmp_path) -> None:
    text = open("params.yaml", encoding="utf-8").read()
    (tmp_path / "params.yaml").write_text(text.replace("  min_rows: 300", "  min_row: 300"))
    with pytest.raises(StageError, match=r"unknown key 'monitor.min_row' \(did you mean 'min_rows'\?\)"):
        load_params(tmp_path / "params.yaml")
    (tmp_path / "params.yaml").write_text(text.replace("    roc_auc: 0.05", "    auc: 0.05"))
    with pytest.raises(StageError, match=r"monitor.max_estimated_drop"):
        load_params(tmp_path / "params.yaml")


def test_regression_gets_drift_and_realised_metrics_but_no_estimate() -> None:
    rng = np.random.default_rng(8)

    def table(rows: int, shift: float) -> pd.DataFrame:
        x = rng.normal(shift, 1.0, rows)
        return pd.DataFrame({"x": x, "prediction": 3 * x, "y": 3 * x + rng.normal(0, 1, rows)})

    profile = {"model_version": "0123456789ab", "problem": "regression", "target": "y", "positive_class": None,
               "classes": None, "threshold": None, "columns": {"x": "numeric"}, "seen_categories": {}}
    reference = Reference(table(2000, 0.0), table(300, 0.0), profile)
    current = table(400, 1.0)
    current.loc[:99, "y"] = None  # a quarter of the rows labelled later
    report = check_batch(current, reference, MonitorParams())
    assert report["dataset_drift"] is True and report["performance"]["estimated"] == "not estimated for regression"
    labelled = current.dropna()
    assert report["performance"]["labelled_rows"] == 300
    assert report["performance"]["realised"]["rmse"] == pytest.approx(root_mean_squared_error(labelled["y"], labelled["prediction"]), abs=1e-6)
    assert "Performance not estimated for regression." in markdown(report)


class _ThreeClassBundle:
    """Just what build_reference reads of a Bundle: a fixed three-class scorer of x."""

    version, problem, threshold, input_columns = "fedcba987654", "multiclass", None, ["x", "colour"]
    manifest = {"model": {"target": "y", "positive_class": None, "classes": ["a", "b", "c"]}}
    seen_categories = {"colour": {"blue", "red"}}

    class contract:  # noqa: N801 - stands in for Bundle.contract
        columns = {"x": type("C", (), {"type": "float"}), "colour": type("C", (), {"type": "category"})}
        personal: list[str] = []
        protected: list[str] = []

    def unseen_categories(self, inputs: pd.DataFrame) -> list[list[str]]:
        return [[] if value in self.seen_categories["colour"] else ["colour"] for value in inputs["colour"]]

    def predict(self, inputs: pd.DataFrame) -> pd.DataFrame:
        logits = np.column_stack([-inputs["x"], np.zeros(len(inputs)), inputs["x"]])
        probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        frame = pd.DataFrame(probabilities, columns=[f"probability:{c}" for c in "abc"], index=inputs.index)
        return frame.assign(decision=np.array(list("abc"))[probabilities.argmax(axis=1)])

    from tabular_mlops.deployment.artifact import Bundle

    scored = Bundle.scored  # the real one, on this scorer's predict and unseen_categories


def test_a_multiclass_reference_keeps_a_seeded_sample_and_the_test_splits_realised_metrics() -> None:
    from sklearn.metrics import accuracy_score, log_loss

    from tabular_mlops.monitoring.reference import build_reference

    rng = np.random.default_rng(9)

    def table(rows: int) -> pd.DataFrame:
        x = rng.normal(0, 1.5, rows)
        return pd.DataFrame({"x": x, "colour": rng.choice(["red", "blue", "green"], rows), "y": np.where(x < -0.5, "a", np.where(x > 0.5, "c", "b"))})

    train, test = table(50), table(80)
    reference = build_reference(_ThreeClassBundle(), train, test, rows=30, seed=1, calibration=MonitorParams().calibration)
    assert list(reference.training.index) == sorted(train.sample(n=30, random_state=1).index)
    assert list(reference.training.columns) == ["x", "colour", "probability:a", "probability:b", "probability:c", "decision", "unseen_categories", "y"]
    assert set(reference.test["unseen_categories"]) == {"", "colour"}
    profile = reference.profile
    assert profile["columns"] == {"x": "numeric", "colour": "categorical"} and "calibration" not in profile
    probabilities = _ThreeClassBundle().predict(test).iloc[:, :3].to_numpy()
    assert profile["performance"]["realised"]["accuracy"] == pytest.approx(accuracy_score(test["y"], np.array(list("abc"))[probabilities.argmax(axis=1)]))
    assert profile["performance"]["realised"]["log_loss"] == pytest.approx(log_loss(test["y"], probabilities, labels=list("abc")))
    report = check_batch(pd.concat([reference.test] * 4, ignore_index=True), reference, MonitorParams())
    assert report["performance"]["estimated"] == "not estimated for multiclass"
    assert {"probability:a", "probability:b", "probability:c"} <= set(report["columns"])


def test_a_personal_model_input_is_scored_but_left_out_of_the_reference_and_the_monitors_comparisons() -> None:
    """The log and batch scoring keep only its pseudonyms: nothing to compare, and no value to show."""
    from tabular_mlops.monitoring.reference import build_reference

    class PersonalColour(_ThreeClassBundle):
        class contract(_ThreeClassBundle.contract):  # noqa: N801
            personal = ["colour"]

    rng = np.random.default_rng(3)
    train = pd.DataFrame({"x": rng.normal(0, 1.5, 400), "colour": rng.choice(["red", "blue"], 400), "y": rng.choice(list("abc"), 400)})
    reference = build_reference(PersonalColour(), train, train, rows=400, seed=1, calibration=MonitorParams().calibration)
    assert "colour" not in reference.training.columns and "colour" not in reference.test.columns
    assert reference.profile["columns"] == {"x": "numeric"} and reference.profile["seen_categories"] == {}
    # Scored with it: the unseen-category flags came from the values.
    assert list(reference.training["unseen_categories"]) == [""] * 400
    report = check_batch(reference.test, reference, MonitorParams())  # a batch without it, as the log reads back
    assert report["status"] == "ok" and set(report["columns"]) == {"x", "probability:a", "probability:b", "probability:c"}


def test_text_in_a_numeric_column_is_refused_naming_the_row() -> None:
    current = _batch(300, 7).astype({"x": "object"})
    current.loc[4, "x"] = "abc"
    with pytest.raises(StageError, match=r"^batch.csv: column 'x' must be numeric, but row 5 holds 'abc'$"):
        check_batch(current, REFERENCE, MonitorParams(), "batch.csv")


def test_group_selection_rates_by_hand_with_too_few_rows_left_out_of_the_gap():
    from tabular_mlops.monitoring.groups import group_rates

    profile = {"problem": "classification", "positive_class": "bad", "threshold": 0.5, "protected": {"Age": [30], "Marital": None}}
    current = pd.DataFrame({"Age": [20] * 40 + [40] * 40 + [50] * 3,
                            "decision": ["bad"] * 30 + ["good"] * 10 + ["bad"] * 10 + ["good"] * 30 + ["bad"] * 3})
    reference = current.assign(decision=["bad"] * 20 + ["good"] * 63)
    report = group_rates(current, reference, profile, min_group_rows=30)
    assert report["Marital"] == {"status": "not in the batch"}
    young, old = report["Age"]["groups"]  # bands: <30 and >=30 (the 3 rows at 50 join the 40s)
    assert (young["group"], young["rows"], young["selection_rate"], young["reference_selection_rate"]) == ("<30", 40, 0.75, 0.5)
    assert (old["group"], old["rows"], old["selection_rate"]) == (">=30", 43, 13 / 43)
    assert report["Age"]["gap"]["current"] == pytest.approx(0.75 - 13 / 43)
    small = group_rates(current, reference, {**profile, "protected": {"Age": [30, 45]}}, min_group_rows=30)["Age"]
    assert small["groups"][-1] == {"group": ">=45", "rows": 3, "reference_rows": 3, "status": "too few rows"}
    assert small["gap"]["current"] == pytest.approx(0.75 - 0.25)

"""tabular_mlops.fairness on small synthetic tables: every figure against an independent
computation (pandas by hand, scikit-learn, fairlearn's own functions), the mitigations against
a table whose outcome depends on the protected group, and the fitted objects through a pickle.
"""
from __future__ import annotations

import io
import json

import joblib
import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
)
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, mean_absolute_error, roc_auc_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from tabular_mlops.errors import StageError
from tabular_mlops.fairness.draws import row_uniforms
from tabular_mlops.fairness.groups import MISSING_GROUP, TOO_FEW_ROWS, group_labels, group_sort_key
from tabular_mlops.fairness.metrics import gap_metrics, group_report
from tabular_mlops.fairness.mitigation import MitigatedClassifier
from tabular_mlops.fairness.mixture import mixture_probabilities

SETTINGS = {"min_group_rows": 30, "bootstrap_rounds": 400, "confidence": 0.95, "seed": 7}


# ---- group labels --------------------------------------------------------------------------

def test_bands_hold_their_lower_edge_and_sort_by_it() -> None:
    ages = pd.Series([10, 25, 34.9, 35, 45, 99, None], index=list("abcdefg"), name="age")
    labels = group_labels(ages, [25, 35, 45])
    assert labels.tolist() == ["<25", "25-35", "25-35", "35-45", ">=45", ">=45", MISSING_GROUP]
    assert labels.index.tolist() == list("abcdefg")
    assert sorted(set(labels), key=group_sort_key) == ["<25", "25-35", "35-45", ">=45", MISSING_GROUP]
    assert group_labels(pd.Series([-20, -5, 0.5, 3]), [-10, 0, 2.5]).tolist() == ["<-10", "-10-0", "0-2.5", ">=2.5"]


def test_values_without_bands_are_text_with_whole_floats_as_integers() -> None:
    assert group_labels(pd.Series([1.0, 2.0, np.nan, 2.5])).tolist() == ["1", "2", MISSING_GROUP, "2.5"]
    assert group_labels(pd.Series(["married", None, "single"])).tolist() == ["married", MISSING_GROUP, "single"]
    assert group_labels(pd.Series([True, False])).tolist() == ["True", "False"]
    assert sorted(["10", "9", "b", MISSING_GROUP, "a"], key=group_sort_key) == ["9", "10", "a", "b", MISSING_GROUP]


@pytest.mark.parametrize("values, bands, expected", [
    (pd.Series([1, "x"], name="age"), [3], "column 'age': bands need numbers, but row 1 holds 'x'"),
    (pd.Series([1, 2], name="age"), [35, 25], "column 'age': bands must be finite numbers in strictly ascending order"),
    (pd.Series([1, 2], name="age"), [], "column 'age': bands must be"),
])
def test_bad_bands_are_refused_naming_the_column(values, bands, expected) -> None:
    with pytest.raises(StageError, match=expected.replace("(", r"\(")):
        group_labels(values, bands)


# ---- group report and gaps ------------------------------------------------------------------

@pytest.fixture(scope="module")
def scored() -> pd.DataFrame:
    """400 scored rows in two groups of ~200 and five rows of a third, 'divorced'."""
    rng = np.random.default_rng(0)
    group = np.r_[rng.choice(["married", "single"], 395), ["divorced"] * 5]
    target = rng.integers(0, 2, 400)
    probability = np.clip(0.25 * target + 0.55 * rng.random(400) + np.where(group == "single", 0.15, 0), 0, 1)
    frame = pd.DataFrame({"group": group, "target": target, "probability": probability})
    frame["decision"] = (frame.probability >= 0.5).astype(int)
    frame.loc[frame.group == "divorced", "decision"] = 1  # would drive every gap if it counted
    return frame


def report_of(frame: pd.DataFrame, **settings) -> dict:
    return group_report("classification", frame.target, frame.probability, frame.decision, frame.group, **{**SETTINGS, **settings})


def test_per_group_figures_match_pandas_and_scikit_learn(scored: pd.DataFrame) -> None:
    report = report_of(scored)
    entries = {entry["group"]: entry for entry in report["groups"]}
    assert [entry["group"] for entry in report["groups"]] == ["divorced", "married", "single"]
    for name in ("married", "single"):
        rows = scored[scored.group == name]
        metrics = {key: figure["value"] for key, figure in entries[name]["metrics"].items()}
        assert entries[name]["rows"] == len(rows)
        assert metrics["selection_rate"] == pytest.approx(rows.decision.sum() / len(rows), abs=1e-6)
        assert metrics["true_positive_rate"] == pytest.approx(rows.decision[rows.target == 1].mean(), abs=1e-6)
        assert metrics["false_positive_rate"] == pytest.approx(rows.decision[rows.target == 0].mean(), abs=1e-6)
        assert metrics["roc_auc"] == pytest.approx(roc_auc_score(rows.target, rows.probability), abs=1e-6)
        assert metrics["brier"] == pytest.approx(brier_score_loss(rows.target, rows.probability), abs=1e-6)
        assert metrics["calibration_gap"] == pytest.approx(rows.probability.mean() - rows.target.mean(), abs=1e-6)


def test_gaps_match_fairlearn_and_a_hand_computation_over_the_groups_with_enough_rows(scored: pd.DataFrame) -> None:
    gaps = report_of(scored)["gaps"]
    enough = scored[scored.group != "divorced"]
    by_group = enough.groupby("group")
    selection = by_group.decision.mean()
    tpr = enough[enough.target == 1].groupby("group").decision.mean()
    fpr = enough[enough.target == 0].groupby("group").decision.mean()
    hand = {
        "demographic_parity_difference": selection.max() - selection.min(),
        "demographic_parity_ratio": selection.min() / selection.max(),
        "equalized_odds_difference": max(tpr.max() - tpr.min(), fpr.max() - fpr.min()),
        "equalized_odds_ratio": min(tpr.min() / tpr.max(), fpr.min() / fpr.max()),
    }
    functions = {
        "demographic_parity_difference": demographic_parity_difference,
        "demographic_parity_ratio": demographic_parity_ratio,
        "equalized_odds_difference": equalized_odds_difference,
        "equalized_odds_ratio": equalized_odds_ratio,
    }
    for name, function in functions.items():
        assert gaps[name] == pytest.approx(hand[name], abs=1e-6), name
        assert gaps[name] == pytest.approx(function(enough.target, enough.decision, sensitive_features=enough.group), abs=1e-6)
    assert gaps["demographic_parity_difference"] > 0.1  # the table has a gap to measure
    assert gaps["compared_groups"] == ["married", "single"] and gaps["reason"] is None


def test_a_five_row_group_has_no_numbers_and_does_not_change_the_gap(scored: pd.DataFrame) -> None:
    report = report_of(scored)
    assert report["groups"][0] == {"group": "divorced", "rows": 5, "status": TOO_FEW_ROWS}
    without = scored[scored.group != "divorced"]
    assert report["gaps"] == report_of(without)["gaps"]
    everyone = demographic_parity_difference(scored.target, scored.decision, sensitive_features=scored.group)
    assert everyone > report["gaps"]["demographic_parity_difference"] + 0.2  # it would have driven it


def test_bootstrap_interval_holds_the_value_has_the_binomial_width_and_repeats_for_a_seed(scored: pd.DataFrame) -> None:
    report = report_of(scored)
    assert json.dumps(report) == json.dumps(report_of(scored))
    assert json.dumps(report) != json.dumps(report_of(scored, seed=8))
    for entry in report["groups"][1:]:
        for name, figure in entry["metrics"].items():
            assert figure["low"] <= figure["value"] <= figure["high"], (entry["group"], name)
        rate, rows = entry["metrics"]["selection_rate"]["value"], entry["rows"]
        normal_width = 2 * 1.96 * np.sqrt(rate * (1 - rate) / rows)
        width = entry["metrics"]["selection_rate"]["high"] - entry["metrics"]["selection_rate"]["low"]
        assert width == pytest.approx(normal_width, rel=0.2)


def test_undefined_metrics_are_null_and_equalized_odds_says_why() -> None:
    target = np.r_[np.zeros(40), np.tile([0, 1], 20)]  # group a: no positives
    probability = np.linspace(0, 1, 80)
    groups = ["a"] * 40 + ["b"] * 40
    report = group_report("classification", target, probability, (probability > 0.5).astype(int), groups, **SETTINGS)
    metrics = report["groups"][0]["metrics"]
    assert metrics["true_positive_rate"] == {"value": None, "low": None, "high": None}
    assert metrics["roc_auc"]["value"] is None and metrics["false_positive_rate"]["value"] == 0.0
    assert report["gaps"]["equalized_odds_difference"] is None and "['a'] hold one class only" in report["gaps"]["reason"]
    selection = pd.Series((probability > 0.5).astype(int)).groupby(groups).mean()
    assert report["gaps"]["demographic_parity_difference"] == pytest.approx(selection["b"] - selection["a"], abs=1e-6)
    json.dumps(report, allow_nan=False)


def test_fewer_than_two_groups_with_enough_rows_gives_null_gaps_and_the_reason(scored: pd.DataFrame) -> None:
    gaps = gap_metrics("classification", scored.target, scored.probability, scored.decision, scored.group, min_group_rows=250)
    assert gaps["demographic_parity_difference"] is None and gaps["equalized_odds_ratio"] is None
    assert gaps["compared_groups"] == [] and "fewer than two groups have at least 250 rows" in gaps["reason"]


def test_regression_report_gives_mae_per_group_and_its_gap(scored: pd.DataFrame) -> None:
    target = scored.probability * 10
    prediction = target + np.where(scored.group == "single", 2.0, 0.5) * np.sin(np.arange(400))
    report = group_report("regression", target, prediction, None, scored.group, **SETTINGS)
    mae = {
        name: mean_absolute_error(target[scored.group == name], prediction[scored.group == name])
        for name in ("married", "single")
    }
    entries = {entry["group"]: entry for entry in report["groups"]}
    for name, value in mae.items():
        assert entries[name]["metrics"]["mae"]["value"] == pytest.approx(value, abs=1e-6)
        assert entries[name]["metrics"]["mean_target"]["value"] == pytest.approx(target[scored.group == name].mean(), abs=1e-6)
    assert report["gaps"]["mae_difference"] == pytest.approx(max(mae.values()) - min(mae.values()), abs=1e-6)
    assert report["gaps"]["mae_ratio"] == pytest.approx(min(mae.values()) / max(mae.values()), abs=1e-6)


@pytest.mark.parametrize("change, expected", [
    ({"task": "ranking"}, "task must be one of classification, regression; got 'ranking'"),
    ({"target": np.full(400, 2)}, "classification target must hold only 0 and 1"),
    ({"decision": None}, "decision is needed for classification"),
    ({"groups": ["a"] * 3}, "target has 400 rows but groups has 3"),
    ({"min_group_rows": 0}, "min_group_rows must be >= 1; got 0"),
    ({"confidence": 1.5}, r"confidence in \(0, 1\)"),
])
def test_bad_report_input_is_refused_naming_what_was_expected(scored: pd.DataFrame, change: dict, expected: str) -> None:
    arguments = {"task": "classification", "target": scored.target, "probability_or_prediction": scored.probability,
                 "decision": scored.decision, "groups": scored.group, **SETTINGS, **change}
    with pytest.raises(StageError, match=expected):
        group_report(**arguments)


# ---- mitigation ----------------------------------------------------------------------------

def biased_table(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Group 'a' earns more, and income drives the outcome: the model never sees the group,
    yet its decisions differ by group."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b"], rows)
    income = rng.normal(0, 1, rows) + np.where(group == "a", 0.8, -0.8)
    tenure = rng.normal(0, 1, rows)
    target = (income + 0.5 * tenure + rng.normal(0, 0.7, rows) > 0).astype(int)
    return pd.DataFrame({"income": income, "tenure": tenure, "group": group, "id": np.arange(rows)}), target


def model_pipeline(model=None) -> Pipeline:
    """Like ours: a ColumnTransformer that drops the columns it does not use, then the model."""
    preprocess = ColumnTransformer([("numbers", StandardScaler(), ["income", "tenure"])], remainder="drop")
    return Pipeline([("preprocess", preprocess), ("model", model or LogisticRegression())])


@pytest.fixture(scope="module")
def tables() -> dict:
    (train, train_target), (test, test_target) = biased_table(1500, 10), biased_table(1500, 11)
    return {"train": train, "train_target": train_target, "test": test, "test_target": test_target}


@pytest.fixture(scope="module")
def mitigated(tables: dict) -> dict[str, MitigatedClassifier]:
    return {
        method: MitigatedClassifier(model_pipeline(), method=method, constraint="demographic_parity", column="group", seed=3)
        .fit(tables["train"], tables["train_target"])
        for method in ("exponentiated_gradient", "threshold_optimizer")
    }


def held_out_dp_difference(tables: dict, decisions: np.ndarray) -> float:
    test, target = tables["test"], tables["test_target"]
    ours = gap_metrics("classification", target, decisions, decisions, test.group, min_group_rows=30)
    theirs = demographic_parity_difference(target, decisions, sensitive_features=test.group)
    assert ours["demographic_parity_difference"] == pytest.approx(theirs, abs=1e-6)
    return theirs


@pytest.mark.parametrize("method", ["exponentiated_gradient", "threshold_optimizer"])
def test_mitigation_brings_a_large_demographic_parity_gap_below_a_tenth_on_held_out_rows(tables, mitigated, method) -> None:
    unmitigated = model_pipeline().fit(tables["train"], tables["train_target"]).predict(tables["test"])
    before = held_out_dp_difference(tables, unmitigated)
    after = held_out_dp_difference(tables, mitigated[method].predict(tables["test"]))
    print(f"{method}: demographic parity difference {before:.3f} -> {after:.3f}")
    assert before > 0.4
    assert after < 0.1


@pytest.mark.parametrize("method", ["exponentiated_gradient", "threshold_optimizer"])
def test_an_equalized_odds_constraint_brings_the_equalized_odds_gap_below_a_tenth(tables, method) -> None:
    test, target = tables["test"], tables["test_target"]
    unmitigated = model_pipeline().fit(tables["train"], tables["train_target"]).predict(test)
    model = MitigatedClassifier(model_pipeline(), method=method, constraint="equalized_odds", column="group", seed=3)
    decisions = model.fit(tables["train"], tables["train_target"]).predict(test)
    before, after = (
        gap_metrics("classification", target, d, d, test.group, min_group_rows=30)["equalized_odds_difference"]
        for d in (unmitigated, decisions)
    )
    assert after == pytest.approx(equalized_odds_difference(target, decisions, sensitive_features=test.group), abs=1e-6)
    print(f"{method}: equalized odds difference {before:.3f} -> {after:.3f}")
    assert before > 0.25
    assert after < 0.1


def test_threshold_optimizer_decides_a_row_alone_as_in_a_batch(tables, mitigated) -> None:
    model, test = mitigated["threshold_optimizer"], tables["test"]
    batch = model.predict(test)
    alone = [model.predict(test.iloc[[row]])[0] for row in range(60)]
    assert alone == batch[:60].tolist()
    assert 0 < np.mean(alone) < 1
    # Columns in another order, and the unused id column as floats (a missing value elsewhere):
    reordered = test[test.columns[::-1]].astype({"id": float})
    reordered.loc[reordered.index[-1], "id"] = np.nan
    assert (model.predict(reordered)[:-1] == batch[:-1]).all()


def test_decisions_follow_the_probability_of_a_positive_decision(tables, mitigated) -> None:
    """The hashed draws are uniform: decisions average to P(decision = 1) within each group."""
    model, test = mitigated["threshold_optimizer"], tables["test"]
    decisions, positive = model.predict(test), model.predict_proba(test)[:, 1]
    for name in ("a", "b"):
        inside = (test.group == name).to_numpy()
        assert decisions[inside].mean() == pytest.approx(positive[inside].mean(), abs=0.04)
    draws = row_uniforms(test, ["income", "tenure", "id"], seed=3)
    assert 0.47 < draws.mean() < 0.53 and abs(np.corrcoef(draws, test.income)[0, 1]) < 0.06


def test_exponentiated_gradient_predicts_without_the_protected_column(tables, mitigated) -> None:
    model, test = mitigated["exponentiated_gradient"], tables["test"]
    assert not model.requires_column and mitigated["threshold_optimizer"].requires_column
    without = test.drop(columns="group")
    np.testing.assert_array_equal(model.predict_proba(without), model.predict_proba(test))
    np.testing.assert_array_equal(model.predict(without), model.predict(test))
    with pytest.raises(StageError, match="protected column 'group' is not in the input"):
        mitigated["threshold_optimizer"].predict(without)


def test_exponentiated_gradient_probability_is_the_weighted_mixture(tables, mitigated) -> None:
    fitted, test = mitigated["exponentiated_gradient"].mitigator_, tables["test"]
    assert (fitted.weights_ > 0).sum() >= 2  # a real mixture, not one model
    by_hand = sum(weight * fitted.predictors_[i].predict_proba(test)[:, 1] for i, weight in fitted.weights_.items())
    np.testing.assert_allclose(mitigated["exponentiated_gradient"].predict_proba(test)[:, 1], by_hand, atol=1e-12)
    np.testing.assert_array_equal(mixture_probabilities(fitted.predictors_, fitted.weights_, test), by_hand)


def test_threshold_optimizer_gives_an_unseen_group_the_unmitigated_probability(tables, mitigated) -> None:
    # The service and batch scoring refuse such rows first (tests/test_fairness_pipeline.py);
    # evaluation still scores every row.
    model = mitigated["threshold_optimizer"]
    assert model.groups_seen_ == ["a", "b"]
    unseen = tables["test"].head(3).assign(group=["a", "c", None])
    inner = model.mitigator_.estimator_.predict_proba(unseen)[:, 1]
    probability = model.predict_proba(unseen)[:, 1]
    np.testing.assert_allclose(probability[1:], inner[1:])
    assert probability[0] == model.predict_proba(unseen.head(1))[0, 1]


@pytest.mark.parametrize("method", ["exponentiated_gradient", "threshold_optimizer"])
def test_a_pickled_mitigated_model_scores_the_same(tables, mitigated, method) -> None:
    buffer = io.BytesIO()
    joblib.dump(mitigated[method], buffer)
    loaded = joblib.load(io.BytesIO(buffer.getvalue()))
    np.testing.assert_array_equal(loaded.predict_proba(tables["test"]), mitigated[method].predict_proba(tables["test"]))
    np.testing.assert_array_equal(loaded.predict(tables["test"]), mitigated[method].predict(tables["test"]))


def test_exponentiated_gradient_refuses_a_model_without_sample_weight(tables) -> None:
    model = MitigatedClassifier(model_pipeline(KNeighborsClassifier()), column="group")
    with pytest.raises(StageError, match="train.fairness.mitigation: .* KNeighborsClassifier takes no sample_weight"):
        model.fit(tables["train"], tables["train_target"])


@pytest.mark.parametrize("settings, expected", [
    ({"method": "reweighing"}, "train.fairness.mitigation must be one of exponentiated_gradient, threshold_optimizer; got 'reweighing'"),
    ({"constraint": "parity"}, "train.fairness.constraint must be one of demographic_parity, equalized_odds"),
])
def test_unknown_settings_are_refused_naming_the_key(tables, settings, expected) -> None:
    with pytest.raises(StageError, match=expected):
        MitigatedClassifier(model_pipeline(), column="group", **settings).fit(tables["train"], tables["train_target"])

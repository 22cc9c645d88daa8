"""scoring: metrics on hand-computed cases, a no-skill baseline, and cross-validation that does not leak."""
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline

from tabular_mlops.config.params import FeaturizeParams
from tabular_mlops.features.preprocessing import build_preprocessor
from tabular_mlops.models.scoring import (
    baseline,
    cross_validated_predictions,
    cross_validation,
    folds,
    holdout_sections,
    improvement,
    predict,
    rounded,
    score,
    skill,
)

SPEC = FeaturizeParams.model_validate(
    {
        "numeric": {"impute": "median", "add_indicator": True, "transform": "none", "scale": "standard",
                    "outliers": {"method": "iqr", "iqr_factor": 3.0, "quantiles": [0.01, 0.99]}},
        "categorical": {"impute": "most_frequent", "min_frequency": None},
    }
)
CLASSIFICATION_CV_KEYS = {f"{name}_{stat}" for name in ("roc_auc", "average_precision", "log_loss", "brier") for stat in ("mean", "std")}
REGRESSION_CV_KEYS = {f"{name}_{stat}" for name in ("rmse", "mae", "r2") for stat in ("mean", "std")}


def pipeline(estimator=None) -> Pipeline:
    preprocessor = build_preprocessor(["Income", "Age"], ["Home"], SPEC)
    return Pipeline([("preprocess", preprocessor), ("model", estimator or LogisticRegression(random_state=0))])


def raw(seed: int, n: int = 60, shift: float = 0.0):
    rng = np.random.default_rng(seed)
    target = pd.Series(np.tile([0, 1, 0], n // 3), name="Status")
    inputs = pd.DataFrame(
        {
            "Income": np.where(rng.random(n) < 0.1, np.nan, shift + 100 + 40 * target + rng.normal(0, 50, n)),
            "Age": rng.integers(20, 60, n).astype(float) + shift,
            "Home": rng.choice(["rent", "owner", "parents"], n),
        }
    )
    return inputs, target


def raw_regression(seed: int = 0, n: int = 42):
    """Price grows with Income, plus noise."""
    inputs, _ = raw(seed, n)
    noise = np.random.default_rng(seed + 100).normal(0, 5, len(inputs))
    return inputs, pd.Series(0.5 * inputs["Income"].fillna(100).to_numpy() + noise, name="Price")


# --- metrics ---

def test_perfect_ranking_scores_one():
    scores = score("classification", pd.Series([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9]), threshold=0.5)
    assert scores["roc_auc"] == 1.0 and scores["average_precision"] == 1.0
    assert scores["accuracy"] == 1.0 and scores["f1"] == 1.0


def test_classification_metrics_match_hand_computed_values():
    target, probability = pd.Series([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])
    scores = score("classification", target, probability, threshold=0.5)
    # Pairs (positive, negative) ranked right: 0.35>0.1, 0.8>0.1, 0.8>0.4 -> 3 of 4.
    assert scores["roc_auc"] == pytest.approx(0.75)
    # Ranked 0.8 (pos), 0.4 (neg), 0.35 (pos): precision 1 at recall 1/2, 2/3 at recall 1.
    assert scores["average_precision"] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert scores["brier"] == pytest.approx(np.mean((probability - target) ** 2))
    assert scores["log_loss"] == pytest.approx(-np.mean(np.log([0.9, 0.6, 0.35, 0.8])))
    # Predicted [0, 0, 0, 1]: one true positive, one false negative.
    assert scores["accuracy"] == pytest.approx(0.75) and scores["f1"] == pytest.approx(2 / 3)


def test_probability_equal_to_threshold_counts_as_positive():
    scores = score("classification", pd.Series([0, 1]), np.array([0.2, 0.5]), threshold=0.5)
    assert scores["accuracy"] == 1.0


def test_threshold_changes_accuracy_and_f1_but_not_the_ranking_metrics():
    target, probability = pd.Series([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])
    low, high = score("classification", target, probability, 0.3), score("classification", target, probability, 0.5)
    assert low["roc_auc"] == high["roc_auc"] and low["brier"] == high["brier"]
    # At 0.3 every row but the first is positive: 3 of 4 right, F1 = 2*2 / (2*2 + 1 + 0).
    assert low["accuracy"] == pytest.approx(0.75) and low["f1"] == pytest.approx(0.8)


def test_regression_metrics_match_hand_computed_values():
    target, prediction = pd.Series([1.0, 2.0, 3.0, 4.0]), np.array([1.5, 2.0, 3.0, 4.5])
    scores = score("regression", target, prediction)
    assert set(scores) == {"rmse", "mae", "r2"}
    # Errors 0.5, 0, 0, 0.5; the target's squared deviations from its mean 2.5 sum to 5.
    assert scores["rmse"] == pytest.approx(np.sqrt(0.5 / 4))
    assert scores["mae"] == pytest.approx(0.25)
    assert scores["r2"] == pytest.approx(1 - 0.5 / 5)


def test_improvement_is_positive_when_better_for_higher_and_lower_is_better_metrics():
    reference = {"rmse": 3.0, "mae": 2.0, "r2": 0.2}
    assert improvement({"rmse": 2.0, "mae": 2.5, "r2": 0.5}, reference) == pytest.approx({"rmse": 1.0, "mae": -0.5, "r2": 0.3})
    reference = {"roc_auc": 0.5, "log_loss": 0.7, "brier": 0.25, "accuracy": 0.6}
    better = improvement({"roc_auc": 0.8, "log_loss": 0.4, "brier": 0.15, "accuracy": 0.7}, reference)
    assert better == pytest.approx({"roc_auc": 0.3, "log_loss": 0.3, "brier": 0.1, "accuracy": 0.1})


def test_classification_baseline_has_no_ranking_skill_and_predicts_the_training_balance():
    train, test = pd.Series([0, 0, 0, 1]), pd.Series([0, 1, 1, 0, 1])
    scores = baseline("classification", train, test, threshold=0.5)
    assert scores["roc_auc"] == 0.5
    assert scores["brier"] == pytest.approx(np.mean((0.25 - test) ** 2))
    assert scores["f1"] == 0.0


def test_binary_brier_skill_is_one_minus_the_brier_over_the_training_share_forecasts_by_scikit_learn():
    from sklearn.metrics import brier_score_loss

    train, test, probability = pd.Series([0, 0, 0, 1]), pd.Series([0, 1, 1, 0, 1]), np.array([0.1, 0.7, 0.4, 0.3, 0.9])
    sections = holdout_sections("classification", train, test, probability)
    prior = np.full(len(test), 0.25)
    expected = 1 - brier_score_loss(test, probability) / brier_score_loss(test, prior)
    assert sections["test"]["brier_skill"] == pytest.approx(expected)
    # scikit-learn's two-column Brier sums over both classes (twice the one-column figure): the same skill,
    # which is why one bound serves two classes and many.
    two_columns = 1 - (brier_score_loss(test, np.column_stack([1 - probability, probability]), labels=[0, 1])
                       / brier_score_loss(test, np.column_stack([1 - prior, prior]), labels=[0, 1]))
    assert two_columns == pytest.approx(expected)
    assert sections["baseline"]["brier_skill"] == 0.0  # the baseline is its own reference
    assert sections["over_baseline"]["brier_skill"] == pytest.approx(expected)  # higher is better


def test_multiclass_brier_skill_matches_a_hand_worked_case():
    train = pd.Series(["a"] * 6 + ["b"] * 3 + ["c"])  # the baseline forecasts (0.6, 0.3, 0.1) for every row
    sections = holdout_sections("multiclass", train, MULTICLASS_TARGET, MULTICLASS_PROBABILITIES)
    # Squared errors summed over the classes, per row. Baseline: a 0.16+0.09+0.01 = 0.26, b 0.36+0.49+0.01 = 0.86,
    # c 0.36+0.09+0.81 = 1.26, each class twice: 4.76 over 6 rows. The model's rows: 0.14, 0.38, 0.26, 0.74, 0.86, 0.24 = 2.62.
    assert sections["baseline"]["brier"] == pytest.approx(4.76 / 6) and sections["test"]["brier"] == pytest.approx(2.62 / 6)
    assert sections["test"]["brier_skill"] == pytest.approx(1 - 2.62 / 4.76)


def test_a_uniform_three_class_guess_scores_two_thirds_and_no_skill_over_balanced_classes():
    target = pd.Series(["a", "b", "c", "c", "b", "a"])
    uniform = pd.DataFrame(np.full((6, 3), 1 / 3), columns=["a", "b", "c"])
    sections = holdout_sections("multiclass", target, target, uniform)  # trained on balanced classes: the prior is uniform too
    assert round(sections["test"]["brier"], 3) == 0.667  # (2/3)^2 + 2 (1/3)^2, whichever the class
    assert sections["test"]["brier_skill"] == pytest.approx(0.0, abs=1e-12)


def test_the_audited_three_class_brier_of_0_325_is_skilful_where_class_shares_are_55_24_21():
    # A telco table's contract type: a model's multiclass Brier 0.325 is far above 0.20 yet well below
    # the class-share forecast's 1 - (0.55² + 0.24² + 0.21²) = 0.5958.
    train = pd.Series(["month"] * 55 + ["one_year"] * 21 + ["two_year"] * 24)
    reference = baseline("multiclass", train, train)
    assert reference["brier"] == pytest.approx(1 - (0.55 ** 2 + 0.24 ** 2 + 0.21 ** 2))
    assert skill({"brier": 0.325}, reference)["brier_skill"] == pytest.approx(1 - 0.325 / 0.5958)
    assert skill({"brier": 2 / 3}, reference)["brier_skill"] < 0  # the uniform guess is worse than the shares


def test_regression_has_no_brier_skill():
    assert skill({"rmse": 1.0, "mae": 1.0, "r2": 0.5}, {"rmse": 2.0, "mae": 2.0, "r2": 0.0}) == {}
    sections = holdout_sections("regression", pd.Series([1.0, 2.0, 3.0]), pd.Series([2.0, 4.0]), np.array([2.5, 3.5]))
    assert set(sections["test"]) == {"rmse", "mae", "r2"}


def test_regression_baseline_predicts_the_training_mean():
    train, test = pd.Series([1.0, 2.0, 3.0]), pd.Series([2.0, 4.0])
    scores = baseline("regression", train, test)
    # Both test rows get 2.0: errors 0 and 2.
    assert scores["rmse"] == pytest.approx(np.sqrt(2.0)) and scores["mae"] == pytest.approx(1.0)
    assert scores["r2"] == pytest.approx(1 - 4.0 / 2.0)


def test_predict_gives_the_positive_class_probability_or_the_value():
    inputs, target = raw(0)
    classifier = pipeline().fit(inputs, target)
    assert np.array_equal(predict("classification", classifier, inputs), classifier.predict_proba(inputs)[:, 1])
    inputs, target = raw_regression()
    regressor = pipeline(Ridge()).fit(inputs, target)
    assert np.array_equal(predict("regression", regressor, inputs), regressor.predict(inputs))


def test_rounded_keeps_six_digits():
    assert rounded({"roc_auc": 0.12345678, "brier": np.float64(0.1)}) == {"roc_auc": 0.123457, "brier": 0.1}


# --- folds and cross-validation ---

def test_classification_folds_are_stratified_and_regression_folds_are_plain_shuffled_k_fold():
    classification, regression = folds("classification", 4, seed=3), folds("regression", 4, seed=3)
    assert type(classification) is StratifiedKFold and type(regression) is KFold
    for splitter in (classification, regression):
        assert (splitter.n_splits, splitter.shuffle, splitter.random_state) == (4, True, 3)


def test_stratified_folds_keep_the_class_balance_in_every_fold():
    target = pd.Series([1] * 8 + [0] * 24)
    for _, test_rows in folds("classification", 4, seed=0).split(np.zeros((32, 1)), target):
        assert target.iloc[test_rows].sum() == 2


def test_folds_are_the_same_for_the_same_seed_and_differ_for_another():
    rows = np.zeros((20, 1))
    first = [test.tolist() for _, test in folds("regression", 4, seed=0).split(rows)]
    assert first == [test.tolist() for _, test in folds("regression", 4, seed=0).split(rows)]
    assert first != [test.tolist() for _, test in folds("regression", 4, seed=1).split(rows)]


def test_cross_validation_returns_mean_and_std_of_each_threshold_free_score():
    inputs, target = raw(0)
    summary = cross_validation("classification", pipeline(), inputs, target, 3, seed=0)
    assert set(summary) == CLASSIFICATION_CV_KEYS
    assert 0 <= summary["brier_mean"] <= 1 and summary["log_loss_mean"] > 0  # the sign of neg_* is flipped back
    assert all(summary[key] >= 0 for key in CLASSIFICATION_CV_KEYS if key.endswith("_std"))


def test_regression_cross_validation_reports_positive_errors():
    inputs, target = raw_regression()
    summary = cross_validation("regression", pipeline(Ridge()), inputs, target, 3, seed=0)
    assert set(summary) == REGRESSION_CV_KEYS
    assert summary["rmse_mean"] > 0 and summary["mae_mean"] > 0
    assert summary["mae_mean"] <= summary["rmse_mean"]


def test_cross_validation_does_not_depend_on_n_jobs():
    inputs, target = raw(0)
    one = cross_validation("classification", pipeline(), inputs, target, 3, seed=0, n_jobs=1)
    two = cross_validation("classification", pipeline(), inputs, target, 3, seed=0, n_jobs=2)
    assert one == two


def test_cross_validation_depends_on_the_seed():
    inputs, target = raw(0)
    assert cross_validation("classification", pipeline(), inputs, target, 3, seed=0) != cross_validation("classification", pipeline(), inputs, target, 3, seed=1)


def test_cross_validation_refits_preprocessing_in_every_fold_instead_of_reusing_the_fitted_one():
    inputs, target = raw(0)
    other_inputs, other_target = raw(1, shift=1e4)  # fitted elsewhere: very different medians and scales
    fitted = pipeline().fit(other_inputs, other_target)
    before = fitted.predict_proba(inputs)
    assert cross_validation("classification", fitted, inputs, target, 3, seed=0) == cross_validation("classification", clone(pipeline()), inputs, target, 3, seed=0)
    assert np.array_equal(fitted.predict_proba(inputs), before)  # the model passed in is left as it was


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_cross_validated_predictions_are_out_of_fold_for_every_row_with_the_same_summary(task):
    inputs, target = raw(0) if task == "classification" else raw_regression()
    model = pipeline() if task == "classification" else pipeline(Ridge())
    summary, out_of_fold = cross_validated_predictions(task, model, inputs, target, 3, seed=0)
    assert summary == cross_validation(task, model, inputs, target, 3, seed=0)
    method = "predict_proba" if task == "classification" else "predict"
    expected = cross_val_predict(clone(model), inputs, target, cv=folds(task, 3, 0), method=method)
    expected = expected[:, 1] if task == "classification" else expected
    assert out_of_fold.shape == (len(target),)
    assert np.allclose(out_of_fold, expected)
    # Not the in-sample predictions of a model fitted on every row.
    assert not np.allclose(out_of_fold, predict(task, clone(model).fit(inputs, target), inputs))


# --- multiclass ---

MULTICLASS_TARGET = pd.Series(["a", "b", "c", "a", "b", "c"])
MULTICLASS_PROBABILITIES = pd.DataFrame(
    [[0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [0.1, 0.3, 0.6], [0.3, 0.4, 0.3], [0.6, 0.3, 0.1], [0.2, 0.2, 0.6]], columns=["a", "b", "c"]
)


def test_multiclass_metrics_match_hand_computed_values():
    scores = score("multiclass", MULTICLASS_TARGET, MULTICLASS_PROBABILITIES)
    # One-vs-rest AUC per class, each over 2 positives x 4 negatives:
    # a: 0.7 beats all 4, 0.3 beats 0.2, 0.1, 0.2 (3) -> 7/8; b: 0.5 beats all, 0.3 beats 0.2, 0.2 and ties 0.3 (2.5) -> 6.5/8;
    # c: both 0.6 beat all -> 1. Macro average: (0.875 + 0.8125 + 1) / 3.
    assert scores["roc_auc"] == pytest.approx((0.875 + 0.8125 + 1) / 3)
    assert scores["log_loss"] == pytest.approx(-np.mean(np.log([0.7, 0.5, 0.6, 0.3, 0.3, 0.6])))
    one_hot = pd.get_dummies(MULTICLASS_TARGET).to_numpy(dtype=float)
    assert scores["brier"] == pytest.approx(np.mean(np.sum((MULTICLASS_PROBABILITIES.to_numpy() - one_hot) ** 2, axis=1)))
    # Decided: a, b, c, b, a, c -> rows 4 and 5 wrong; per-class F1 a 1/2, b 1/2, c 1.
    assert scores["accuracy"] == pytest.approx(4 / 6) and scores["f1_macro"] == pytest.approx((0.5 + 0.5 + 1) / 3)


def test_multiclass_metrics_equal_direct_sklearn_calls():
    from sklearn.metrics import accuracy_score, brier_score_loss, f1_score, log_loss, roc_auc_score

    scores = score("multiclass", MULTICLASS_TARGET, MULTICLASS_PROBABILITIES)
    decided = np.array(["a", "b", "c", "b", "a", "c"])
    assert scores == pytest.approx({
        "roc_auc": roc_auc_score(MULTICLASS_TARGET, MULTICLASS_PROBABILITIES, multi_class="ovr", average="macro"),
        "log_loss": log_loss(MULTICLASS_TARGET, MULTICLASS_PROBABILITIES),
        "brier": brier_score_loss(MULTICLASS_TARGET, MULTICLASS_PROBABILITIES),
        "accuracy": accuracy_score(MULTICLASS_TARGET, decided),
        "f1_macro": f1_score(MULTICLASS_TARGET, decided, average="macro"),
    })


def test_multiclass_columns_are_matched_to_classes_by_name_not_position():
    shuffled = MULTICLASS_PROBABILITIES[["c", "a", "b"]]
    assert score("multiclass", MULTICLASS_TARGET, shuffled) == pytest.approx(score("multiclass", MULTICLASS_TARGET, MULTICLASS_PROBABILITIES))


def test_multiclass_ranking_metrics_are_nan_when_a_class_has_no_row():
    scores = score("multiclass", MULTICLASS_TARGET[:2], MULTICLASS_PROBABILITIES[:2])
    assert np.isnan(scores["roc_auc"]) and np.isnan(scores["f1_macro"]) and scores["accuracy"] == 1.0


def raw_multiclass(seed: int = 0, n: int = 90):
    inputs, _ = raw(seed, n)
    target = pd.Series(np.select([inputs["Income"] < 80, inputs["Income"] > 130], ["low", "high"], "mid"), name="Band")
    return inputs, target


def test_multiclass_predict_gives_a_probability_column_per_class_in_sorted_order():
    inputs, target = raw_multiclass()
    model = pipeline().fit(inputs, target)
    prediction = predict("multiclass", model, inputs)
    assert list(prediction.columns) == ["high", "low", "mid"] and prediction.shape == (len(inputs), 3)
    assert np.allclose(prediction.sum(axis=1), 1.0)


def test_multiclass_baseline_is_the_training_prior_with_no_ranking_skill():
    train, test = pd.Series(["a"] * 6 + ["b"] * 3 + ["c"]), pd.Series(["a", "b", "c"])
    reference = baseline("multiclass", train, test)
    assert reference["roc_auc"] == 0.5 and reference["accuracy"] == pytest.approx(1 / 3)
    assert reference["log_loss"] == pytest.approx(-np.mean(np.log([0.6, 0.3, 0.1])))


def test_multiclass_cross_validation_reports_all_five_scores_and_matches_sklearn_out_of_fold():
    inputs, target = raw_multiclass()
    model = pipeline()
    summary, out_of_fold = cross_validated_predictions("multiclass", model, inputs, target, 3, 0)
    assert set(summary) == {f"{name}_{stat}" for name in ("roc_auc", "log_loss", "brier", "accuracy", "f1_macro") for stat in ("mean", "std")}
    expected = cross_val_predict(clone(model), inputs, target, cv=folds("multiclass", 3, 0), method="predict_proba")
    assert list(out_of_fold.columns) == ["high", "low", "mid"] and np.allclose(out_of_fold.to_numpy(), expected)
    # The fold scores are sklearn's own multiclass scorers.
    from sklearn.model_selection import cross_val_score
    auc = cross_val_score(clone(model), inputs, target, cv=folds("multiclass", 3, 0), scoring="roc_auc_ovr")
    assert summary["roc_auc_mean"] == pytest.approx(auc.mean())


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_folds_reported_one_at_a_time_give_exactly_the_results_of_one_call(task):
    inputs, target = raw(3, n=90) if task == "classification" else raw_regression(3, n=60)
    model = pipeline() if task == "classification" else pipeline(Ridge())
    told = []
    summary, out_of_fold = cross_validated_predictions(task, model, inputs, target, 4, seed=5)
    reported, reported_out_of_fold = cross_validated_predictions(task, model, inputs, target, 4, seed=5, on_fold=told.append)
    assert told == [1, 2, 3, 4]
    assert reported == summary  # bit for bit: the same fits, only reported between folds
    assert np.array_equal(reported_out_of_fold, out_of_fold)

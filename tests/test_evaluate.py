"""evaluate: metrics on known cases, a no-skill baseline, and cross-validation that does not leak."""
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from stages.evaluate import baseline, cross_validation, rounded, score_probabilities
from stages.featurize import build_preprocessor
from stages.params import EvaluateParams, FeaturizeParams

SPEC = FeaturizeParams.model_validate(
    {
        "numeric": {"impute": "median", "add_indicator": True, "transform": "none", "scale": "standard",
                    "outliers": {"method": "iqr", "iqr_factor": 3.0, "quantiles": [0.01, 0.99]}},
        "categorical": {"impute": "most_frequent", "min_frequency": None},
    }
)
CV_KEYS = {f"{name}_{stat}" for name in ("roc_auc", "average_precision", "brier") for stat in ("mean", "std")}


def pipeline() -> Pipeline:
    preprocessor = build_preprocessor(["Income", "Age"], ["Home"], SPEC)
    return Pipeline([("preprocess", preprocessor), ("model", LogisticRegression(random_state=0))])


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


def test_perfect_ranking_scores_one():
    scores = score_probabilities(pd.Series([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9]), threshold=0.5)
    assert scores["roc_auc"] == 1.0 and scores["average_precision"] == 1.0
    assert scores["accuracy"] == 1.0 and scores["f1"] == 1.0


def test_metrics_match_hand_computed_values():
    target, probability = pd.Series([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])
    scores = score_probabilities(target, probability, threshold=0.5)
    # Pairs (positive, negative) ranked right: 0.35>0.1, 0.8>0.1, 0.8>0.4 -> 3 of 4.
    assert scores["roc_auc"] == pytest.approx(0.75)
    # Ranked 0.8 (pos), 0.4 (neg), 0.35 (pos): precision 1 at recall 1/2, 2/3 at recall 1.
    assert scores["average_precision"] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert scores["brier"] == pytest.approx(np.mean((probability - target) ** 2))
    assert scores["log_loss"] == pytest.approx(-np.mean(np.log([0.9, 0.6, 0.35, 0.8])))
    # Predicted [0, 0, 0, 1]: one true positive, one false negative.
    assert scores["accuracy"] == pytest.approx(0.75) and scores["f1"] == pytest.approx(2 / 3)


def test_probability_equal_to_threshold_counts_as_positive():
    scores = score_probabilities(pd.Series([0, 1]), np.array([0.2, 0.5]), threshold=0.5)
    assert scores["accuracy"] == 1.0


def test_baseline_has_no_ranking_skill_and_predicts_the_training_balance():
    train, test = pd.Series([0, 0, 0, 1]), pd.Series([0, 1, 1, 0, 1])
    scores = baseline(train, test, threshold=0.5)
    assert scores["roc_auc"] == 0.5
    assert scores["brier"] == pytest.approx(np.mean((0.25 - test) ** 2))
    assert scores["f1"] == 0.0


def test_cross_validation_returns_mean_and_std_of_each_score():
    inputs, target = raw(0)
    summary = cross_validation(pipeline(), inputs, target, EvaluateParams(cv_folds=3, threshold=0.5, n_jobs=1), seed=0)
    assert set(summary) == CV_KEYS
    assert 0 <= summary["brier_mean"] <= 1  # the sign of neg_brier_score is flipped back
    assert all(summary[key] >= 0 for key in CV_KEYS if key.endswith("_std"))


def test_cross_validation_does_not_depend_on_n_jobs():
    inputs, target = raw(0)
    one = cross_validation(pipeline(), inputs, target, EvaluateParams(cv_folds=3, threshold=0.5, n_jobs=1), seed=0)
    two = cross_validation(pipeline(), inputs, target, EvaluateParams(cv_folds=3, threshold=0.5, n_jobs=2), seed=0)
    assert one == two


def test_cross_validation_depends_on_the_seed():
    inputs, target = raw(0)
    spec = EvaluateParams(cv_folds=3, threshold=0.5, n_jobs=1)
    assert cross_validation(pipeline(), inputs, target, spec, seed=0) != cross_validation(pipeline(), inputs, target, spec, seed=1)


def test_cross_validation_refits_preprocessing_in_every_fold_instead_of_reusing_the_fitted_one():
    inputs, target = raw(0)
    other_inputs, other_target = raw(1, shift=1e4)  # fitted elsewhere: very different medians and scales
    fitted = pipeline().fit(other_inputs, other_target)
    before = fitted.predict_proba(inputs)
    spec = EvaluateParams(cv_folds=3, threshold=0.5, n_jobs=1)
    assert cross_validation(fitted, inputs, target, spec, seed=0) == cross_validation(clone(pipeline()), inputs, target, spec, seed=0)
    assert np.array_equal(fitted.predict_proba(inputs), before)  # the model passed in is left as it was


def test_rounded_keeps_six_digits():
    assert rounded({"roc_auc": 0.12345678, "brier": np.float64(0.1)}) == {"roc_auc": 0.123457, "brier": 0.1}

"""What credit and medicine require of a binary model's figures, each against an independent computation:
thresholds by operating point (evaluate.threshold.method min_sensitivity / min_specificity / min_precision),
the operating point's Wilson intervals, the calibration intercept and slope (statsmodels' GLM), and
decision-curve net benefit (Vickers and Elkin's formula, by hand)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import yaml
from scipy.stats import norm
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict

from tabular_mlops.config.params import Params, ThresholdParams
from tabular_mlops.errors import StageError
from tabular_mlops.evaluation.calibration import CLIP, calibration
from tabular_mlops.evaluation.decision_curve import decision_curve, net_benefit, summary, threshold_range
from tabular_mlops.evaluation.operating_point import TARGET_GRID, choose_threshold, operating_point

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def out_of_fold() -> tuple[pd.Series, np.ndarray]:
    """A real model's out-of-fold probabilities, as evaluate chooses thresholds on."""
    rng = np.random.default_rng(5)
    features = rng.normal(size=(2000, 4))
    target = pd.Series((features @ [1.0, -0.5, 0.3, 0.0] + rng.logistic(size=2000) > 1.0).astype(int))
    return target, cross_val_predict(LogisticRegression(), features, target, cv=5, method="predict_proba")[:, 1]


def spec(method: str, target: float = 0.95) -> ThresholdParams:
    return ThresholdParams(method=method, value=0.5, cost_false_positive=1.0, cost_false_negative=1.0, target=target)


def sensitivity(target, probability, threshold) -> float:
    positive = np.asarray(target) == 1
    return float(((np.asarray(probability) >= threshold) & positive).sum() / positive.sum())


def specificity(target, probability, threshold) -> float:
    negative = np.asarray(target) == 0
    return float(((np.asarray(probability) < threshold) & negative).sum() / negative.sum())


def precision(target, probability, threshold) -> float:
    flagged = np.asarray(probability) >= threshold
    return float((flagged & (np.asarray(target) == 1)).sum() / flagged.sum())


@pytest.mark.parametrize("wanted", [0.95, 0.8, 0.99])
def test_min_sensitivity_reaches_it_on_the_out_of_fold_predictions_and_is_the_most_specific_that_does(out_of_fold, wanted):
    target, probability = out_of_fold
    threshold = choose_threshold(target, probability, spec("min_sensitivity", wanted))
    assert sensitivity(target, probability, threshold) >= wanted
    following = TARGET_GRID[np.searchsorted(TARGET_GRID, threshold) + 1]  # the next threshold up no longer reaches it
    assert sensitivity(target, probability, following) < wanted
    assert specificity(target, probability, threshold) > 0


@pytest.mark.parametrize("method, rate", [("min_specificity", specificity), ("min_precision", precision)])
def test_min_specificity_and_min_precision_reach_it_at_the_lowest_threshold_that_does(out_of_fold, method, rate):
    target, probability = out_of_fold
    threshold = choose_threshold(target, probability, spec(method, 0.9))
    assert rate(target, probability, threshold) >= 0.9
    preceding = TARGET_GRID[np.searchsorted(TARGET_GRID, threshold) - 1]
    assert rate(target, probability, preceding) < 0.9


def test_a_target_no_threshold_reaches_is_one_line_naming_the_key():
    target, probability = pd.Series([0, 1, 0, 1]), np.array([0.9, 0.1, 0.8, 0.2])  # ranked backwards
    with pytest.raises(StageError, match=r"^evaluate\.threshold\.target: no threshold reaches precision 0\.99 .*most any reaches is 0\.500"):
        choose_threshold(target, probability, spec("min_precision", 0.99))


def wilson(successes: int, trials: int, confidence: float) -> tuple[float, float]:
    """Wilson's score interval, written out (Wilson 1927; Agresti and Coull 1998, eq. 2)."""
    z = norm.ppf(0.5 + confidence / 2)
    share = successes / trials
    centre = (share + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z / (1 + z * z / trials) * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials))
    return centre - half, centre + half


def test_the_operating_points_rates_and_wilson_intervals_by_hand():
    #            TP TP TP FN | FP TN TN TN TN TN
    target = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    probability = np.array([0.9, 0.8, 0.7, 0.2, 0.6, 0.3, 0.2, 0.1, 0.1, 0.05])
    point = operating_point(target, probability, 0.5, 0.9)
    expected = {"sensitivity": (3, 4), "specificity": (5, 6), "precision": (3, 4), "npv": (5, 6)}
    for name, (successes, trials) in expected.items():
        low, high = wilson(successes, trials, 0.9)
        assert point[name] == pytest.approx(successes / trials)
        assert (point[f"{name}_low"], point[f"{name}_high"]) == pytest.approx((low, high), abs=1e-12)
    nobody = operating_point(target, probability, 0.95, 0.9)  # nothing flagged: no precision to speak of
    assert nobody["precision"] is None and nobody["sensitivity"] == 0


def statsmodels_calibration(target, probability, confidence):
    x = np.log(np.clip(probability, CLIP, 1 - CLIP) / (1 - np.clip(probability, CLIP, 1 - CLIP)))
    slope = sm.GLM(target, sm.add_constant(x), family=sm.families.Binomial()).fit()
    large = sm.GLM(target, np.ones((len(x), 1)), family=sm.families.Binomial(), offset=x).fit()
    alpha = 1 - confidence
    return {"intercept": large.params[0], "intercept_interval": large.conf_int(alpha)[0],
            "slope": slope.params[1], "slope_interval": slope.conf_int(alpha)[1]}


@pytest.mark.parametrize("how", ["calibrated", "too_extreme", "too_low", "with_zeros_and_ones"])
def test_calibration_intercept_and_slope_are_statsmodels_logistic_fits(how):
    rng = np.random.default_rng(11)
    truth = rng.uniform(0.02, 0.98, 3000)
    target = (rng.uniform(size=3000) < truth).astype(int)
    score = np.log(truth / (1 - truth))
    probability = {"calibrated": truth, "too_extreme": 1 / (1 + np.exp(-2.0 * score)), "too_low": 1 / (1 + np.exp(-(score - 1.0))),
                   "with_zeros_and_ones": np.where(truth > 0.95, 1.0, np.where(truth < 0.05, 0.0, truth))}[how]
    ours, theirs = calibration(target, probability, 0.95), statsmodels_calibration(target, probability, 0.95)
    for name in ("intercept", "slope"):
        assert ours[name] == pytest.approx(theirs[name], abs=1e-8)
        # statsmodels' IRLS stops at its own tolerance (1e-8 in the deviance): its intervals are that close
        assert (ours[f"{name}_low"], ours[f"{name}_high"]) == pytest.approx(tuple(theirs[f"{name}_interval"]), abs=1e-6)
    if how == "too_extreme":  # predictions twice as spread as the truth: slope about a half
        assert 0.4 < ours["slope"] < 0.6
    if how == "too_low":  # one logit unit too low on average: positive calibration-in-the-large
        assert ours["intercept_low"] > 0.5


def test_calibration_of_one_class_or_separated_classes_is_not_a_number():
    assert calibration(np.zeros(5), np.full(5, 0.3), 0.95)["slope"] is None
    separated = calibration(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9]), 0.95)
    assert separated["slope"] is None and separated["slope_low"] is None


def test_net_benefit_on_a_hand_worked_case():
    """10 rows, 4 positive. At pt = 0.25 the model treats rows >= 0.25: 3 TP, 2 FP.
    net benefit = 3/10 - 2/10 * 0.25/0.75 = 0.3 - 0.0666... = 0.2333...;
    treat-all = 4/10 - 6/10 * 1/3 = 0.2; treat-none = 0."""
    target = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    probability = np.array([0.9, 0.6, 0.3, 0.1, 0.5, 0.25, 0.2, 0.1, 0.1, 0.0])
    assert net_benefit(target, probability, 0.25) == pytest.approx(0.3 - 0.2 / 3)
    row = decision_curve(target, probability, [0.25])[0]
    assert row == pytest.approx({"threshold": 0.25, "model": 0.3 - 0.2 / 3, "treat_all": 0.2, "treat_none": 0.0})
    curve = decision_curve(target, probability, threshold_range(0.05, 0.5, 0.05))
    assert [row["threshold"] for row in curve] == [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5]
    beats = [row["threshold"] for row in curve if row["model"] > max(row["treat_all"], 0.0)]
    assert summary(curve)["beats_both_from"] == beats[0] and summary(curve)["beats_both_to"] == beats[-1]


def test_operating_point_and_calibration_gates_are_accepted_and_a_misspelt_one_is_refused():
    raw = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    raw["gates"]["classification"] = [{"metric": "calibration.slope", "min": 0.8, "max": 1.2},
                                      {"metric": "operating_point.sensitivity_low", "min": 0.9}]
    Params.model_validate(raw)
    raw["gates"]["classification"] = [{"metric": "calibration.slop", "min": 0.8}]
    with pytest.raises(ValueError, match="gates.classification\\[0\\].metric must be one of .*calibration.slope"):
        Params.model_validate(raw)

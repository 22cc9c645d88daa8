"""The monitor compares like with like, and its edge cases give no confident wrong number:
each figure checked against scipy, scikit-learn or a hand-worked case.

- the estimated drop is estimate minus estimate (zero on the test split itself);
- a prediction column's drift reference is held out (scores of rows the model did not learn from);
- decisions are the ones served (a fairness-mitigated model's randomised ones);
- PSI on a constant reference, infinities, number-coded categories read back as 1.0, and a
  ROC-AUC that cannot be estimated.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import precision_score, recall_score, roc_auc_score

from tabular_mlops.config.params import DriftParams, MonitorParams
from tabular_mlops.monitoring.check import check_batch
from tabular_mlops.monitoring.drift import PSI_FLOOR, column_drift, psi
from tabular_mlops.monitoring.estimation import estimate, estimated_roc_auc
from tabular_mlops.monitoring.reference import Reference, build_reference, scored
from tabular_mlops.monitoring.report import markdown

POSITIVE, NEGATIVE = "bad", "good"


class _ForestBundle:
    """Just what build_reference and scored read of a Bundle, around a real fitted model."""

    version, problem, threshold, input_columns = "0123456789ab", "classification", 0.5, ["x1", "x2", "x3"]
    manifest = {"model": {"target": "y", "positive_class": POSITIVE, "classes": None}}
    seen_categories: dict = {}

    class contract:  # noqa: N801 - stands in for Bundle.contract
        columns = {name: type("C", (), {"type": "float"}) for name in ("x1", "x2", "x3")}
        personal: list[str] = []
        protected: list[str] = []

    def __init__(self, model, flip: np.ndarray | None = None) -> None:
        self.model, self.flip = model, flip

    def unseen_categories(self, inputs: pd.DataFrame) -> list[list[str]]:
        return [[] for _ in range(len(inputs))]

    def predict(self, inputs: pd.DataFrame) -> pd.DataFrame:
        probability = self.model.predict_proba(inputs[self.input_columns].to_numpy())[:, 1]
        positive = probability >= self.threshold
        if self.flip is not None:  # a mitigated model's randomised decisions differ on some rows
            positive = positive ^ self.flip(inputs)
        return pd.DataFrame({"probability": probability, "decision": np.where(positive, POSITIVE, NEGATIVE)}, index=inputs.index)

    from tabular_mlops.deployment.artifact import Bundle

    scored = Bundle.scored  # the real one, on this scorer's predict and unseen_categories


def _rows(count: int, seed: int) -> pd.DataFrame:
    """An i.i.d. draw: every call is the same distribution."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (count, 3))
    chance = 1 / (1 + np.exp(-(1.5 * x[:, 0] - x[:, 1] + 0.5 * x[:, 2])))
    return pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "x3": x[:, 2], "y": np.where(rng.random(count) < chance, POSITIVE, NEGATIVE)})


@pytest.fixture(scope="module")
def forest_reference() -> tuple[_ForestBundle, Reference]:
    train, test = _rows(3000, 1), _rows(1500, 2)
    model = RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=1)
    model.fit(train[["x1", "x2", "x3"]].to_numpy(), (train["y"] == POSITIVE).to_numpy())
    bundle = _ForestBundle(model)
    return bundle, build_reference(bundle, train, test, rows=5000, seed=0, calibration=MonitorParams().calibration)


def _normed_wasserstein(reference: pd.Series, current: pd.Series) -> float:
    return stats.wasserstein_distance(reference, current) / np.std(reference)


def test_a_random_forests_scores_on_an_unshifted_batch_do_not_drift(forest_reference) -> None:
    bundle, reference = forest_reference
    batch = scored(bundle, _rows(1500, 3), "y")
    report = check_batch(batch, reference, MonitorParams())
    column = report["columns"]["probability"]
    # compared with the test split's scores (held out), by scipy's own distance
    held_out = _normed_wasserstein(reference.test["probability"], batch["probability"])
    assert column["method"] == "wasserstein" and column["statistic"] == pytest.approx(held_out, abs=1e-6)
    assert column["statistic"] < 0.1 and not column["drifted"]
    # the forest's scores on its own training rows are more extreme: against them, the same batch looks drifted
    assert _normed_wasserstein(reference.training["probability"], batch["probability"]) >= 0.1
    assert report["dataset_drift"] is False


def test_the_estimated_drop_on_the_test_split_itself_is_zero(forest_reference) -> None:
    _, reference = forest_reference
    performance = check_batch(reference.test, reference, MonitorParams())["performance"]
    assert all(drop == pytest.approx(0.0, abs=1e-6) for drop in performance["estimated_drop"].values())
    assert performance["flagged_metrics"] == []
    # Not zero by accident: the forest's estimate is biased, and realised minus estimate is not zero.
    labels = (reference.test["y"] == POSITIVE).astype(int)
    realised_auc = roc_auc_score(labels, reference.test["probability"])
    assert performance["reference_realised"]["roc_auc"] == pytest.approx(realised_auc, abs=1e-6)
    assert abs(realised_auc - performance["estimated"]["roc_auc"]) > 0.005


def test_a_mitigated_models_monitor_counts_the_decisions_served(forest_reference) -> None:
    forest = forest_reference[0].model
    # about one row in twenty gets the other decision, as fairlearn's randomised mixture does
    flipped = _ForestBundle(forest, flip=lambda inputs: (np.floor(inputs["x3"].to_numpy() * 1000) % 20) == 0)
    train, test = _rows(3000, 1), _rows(1500, 2)
    reference = build_reference(flipped, train, test, rows=5000, seed=0, calibration=MonitorParams().calibration)
    batch = scored(flipped, _rows(1500, 4), "y")
    served = (batch["decision"] == POSITIVE).to_numpy()
    thresholded = batch["probability"].to_numpy() >= 0.5
    assert 0.02 < np.mean(served != thresholded) < 0.1
    labels = (batch["y"] == POSITIVE).astype(int)
    performance = check_batch(batch, reference, MonitorParams())["performance"]
    assert performance["realised"]["precision"] == pytest.approx(precision_score(labels, served), abs=1e-6)
    assert performance["realised"]["recall"] == pytest.approx(recall_score(labels, served), abs=1e-6)
    assert performance["realised"]["precision"] != pytest.approx(precision_score(labels, thresholded), abs=1e-3)
    # the estimate's expected confusion counts the served decisions too, on the test split and here
    probability = batch["probability"].to_numpy()
    expected_precision = probability[served].sum() / served.sum()
    assert performance["estimated"]["precision"] == pytest.approx(expected_precision, abs=1e-6)
    test_labels = (reference.test["y"] == POSITIVE).astype(int)
    test_served = (reference.test["decision"] == POSITIVE).to_numpy()
    assert reference.profile["performance"]["realised"]["precision"] == pytest.approx(precision_score(test_labels, test_served))


# --- edge cases ---

def test_psi_on_a_constant_reference_keeps_its_value_in_a_bin_of_its_own() -> None:
    reference, current = pd.Series([5.0] * 1000), pd.Series([718.0] * 400)
    # by hand: bins below 5, at 5, above 5; shares (0, 1, 0) against (0, 0, 1), empty bins 1e-4
    by_hand = 2 * (1 - PSI_FLOOR) * math.log(1 / PSI_FLOOR)
    assert psi(reference, current, True, 10) == pytest.approx(by_hand)
    assert psi(reference, pd.Series([-3.0] * 400), True, 10) == pytest.approx(by_hand)  # a fall, too
    assert psi(reference, pd.Series([5.0] * 400), True, 10) == 0.0


def test_psi_on_a_near_constant_reference_sees_the_pile_move() -> None:
    rng = np.random.default_rng(0)
    reference = pd.Series(np.where(rng.random(2000) < 0.95, 0.0, rng.uniform(0, 1, 2000)))
    moved = pd.Series(np.where(rng.random(2000) < 0.95, 0.5, rng.uniform(0, 1, 2000)))
    # by hand: 95 % of the reference sits at 0, none of the batch does
    assert psi(reference, moved, True, 10) > (0.95 - PSI_FLOOR) * math.log(0.95 / PSI_FLOOR)
    same = pd.Series(np.where(rng.random(2000) < 0.95, 0.0, rng.uniform(0, 1, 2000)))
    assert psi(reference, same, True, 10) < 0.01


def test_psi_on_a_continuous_column_is_the_textbook_decile_psi() -> None:
    rng = np.random.default_rng(1)
    reference, current = pd.Series(rng.normal(0, 1, 5000)), pd.Series(rng.normal(0.3, 1.2, 800))
    edges = np.quantile(reference, np.linspace(0, 1, 11))
    edges[0], edges[-1] = -np.inf, np.inf
    expected = np.histogram(reference, edges)[0] / len(reference)
    actual = np.histogram(current, edges)[0] / len(current)
    textbook = np.sum((actual - expected) * np.log(actual / expected))
    assert psi(reference, current, True, 10) == pytest.approx(textbook, abs=1e-3)


def test_infinities_are_left_out_of_the_comparison_and_counted() -> None:
    rng = np.random.default_rng(2)
    reference = pd.Series(rng.normal(0, 1, 2000))
    current = pd.Series(rng.normal(0, 1, 400))
    current[:20] = np.inf
    current[20:30] = -np.inf
    current[30:40] = np.nan
    column = column_drift(reference, current, "numeric", DriftParams())
    finite = current[np.isfinite(current)]
    assert column["infinite_rate"] == pytest.approx(30 / 400) and column["infinite_rate_reference"] == 0.0
    assert column["missing_rate"] == pytest.approx(10 / 400)
    assert column["statistic"] == pytest.approx(_normed_wasserstein(reference, finite))
    assert math.isfinite(column["psi"]) and not column["drifted"]


def test_number_coded_categories_read_back_as_floats_compare_as_the_contracts_labels(tmp_path) -> None:
    from tabular_mlops.data.tables import read_table

    rng = np.random.default_rng(3)
    codes = rng.choice(["1", "2", "3"], 2000)
    training = pd.DataFrame({"grade": codes, "probability": rng.random(2000)})
    profile = {"problem": "regression", "target": "y", "columns": {"grade": "categorical"},
               "seen_categories": {"grade": ["1", "2", "3"]}}
    reference = Reference(training.rename(columns={"probability": "prediction"}), training.rename(columns={"probability": "prediction"}), profile)
    batch = pd.DataFrame({"grade": rng.choice([1, 2, 3], 500).astype(float), "prediction": rng.random(500)})
    batch.loc[::10, "grade"] = np.nan  # gaps: pandas reads the codes back as 1.0, 2.0, 3.0
    batch.to_csv(tmp_path / "batch.csv", index=False)
    current = read_table(tmp_path / "batch.csv")
    assert current["grade"].dtype == "float64"
    column = check_batch(current, reference, MonitorParams())["columns"]["grade"]
    shares = np.array([(codes == code).mean() for code in "123"])
    present = current["grade"].dropna()
    batch_shares = np.array([(present == int(code)).mean() for code in "123"])
    assert column["method"] == "jensen_shannon"
    assert column["statistic"] == pytest.approx(jensenshannon(shares, batch_shares), abs=1e-6)
    assert column["statistic"] < 0.1 and not column["drifted"] and column["unseen_rate"] == 0.0


@pytest.mark.parametrize("value", [0.0, 1.0])
def test_an_expected_roc_auc_with_no_expected_positive_or_negative_is_not_estimable(value: float) -> None:
    probability = np.full(400, value)
    assert estimated_roc_auc(probability) is None
    assert estimate(probability, probability >= 0.5)["roc_auc"] is None


def test_a_batch_whose_roc_auc_cannot_be_estimated_reports_it_as_such() -> None:
    profile = {"model_version": "abc123def456", "problem": "classification", "target": "y", "positive_class": POSITIVE,
               "classes": None, "threshold": 0.5, "columns": {"x": "numeric"}, "seen_categories": {}, "calibration": {"map": None},
               "performance": {"realised": {"roc_auc": 0.9, "accuracy": 0.8, "precision": 0.7, "recall": 0.7, "f1": 0.7},
                               "estimated": {"roc_auc": 0.89, "accuracy": 0.8, "precision": 0.7, "recall": 0.7, "f1": 0.7}}}
    rng = np.random.default_rng(4)
    table = pd.DataFrame({"x": rng.normal(0, 1, 1500), "probability": rng.random(1500)})
    table["decision"] = np.where(table["probability"] >= 0.5, POSITIVE, NEGATIVE)
    reference = Reference(table, table, profile)
    batch = table.iloc[:400].assign(probability=0.0, decision=NEGATIVE)
    performance = check_batch(batch, reference, MonitorParams(fail_on_estimated_drop=True))["performance"]
    assert performance["estimated"]["roc_auc"] is None and performance["estimated_drop"]["roc_auc"] is None
    assert performance["flagged_metrics"] == []
    report = check_batch(batch, reference, MonitorParams())
    assert "| roc_auc | 0.9000 | 0.8900 | not estimable |  | 0.0500 |  |" in markdown(report)

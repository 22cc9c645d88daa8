"""nested CV: the model choice redone inside each outer fold, checked against a hand-rolled loop."""
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.tree import DecisionTreeClassifier

from tabular_mlops.config.params import Params
from tabular_mlops.data.contract import ColumnContract, Contract
from tabular_mlops.errors import StageError
from tabular_mlops.evaluation.nested import NO_SELECTION, best_family, leaderboard_selection, nested_cross_validation, nested_cv_report
from tabular_mlops.models.pipeline import family_pipeline
from tabular_mlops.models.scoring import cross_validation

REPO_PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"
CONTRACT = Contract(
    target="Status",
    columns={
        "Status": ColumnContract(type="category", nullable=False, categories=["bad", "good"]),
        "Income": ColumnContract(type="float", nullable=True),
        "Age": ColumnContract(type="integer", nullable=False),
        "Home": ColumnContract(type="category", nullable=True, categories=["owner", "rent"]),
    },
)


def credit_like(n: int = 120, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """A 0/1 target driven by Income and, through a step, by Age: neither model family fits both."""
    rng = np.random.default_rng(seed)
    income, age = rng.normal(100, 30, n), rng.integers(20, 70, n)
    inputs = pd.DataFrame({"Income": income, "Age": age, "Home": rng.choice(["rent", "owner"], n)})
    signal = (income - 100) / 30 + 1.5 * (age > 45) + rng.normal(0, 1, n)
    return inputs, pd.Series((signal > 0.7).astype(int), name="Status")


def params_with(model: str = "auto", search: str = "none", **sections) -> Params:
    raw = yaml.safe_load(REPO_PARAMS.read_text(encoding="utf-8"))
    raw["train"]["model"] = model
    raw["train"]["search"].update(method=search, cv_folds=2, space={"logistic_regression": {"C": [0.001, 1.0]}})
    raw["leaderboard"].update(families=["logistic_regression", "dummy"], cv_folds=2)
    raw["evaluate"].update(cv_folds=2, nested_cv=True)  # few folds: these tests check the wiring
    for name, update in sections.items():
        raw[name].update(update)
    return Params.model_validate(raw)


# --- the outer loop, against one written by hand ---

def test_nested_cv_matches_a_hand_rolled_outer_loop_over_stratified_folds():
    inputs, target = credit_like()
    numbers = inputs[["Income", "Age"]]
    pipelines = {"linear": LogisticRegression(max_iter=1000), "tree": DecisionTreeClassifier(max_depth=2, random_state=0)}
    summary, records = nested_cross_validation(
        "classification", leaderboard_selection("classification", pipelines, cv_folds=3, seed=7), numbers, target, count=4, seed=7)

    chosen, auc, brier, loss = [], [], [], []
    for train_rows, test_rows in StratifiedKFold(n_splits=4, shuffle=True, random_state=7).split(numbers, target):
        train_x, train_y, test_x, test_y = numbers.iloc[train_rows], target.iloc[train_rows], numbers.iloc[test_rows], target.iloc[test_rows]
        inner = StratifiedKFold(n_splits=3, shuffle=True, random_state=7)
        means = {name: cross_val_score(clone(model), train_x, train_y, cv=inner, scoring="roc_auc").mean() for name, model in pipelines.items()}
        best = max(means, key=means.get)
        probability = clone(pipelines[best]).fit(train_x, train_y).predict_proba(test_x)[:, 1]
        chosen.append(best)
        auc.append(roc_auc_score(test_y, probability))
        brier.append(brier_score_loss(test_y, probability))
        loss.append(log_loss(test_y, probability))

    assert [record["selected"] for record in records] == chosen
    assert summary["roc_auc_mean"] == pytest.approx(np.mean(auc)) and summary["roc_auc_std"] == pytest.approx(np.std(auc))
    assert summary["brier_mean"] == pytest.approx(np.mean(brier)) and summary["log_loss_mean"] == pytest.approx(np.mean(loss))
    assert [record["test"]["roc_auc"] for record in records] == pytest.approx(auc, abs=1e-6)
    assert [record["test_rows"] for record in records] == [30] * 4


# --- selection bias: the best of many noisy CV scores is optimistic, nested CV is not ---

@pytest.mark.slow  # about 120 small cross-validations: some 20 s of CPU
def test_with_pure_noise_the_winners_cv_is_optimistic_and_nested_cv_is_near_one_half():
    """Ten candidates, each a logistic regression on its own pure-noise column, three seeded datasets.

    The winner's plain CV (what evaluate reports as cv.*: the same folds chose it) is the best of
    ten estimates of 0.5; nested CV scores each choice on rows that took no part in it. The bounds
    were checked on seven triples of seeds (0-2, 100-102, ..., 600-602), not only this one: plain
    0.579 to 0.608, nested 0.452 to 0.547, gap 0.060 to 0.127.
    """
    plain, nested = [], []
    for seed in range(3):
        rng = np.random.default_rng(seed)
        inputs = pd.DataFrame(rng.normal(size=(150, 10)))
        target = pd.Series(rng.permutation(np.arange(150) % 2))
        candidates = {column: Pipeline([("pick", FunctionTransformer(partial(np.take, indices=[column], axis=1))), ("model", LogisticRegression())])
                      for column in range(10)}
        winner, _ = best_family("classification", candidates, inputs, target, cv_folds=3, seed=seed)
        plain.append(cross_validation("classification", candidates[winner], inputs, target, 3, seed)["roc_auc_mean"])
        select = leaderboard_selection("classification", candidates, cv_folds=3, seed=seed)
        nested.append(nested_cross_validation("classification", select, inputs, target, 3, seed)[0]["roc_auc_mean"])
    assert np.mean(plain) > 0.56
    assert abs(np.mean(nested) - 0.5) < 0.07
    assert np.mean(plain) - np.mean(nested) > 0.03


# --- choosing a family, as the leaderboard does ---

class FailsToScore(ClassifierMixin, BaseEstimator):
    """Fits, then gives NaN probabilities (as a diverged network would): every CV score is NaN."""

    def fit(self, inputs, target):
        self.classes_ = np.unique(target)
        return self

    def predict_proba(self, inputs):
        return np.full((len(inputs), 2), np.nan)


def test_best_family_skips_a_family_whose_cv_failed():
    inputs, target = credit_like()
    numbers = inputs[["Income", "Age"]]
    family, scores = best_family("classification", {"broken": FailsToScore(), "linear": LogisticRegression()}, numbers, target, 3, 0)
    assert family == "linear" and np.isnan(scores["broken"])
    _, record = leaderboard_selection("classification", {"broken": FailsToScore(), "linear": LogisticRegression()}, 3, 0)(numbers, target)
    assert record["inner_cv"]["broken"] is None  # JSON has no NaN


def test_when_every_family_fails_the_error_names_them():
    inputs, target = credit_like()
    with pytest.raises(StageError, match=r"every family \(a, b\) failed"):
        best_family("classification", {"a": FailsToScore(), "b": FailsToScore()}, inputs[["Income"]], target, 3, 0)


def test_a_tie_keeps_the_order_given():
    inputs, target = credit_like()
    family, _ = best_family("classification", {"second": LogisticRegression(), "first": LogisticRegression()}, inputs[["Income"]], target, 3, 0)
    assert family == "second"


# --- the pipeline's own procedure, from params ---

def test_auto_redoes_the_leaderboard_in_every_outer_fold():
    inputs, target = credit_like()
    summary, report = nested_cv_report(params_with("auto"), CONTRACT, inputs, target)
    assert (report["selection"], report["outer_folds"], report["inner_folds"], report["metric"]) == ("leaderboard", 2, 2, "roc_auc")
    assert [record["selected"] for record in report["folds"]] == ["logistic_regression"] * 2
    assert all(set(record["inner_cv"]) == {"logistic_regression", "dummy"} for record in report["folds"])
    assert all(record["inner_cv"]["dummy"] == 0.5 for record in report["folds"])
    assert set(summary) == {f"{m}_{stat}" for m in ("roc_auc", "average_precision", "log_loss", "brier") for stat in ("mean", "std")}


def test_a_named_family_without_search_chooses_nothing_so_nested_cv_equals_plain_cv():
    params = params_with("logistic_regression")
    inputs, target = credit_like()
    summary, report = nested_cv_report(params, CONTRACT, inputs, target)
    plain = cross_validation("classification", family_pipeline(params, CONTRACT, "logistic_regression"), inputs, target, 2, params.seed)
    assert summary == pytest.approx(plain, abs=1e-12)
    assert report["selection"] == "none" and report["note"] == NO_SELECTION
    assert all(record["selected"] is None for record in report["folds"])


def test_a_search_is_redone_in_every_outer_fold_and_records_the_candidate_chosen():
    inputs, target = credit_like()
    summary, report = nested_cv_report(params_with("logistic_regression", search="grid"), CONTRACT, inputs, target)
    assert report["selection"] == "search" and report["inner_folds"] == 2
    for record in report["folds"]:
        assert record["selected"] in ({"C": 0.001}, {"C": 1.0})
        assert sorted(row["params"]["C"] for row in record["inner_cv"]) == [0.001, 1.0]
        assert record["selected"] == record["inner_cv"][0]["params"]  # best first


def test_nested_leaderboard_choice_screens_on_the_budget_sample_and_skips_families_over_their_limit():
    inputs, target = credit_like(n=160)
    # outer training parts of 80 rows; the leaderboard screens on 40 of them; dummy is over its limit of 30
    params = params_with(leaderboard={"sample_rows": 40, "max_rows_per_family": {"dummy": 30}})
    summary, report = nested_cv_report(params, CONTRACT, inputs, target)
    assert [set(record["inner_cv"]) for record in report["folds"]] == [{"logistic_regression"}] * 2
    # the inner score is the plain CV on the sample that the cross_validate stage would draw from the outer part
    from sklearn.model_selection import StratifiedKFold as Folds
    from tabular_mlops.models.budget import screening_sample
    outer_train = next(iter(Folds(2, shuffle=True, random_state=params.seed).split(inputs, target)))[0]
    sampled_inputs, sampled_target, _ = screening_sample(inputs.iloc[outer_train], target.iloc[outer_train], True, 40, params.seed)
    inner = cross_validation("classification", family_pipeline(params, CONTRACT, "logistic_regression"), sampled_inputs, sampled_target, 2, params.seed)
    assert report["folds"][0]["inner_cv"]["logistic_regression"] == pytest.approx(inner["roc_auc_mean"], abs=1e-6)


def test_the_repo_leaderboard_with_both_tasks_families_builds_only_the_tasks_own_for_nested_cv():
    from tabular_mlops.evaluation.nested import selection_for
    raw = yaml.safe_load(REPO_PARAMS.read_text(encoding="utf-8"))
    raw["evaluate"]["nested_cv"] = True
    procedure, _ = selection_for(Params.model_validate(raw), CONTRACT)  # listed regression families used to raise KeyError
    assert procedure == "leaderboard"

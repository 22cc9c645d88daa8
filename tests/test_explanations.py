"""explanations: SHAP contributions per raw input column for every family of both tasks, checked
against the models' own outputs and, for the linear families, against coef x (x - background mean)
computed here from the fitted steps; reason codes that never name a personal column.

Tolerances: base_value + contributions.sum(axis=1) == outputs to ADDITIVE (1e-9; measured gaps are
below 1e-13: every method is additive by construction, the permutation explainer included, since
each pass through the columns telescopes from the background's mean output to the row's).
"""
from __future__ import annotations

import time
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.special import logit
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from tabular_mlops.config.params import Params
from tabular_mlops.data.contract import ColumnContract, Contract
from tabular_mlops.errors import StageError
from tabular_mlops.explanations.contributions import explain
from tabular_mlops.explanations.explainers import build_explainer
from tabular_mlops.explanations.reasons import global_importance, reason_codes, top_contributions
from tabular_mlops.features.sources import transformed_sources
from tabular_mlops.features.preprocessing import build_preprocessor
from tabular_mlops.models.pipeline import family_pipeline
from tests.test_preprocessing import featurize_spec

ROOT = Path(__file__).resolve().parents[1]
ADDITIVE = 1e-9
SEED = 7
PERSONAL = {"Gender", "Name"}
INPUTS = ["Age", "Income", "Debt", "Seniority", "Home", "Job", "Marital", "Gender"]
FAMILIES = {
    "classification": ["logistic_regression", "linear_svm", "random_forest", "hist_gradient_boosting", "lightgbm", "mlp", "dummy"],
    "regression": ["linear_regression", "ridge", "random_forest", "hist_gradient_boosting", "lightgbm", "mlp", "dummy"],
}
CASES = [(task, family) for task, families in FAMILIES.items() for family in families]
OUTPUT_SPACE = {**{("classification", family): "log_odds" for family in ("logistic_regression", "hist_gradient_boosting", "lightgbm")},
                **{("classification", family): "probability" for family in ("linear_svm", "random_forest", "mlp", "dummy")},
                **{("regression", family): "value" for family in FAMILIES["regression"]}}
METHOD = {"random_forest": "tree", "hist_gradient_boosting": "tree", "lightgbm": "tree", "logistic_regression": "linear",
          "linear_regression": "linear", "ridge": "linear", "linear_svm": "permutation", "mlp": "permutation", "dummy": "constant"}


def synthetic_frame(rows: int = 260, seed: int = 0) -> pd.DataFrame:
    """4 numeric inputs (Income with gaps), 4 categorical ones (Gender personal but a model input, and
    the strongest driver), and Name, personal and no model input: 20 transformed columns."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "Age": rng.integers(18, 70, rows).astype(float),
        "Income": np.where(rng.random(rows) < 0.15, np.nan, rng.lognormal(5, 0.6, rows)),
        "Debt": rng.normal(0, 1, rows),
        "Seniority": rng.integers(0, 30, rows).astype(float),
        "Home": rng.choice(["rent", "owner", "parents", "other", "priv"], rows),
        "Job": rng.choice(["fixed", "partime", "freelance", "others"], rows),
        "Marital": rng.choice(["single", "married", "widow", "separated"], rows),
        "Gender": rng.choice(["f", "m"], rows),
        "Name": [f"person {i}" for i in range(rows)],
    })
    frame["score"] = (30 - frame["Age"]) / 15 + 1.2 * (frame["Home"] == "rent") + 0.8 * frame["Debt"] + 4.0 * (frame["Gender"] == "m") - 2.0
    return frame


FRAME = synthetic_frame()
LABEL = (FRAME["score"] + np.random.default_rng(1).logistic(0, 0.5, len(FRAME)) > 0).astype("int64")
VALUE = FRAME["score"] + np.random.default_rng(2).normal(0, 0.3, len(FRAME))
TRAIN, EXPLAINED = FRAME.iloc[:200], FRAME.iloc[200:208].set_axis(range(500, 508))  # an index unlike 0..n-1
BACKGROUND = TRAIN.iloc[:100]


def params(task: str) -> Params:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    raw["train"]["random_forest"].update(n_estimators=30)
    raw["train"]["hist_gradient_boosting"].update(max_iter=30, min_samples_leaf=10)
    raw["train"]["lightgbm"].update(n_estimators=30, min_child_samples=10)
    raw["train"]["mlp"].update(max_iter=300, alpha=0.01)
    if task == "regression":
        raw["data"].update(task="regression", positive_class=None)
        raw["train"]["model"] = "ridge"
        raw["gates"] = {"regression": []}
    return Params.model_validate(raw)


def contract(task: str, inputs: list[str] = INPUTS) -> Contract:
    numeric = {"Age", "Income", "Debt", "Seniority"}
    columns = {name: ColumnContract(type="float" if name in numeric else "category", nullable=name == "Income") for name in inputs}
    target = ColumnContract(type="category", nullable=False, categories=["0", "1"]) if task == "classification" else ColumnContract(type="float", nullable=False)
    return Contract(target="y", columns={"y": target, **columns})


@cache
def fitted(task: str, family: str, inputs: tuple[str, ...] = tuple(INPUTS)) -> Pipeline:
    target = LABEL if task == "classification" else VALUE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return family_pipeline(params(task), contract(task, list(inputs)), family).fit(TRAIN, target.iloc[:200])


@cache
def explainer(task: str, family: str, seed: int = SEED):
    return build_explainer(fitted(task, family), BACKGROUND, task, seed)


def own_output(model: Pipeline, space: str, rows: pd.DataFrame) -> np.ndarray:
    """The pipeline's own output, called on raw rows: the check on explain()'s `outputs`."""
    if space == "log_odds":
        # LightGBM has no decision_function: the margin is the log-odds of its own probability
        return model.decision_function(rows) if hasattr(model, "decision_function") else logit(model.predict_proba(rows)[:, 1])
    return model.predict_proba(rows)[:, 1] if space == "probability" else model.predict(rows)


def raw_source(name: str) -> str:
    """Independently of sources.py: this frame's column names prefix no other one."""
    local = name.split("__", 1)[1].removeprefix("missingindicator_")
    return next(column for column in INPUTS if local == column or local.startswith(f"{column}_"))


# --- the linear families: coef x (transformed value - its background mean), summed per raw column ---

@pytest.mark.parametrize("task, family", [("classification", "logistic_regression"), ("regression", "linear_regression"), ("regression", "ridge")])
def test_linear_contributions_are_coefficient_times_distance_from_the_background_mean(task, family):
    model = fitted(task, family)
    explanation = explain(explainer(task, family), EXPLAINED)
    rows, background = model[0].transform(EXPLAINED), model[0].transform(BACKGROUND)
    coef = np.ravel(model[-1].coef_)
    per_transformed = (rows - background.mean()) * coef
    expected = per_transformed.T.groupby(raw_source).sum().T[INPUTS]
    pd.testing.assert_frame_equal(explanation.contributions, expected, check_exact=False, atol=1e-6, rtol=0)
    assert explanation.base_value == pytest.approx(float(np.ravel(model[-1].intercept_)[0] + background.mean() @ coef), abs=1e-6)


# --- every family of both tasks ---

@pytest.mark.parametrize("task, family", CASES)
def test_base_plus_contributions_is_the_models_own_output_for_every_family(task, family):
    model, explained = fitted(task, family), explainer(task, family)
    explanation = explain(explained, EXPLAINED)
    assert (explained.method, explanation.output_space) == (METHOD[family], OUTPUT_SPACE[(task, family)])
    assert list(explanation.contributions.columns) == INPUTS  # Name is no model input: no column
    assert explanation.contributions.index.equals(EXPLAINED.index)
    np.testing.assert_allclose(explanation.outputs, own_output(model, explanation.output_space, EXPLAINED), rtol=0, atol=1e-12)
    gap = explanation.base_value + explanation.contributions.sum(axis=1).to_numpy() - explanation.outputs
    assert np.abs(gap).max() < ADDITIVE
    if family != "dummy":
        assert explanation.contributions.abs().to_numpy().max() > 1e-3


@pytest.mark.parametrize("task", FAMILIES)
def test_dummy_contributions_are_zero_and_its_base_is_the_constant(task):
    explanation = explain(explainer(task, "dummy"), EXPLAINED)
    assert (explanation.contributions == 0).all().all()
    constant = LABEL.iloc[:200].mean() if task == "classification" else VALUE.iloc[:200].mean()
    assert explanation.base_value == pytest.approx(constant, abs=1e-12)


def test_few_transformed_columns_get_exact_shapley_values_that_add_up():
    model = fitted("classification", "mlp", ("Age", "Debt", "Home"))  # 2 numeric + 5 one-hot: 2**7 <= MAX_EVALS
    explained = build_explainer(model, BACKGROUND, "classification", SEED)
    explanation = explain(explained, EXPLAINED)
    assert explained.method == "exact" and list(explanation.contributions.columns) == ["Age", "Debt", "Home"]
    gap = explanation.base_value + explanation.contributions.sum(axis=1).to_numpy() - model.predict_proba(EXPLAINED)[:, 1]
    assert np.abs(gap).max() < ADDITIVE


# --- reason codes and the other summaries ---

def test_reason_codes_never_name_an_excluded_column_even_when_it_is_the_strongest_driver():
    explanation = explain(explainer("classification", "logistic_regression"), EXPLAINED)
    strongest = explanation.contributions.idxmax(axis=1)
    assert (strongest == "Gender").sum() >= 3  # the design: Gender is a model input and drives these rows
    unfiltered = reason_codes(explanation, EXPLAINED, excluded=set())
    assert any(codes[0]["column"] == "Gender" for codes in unfiltered)
    codes = reason_codes(explanation, EXPLAINED, excluded=PERSONAL, count=3)
    for (index, row), row_codes in zip(EXPLAINED.iterrows(), codes):
        assert "Gender" not in {code["column"] for code in row_codes} and len(row_codes) <= 3
        contributions = [code["contribution"] for code in row_codes]
        assert all(value > 0 for value in contributions) and contributions == sorted(contributions, reverse=True)
        allowed = explanation.contributions.loc[index].drop("Gender")
        expected = allowed[allowed.round(6) > 0].sort_values(ascending=False, kind="stable").head(3)
        assert [code["column"] for code in row_codes] == list(expected.index)
        for code in row_codes:
            raw = row[code["column"]]
            assert code["value"] == (None if pd.isna(raw) else raw) and code["contribution"] == round(expected[code["column"]], 6)


def test_a_missing_raw_value_is_reported_as_none():
    rows = EXPLAINED.assign(Income=np.nan, Debt=5.0)
    explanation = explain(explainer("regression", "ridge"), rows)
    assert {code["column"]: code["value"] for code in top_contributions(explanation, 8, rows=rows)[0]}.get("Income", None) is None
    assert all(type(code["value"]) in (float, str, type(None)) for codes in top_contributions(explanation, 8, rows=rows) for code in codes)


def test_top_contributions_are_the_largest_by_absolute_value_of_either_sign():
    explanation = explain(explainer("classification", "hist_gradient_boosting"), EXPLAINED)
    tops = top_contributions(explanation, 4)
    for (_, contributions), row_top in zip(explanation.contributions.iterrows(), tops):
        expected = contributions[contributions.round(6) != 0].abs().sort_values(ascending=False, kind="stable").head(4)
        assert [entry["column"] for entry in row_top] == list(expected.index)
        assert [entry["contribution"] for entry in row_top] == [round(contributions[column], 6) for column in expected.index]
    assert any(entry["contribution"] < 0 for row_top in tops for entry in row_top)


def test_global_importance_is_the_mean_absolute_contribution_largest_first():
    explanation = explain(explainer("regression", "random_forest"), EXPLAINED)
    importance = global_importance(explanation)
    expected = explanation.contributions.abs().mean().round(6)
    assert [entry["column"] for entry in importance] == list(expected.sort_values(ascending=False, kind="stable").index)
    assert {entry["column"]: entry["mean_abs_contribution"] for entry in importance} == expected.to_dict()
    assert global_importance(explain(explainer("regression", "random_forest"), EXPLAINED)) == importance


# --- determinism and the seed ---

@pytest.mark.parametrize("task, family", CASES)
def test_two_explain_calls_give_identical_numbers(task, family):
    first, second = (explain(explainer(task, family), EXPLAINED) for _ in range(2))
    pd.testing.assert_frame_equal(first.contributions, second.contributions, check_exact=True)
    assert first.base_value == second.base_value and np.array_equal(first.outputs, second.outputs)


def test_a_rows_permutation_explanation_does_not_depend_on_the_rows_explained_with_it():
    together = explain(explainer("classification", "mlp"), EXPLAINED).contributions
    np.random.seed(123)  # and not on anyone's use of numpy's global generator
    alone = explain(explainer("classification", "mlp"), EXPLAINED.iloc[[5]]).contributions
    pd.testing.assert_frame_equal(alone, together.iloc[[5]], check_exact=True)
    assert np.random.randint(10**9) == np.random.RandomState(123).randint(10**9)  # the global generator was restored


@pytest.mark.parametrize("task, family", CASES)
def test_the_seed_changes_the_permutation_explainer_only(task, family):
    one, other = (explain(explainer(task, family, seed), EXPLAINED) for seed in (SEED, SEED + 1))
    changed = not np.array_equal(one.contributions.to_numpy(), other.contributions.to_numpy())
    assert changed == (METHOD[family] == "permutation")
    assert one.base_value == pytest.approx(other.base_value, abs=1e-12)


# --- mapping, bad input ---

def test_one_hot_missing_indicator_and_calendar_columns_map_to_their_source():
    # Home prefixes Home_type: Home_type_x is Home_type's (tests/test_explanation_sources.py: names that mislead)
    train = pd.DataFrame({"Income": [1.0, np.nan, 3.0, 4.0], "Home": ["a", "b", "a", "b"], "Home_type": ["x", "y", "x", "y"],
                          "Opened": ["2024-01-05", "2024-03-10", "2025-07-01", "2024-11-30"]})
    preprocessor = build_preprocessor(["Income"], ["Home", "Home_type"], featurize_spec(), datetimes=["Opened"]).fit(train)
    names = [name.split("__", 1)[1] for name in preprocessor.get_feature_names_out()]
    sources = dict(zip(names, transformed_sources(preprocessor)))
    assert sources["Income"] == sources["missingindicator_Income"] == "Income"
    assert sources["Home_a"] == sources["Home_b"] == "Home" and sources["Home_type_x"] == sources["Home_type_y"] == "Home_type"
    assert {sources[name] for name in names if name.startswith("Opened_")} == {"Opened"} and len(names) >= 9


def test_bad_input_names_what_was_expected():
    model = fitted("classification", "logistic_regression")
    with pytest.raises(StageError, match="task must be one of classification, regression; got 'multiclass'"):
        build_explainer(model, BACKGROUND, "multiclass", SEED)
    with pytest.raises(StageError, match="task is 'regression' but the model's estimator is a LogisticRegression"):
        build_explainer(model, BACKGROUND, "regression", SEED)
    with pytest.raises(StageError, match="background has no rows"):
        build_explainer(model, BACKGROUND.iloc[:0], "classification", SEED)
    three_classes = Pipeline([("preprocess", model[0]), ("model", LogisticRegression().fit(model[0].transform(TRAIN), LABEL.iloc[:200] + (TRAIN["Debt"] > 1)))])
    with pytest.raises(StageError, match=r"classes \[0, 1\].*got \[0, 1, 2\]"):
        build_explainer(three_classes, BACKGROUND, "classification", SEED)
    with pytest.raises(StageError, match="rows lack the model's input column\\(s\\) 'Debt'"):
        explain(explainer("classification", "logistic_regression"), EXPLAINED.drop(columns="Debt"))
    explanation = explain(explainer("classification", "logistic_regression"), EXPLAINED)
    with pytest.raises(StageError, match="excluded must be a collection of column names, not the text 'Gender'"):
        reason_codes(explanation, EXPLAINED, excluded="Gender")
    with pytest.raises(StageError, match="count must be a whole number, 0 or more; got -1"):
        reason_codes(explanation, EXPLAINED, excluded=PERSONAL, count=-1)
    with pytest.raises(StageError, match="same index"):
        reason_codes(explanation, EXPLAINED.reset_index(drop=True), excluded=PERSONAL)


def test_prints_the_per_row_latency_of_each_family(capsys):
    lines = []
    for task, family in CASES:
        explained = explainer(task, family)
        row = EXPLAINED.iloc[[0]]
        transform = min(_seconds(lambda: explained.model[0].transform(row)) for _ in range(5))
        total = min(_seconds(lambda: explain(explained, row)) for _ in range(5))
        lines.append(f"{task:14} {family:22} {explained.method:11} {sum(map(len, explained.positions))} columns, "
                     f"{len(explained.background)} background rows: {total * 1000:6.1f} ms a row ({transform * 1000:.1f} ms of it preprocessing)")
    with capsys.disabled():
        print("\nexplain() latency for one row (best of 5):\n" + "\n".join(lines))


def _seconds(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start

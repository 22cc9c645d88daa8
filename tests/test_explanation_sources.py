"""features.sources: each transformed column credited to the raw column it comes from, for
column names that prefix each other (`A`, `A_b`; `D`, `D_day`), unicode names and a column named
`missingindicator_x`. Checked against a hand-written list, and independently of any name by
perturbing one raw column at a time: changing only column X must change only the transformed
columns credited to X, and every transformed column must change for some X.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, MaxAbsScaler, Normalizer, OneHotEncoder, StandardScaler

from tabular_mlops.config.params import FeaturizeParams
from tabular_mlops.errors import StageError
from tabular_mlops.explanations.contributions import explain
from tabular_mlops.explanations.explainers import build_explainer
from tabular_mlops.features.sources import column_positions, input_columns, transformed_sources
from tabular_mlops.features.preprocessing import build_preprocessor
from tests.test_preprocessing import featurize_spec

ROOT = Path(__file__).resolve().parents[1]
# SimpleImputer leaves out the all-missing column E (its missing indicator stays), and says so;
# the perturbations hold categories no training row has, and the encoder says so.
pytestmark = [pytest.mark.filterwarnings("ignore:Skipping features without any observed values"),
              pytest.mark.filterwarnings("ignore:Found unknown categories")]

NUMERIC = ["N", "Größe", "missingindicator_x", "E"]
CATEGORICAL = ["A", "A_b", "A_infrequent"]
DATETIMES = ["D", "D_day", "日付"]
KINDS = {"R": "numeric", **dict.fromkeys(NUMERIC, "numeric"), **dict.fromkeys(CATEGORICAL, "categorical"), **dict.fromkeys(DATETIMES, "datetime")}
# A value of each kind that no training row holds: perturbs even a column that is all missing or never varies.
UNSEEN = {"numeric": 12345.0, "categorical": "unseen", "datetime": "2031-02-03"}


def raw_frame(rows: int = 60, seed: int = 0) -> pd.DataFrame:
    """A's category `b_c` is named A_b_c; A's infrequent bucket A_infrequent_sklearn; D's calendar
    part day_of_week D_day_of_week. E has no value, 日付 a single date. R is in no branch of our builder."""
    rng = np.random.default_rng(seed)

    def dates(start: str, days: int) -> list:
        return list((pd.Timestamp(start) + pd.to_timedelta(rng.integers(0, days, rows), unit="D")).strftime("%Y-%m-%d"))

    frame = pd.DataFrame({
        "N": np.where(rng.random(rows) < 0.2, np.nan, rng.lognormal(5, 1, rows)),
        "Größe": np.where(rng.random(rows) < 0.1, np.nan, rng.normal(170, 10, rows)),
        "missingindicator_x": rng.normal(0, 1, rows),
        "E": np.full(rows, np.nan),
        "A": rng.choice(["b_c", "d", "e"], rows).astype(object),
        "A_b": np.where(rng.random(rows) < 0.1, None, rng.choice(["x", "y"], rows)),
        "A_infrequent": rng.choice(["s", "t"], rows).astype(object),
        "D": dates("2023-01-01", 900),
        "D_day": dates("2024-01-01", 300),
        "日付": ["2024-05-06"] * rows,
        "R": rng.normal(0, 1, rows),
    })
    frame.loc[[3, 17], "A"] = "a_rare"  # two rows: the infrequent bucket once min_frequency is 3; sorts first
    frame.loc[[5, 40], "D"] = [None, "not a date"]
    return frame


FRAME = raw_frame()


def project_featurize() -> FeaturizeParams:
    return FeaturizeParams.model_validate(yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))["featurize"])


def by_hand() -> ColumnTransformer:
    """Not our builder: the encoder drops each column's first category (for A the infrequent one, so
    its bucket), the imputer keeps the empty column E, and the remainder R passes through."""
    numeric = Pipeline([("impute", SimpleImputer(strategy="mean", add_indicator=True, keep_empty_features=True)), ("scale", MaxAbsScaler())])
    one_hot = OneHotEncoder(drop="first", min_frequency=3, handle_unknown="infrequent_if_exist", sparse_output=False)
    transformer = ColumnTransformer([("numeric", numeric, NUMERIC), ("categorical", one_hot, CATEGORICAL)], remainder="passthrough")
    return transformer.set_output(transform="pandas").fit(FRAME[[*NUMERIC, *CATEGORICAL, "R"]])


PREPROCESSORS = {
    "params.yaml": lambda: build_preprocessor(NUMERIC, CATEGORICAL, project_featurize(), DATETIMES).fit(FRAME),
    "min_frequency, iqr clipping, robust": lambda: build_preprocessor(NUMERIC, CATEGORICAL, featurize_spec(
        numeric={"scale": "robust", "transform": "signed_log"}, outliers={"method": "iqr"}, categorical={"min_frequency": 3}), DATETIMES).fit(FRAME),
    "max_categories, no indicators, quantile clipping, minmax": lambda: build_preprocessor(NUMERIC, CATEGORICAL, featurize_spec(
        numeric={"add_indicator": False, "scale": "minmax"}, outliers={"method": "quantile"},
        categorical={"impute": "constant", "max_categories": 2}), DATETIMES).fit(FRAME),
    "no categorical columns": lambda: build_preprocessor(NUMERIC, [], featurize_spec(), DATETIMES).fit(FRAME),
    "by hand: drop, keep_empty_features, remainder": by_hand,
}


# --- names that prefix each other, written out by hand ---

def test_a_category_named_like_another_column_is_credited_to_its_own_column():
    frame = pd.DataFrame({"A": ["b_c", "d", "b_c", "d"], "A_b": ["x", "y", "y", None], "N": [1.0, np.nan, 3.0, 4.0],
                          "D": ["2023-01-05", "2024-03-11", "2025-07-01", "2024-11-30"],
                          "D_day": ["2024-01-05", "2024-03-10", "2025-07-02", "2024-11-29"]})
    preprocessor = build_preprocessor(["N"], ["A", "A_b"], featurize_spec(), ["D", "D_day"]).fit(frame)
    assert list(zip(preprocessor.get_feature_names_out(), transformed_sources(preprocessor))) == [
        ("numeric__N", "N"), ("numeric__missingindicator_N", "N"),
        ("categorical__A_b_c", "A"), ("categorical__A_d", "A"), ("categorical__A_b_x", "A_b"), ("categorical__A_b_y", "A_b"),
        ("datetime__D_year", "D"), ("datetime__D_month", "D"), ("datetime__D_day_of_week", "D"), ("datetime__D_day_of_year", "D"),
        ("datetime__D_day_year", "D_day"), ("datetime__D_day_month", "D_day"),
        ("datetime__D_day_day_of_week", "D_day"), ("datetime__D_day_day_of_year", "D_day"),
    ]


# --- every kind of step, checked by perturbation ---

@pytest.mark.parametrize("case", PREPROCESSORS)
def test_changing_one_raw_column_changes_exactly_the_columns_credited_to_it(case):
    preprocessor = PREPROCESSORS[case]()
    rows = FRAME[list(preprocessor.feature_names_in_)]
    before = preprocessor.transform(rows).to_numpy(dtype=np.float64)
    raw = input_columns(preprocessor)
    changed_by = {column: _changed(preprocessor, rows, column, before) for column in raw}
    names = preprocessor.get_feature_names_out()
    changers = {name: [column for column in raw if changed_by[column][position]] for position, name in enumerate(names)}
    assert changers == {name: [source] for name, source in zip(names, transformed_sources(preprocessor))}


def _changed(preprocessor: ColumnTransformer, rows: pd.DataFrame, column: str, before: np.ndarray) -> np.ndarray:
    """Per transformed column: does any of three perturbations of `column` alone (rolled by a row,
    all missing, a value no training row holds) change it?"""
    kind = KINDS[column]
    replacements = [np.roll(rows[column].to_numpy(), 1), [None if kind != "numeric" else np.nan] * len(rows), [UNSEEN[kind]] * len(rows)]
    changed = np.zeros(before.shape[1], dtype=bool)
    for values in replacements:
        after = preprocessor.transform(rows.assign(**{column: pd.Series(values, index=rows.index, dtype=rows[column].dtype)}))
        after = after.to_numpy(dtype=np.float64)
        changed |= ((after != before) & ~(np.isnan(after) & np.isnan(before))).any(axis=0)
    return changed


def test_the_infrequent_bucket_and_a_column_without_values_are_counted_exactly():
    preprocessor = PREPROCESSORS["min_frequency, iqr clipping, robust"]()
    sources = transformed_sources(preprocessor)
    names = list(preprocessor.get_feature_names_out())
    # A: b_c, d, e and the bucket (a_rare, two rows); E: its indicator only (no statistic to impute with)
    assert [name for name, source in zip(names, sources) if source == "A"] == [
        "categorical__A_b_c", "categorical__A_d", "categorical__A_e", "categorical__A_infrequent_sklearn"]
    assert [name for name, source in zip(names, sources) if source == "E"] == ["numeric__missingindicator_E"]
    assert [name for name, source in zip(names, sources) if source == "日付"] == ["datetime__日付_year"]
    positions = column_positions(sources, ["A_infrequent", "A"])
    assert [list(names[i] for i in where) for where in positions] == [
        ["categorical__A_infrequent_s", "categorical__A_infrequent_t"],
        ["categorical__A_b_c", "categorical__A_d", "categorical__A_e", "categorical__A_infrequent_sklearn"]]


# --- what the user reads: contributions per raw column ---

def test_linear_contributions_of_columns_named_like_each_other_are_coefficient_times_distance_summed_by_hand():
    rows = FRAME[["N", "A", "A_b", "D", "D_day"]].drop(index=[5, 40])  # every D a date: no indicators for its parts
    target = 3.0 * (rows["A"] == "b_c") - 2.0 * (rows["A_b"] == "x") + 0.01 * rows["N"].fillna(0)
    preprocessor = build_preprocessor(["N"], ["A", "A_b"], featurize_spec(categorical={"min_frequency": 3}), ["D", "D_day"])
    model = Pipeline([("preprocess", preprocessor), ("model", LinearRegression())]).fit(rows, target)
    background, explained = rows.iloc[:40], rows.iloc[40:]
    explanation = explain(build_explainer(model, background, "regression", seed=7), explained)

    parts = ("year", "month", "day_of_week", "day_of_year")
    source = {"N": "N", "missingindicator_N": "N", "A_b_c": "A", "A_d": "A", "A_e": "A", "A_infrequent_sklearn": "A",
              "A_b_x": "A_b", "A_b_y": "A_b", **{f"D_{part}": "D" for part in parts}, **{f"D_day_{part}": "D_day" for part in parts}}
    transformed, mean = model[0].transform(explained), model[0].transform(background).mean()
    per_transformed = (transformed - mean) * model[-1].coef_
    expected = per_transformed.T.groupby(lambda name: source[name.split("__", 1)[1]]).sum().T[["N", "A", "A_b", "D", "D_day"]]
    pd.testing.assert_frame_equal(explanation.contributions, expected, check_exact=False, atol=1e-9, rtol=0)
    gap = explanation.base_value + explanation.contributions.sum(axis=1).to_numpy() - model.predict(explained)
    assert np.abs(gap).max() < 1e-9


# --- steps that cannot be traced ---

@pytest.mark.parametrize("step", [Normalizer(), FunctionTransformer(np.cumsum, kw_args={"axis": 1})], ids=["Normalizer", "FunctionTransformer"])
def test_a_step_that_mixes_columns_is_refused_naming_its_branch_and_class(step):
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [3.0, 1.0, 2.0]})
    preprocessor = ColumnTransformer([("mixed", Pipeline([("scale", StandardScaler()), ("mix", step)]), ["x", "y"])]).fit(frame)
    with pytest.raises(StageError, match=f"branch 'mixed' holds a {type(step).__name__}, whose output columns cannot be traced"):
        transformed_sources(preprocessor)


@pytest.mark.parametrize("columns, kind", [(slice(0, 2), "slice slice(0, 2, None)"), ([True, True, False], "a boolean mask")])
def test_a_branch_that_selects_its_columns_by_slice_or_mask_is_refused(columns, kind):
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [3.0, 1.0, 2.0], "z": [0.0, 1.0, 0.0]})
    preprocessor = ColumnTransformer([("numbers", StandardScaler(), columns)], remainder="passthrough").fit(frame)
    with pytest.raises(StageError, match=re.escape(f"branch 'numbers' selects its columns by {kind}; expected a list of column names")):
        transformed_sources(preprocessor)

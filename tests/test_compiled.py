"""The compiled model (tabular_mlops/compiled) against scikit-learn, for every family and task.

Each pipeline is fitted on a table built to reach every preprocessing step: missing values in
every column, a rare category (the infrequent bucket), dates, long tails beyond the outlier
fences. It is then scored, compiled and with scikit-learn, on rows the fit never saw: unseen
categories, values far beyond the fences, all-missing rows, and one row alone.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tabular_mlops.compiled.compile import BOUND, compile_pipeline, verify
from tabular_mlops.compiled.graph import NotCompilable
from tabular_mlops.compiled.runtime import CompiledModel
from tabular_mlops.config.params import Params
from tabular_mlops.data.contract import ColumnContract, Contract
from tabular_mlops.models.pipeline import family_pipeline
from tabular_mlops.models.scoring import predict

ROOT = Path(__file__).resolve().parents[1]
# A few MLP iterations are enough to compare two ways of computing the same fitted network.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
CLASSIFIERS = ["logistic_regression", "linear_svm", "random_forest", "hist_gradient_boosting", "mlp", "dummy"]
REGRESSORS = ["linear_regression", "ridge", "random_forest", "hist_gradient_boosting", "mlp", "dummy"]
HOMES = ["owner", "rent", "parents", "other", "rare"]


def contract(task: str) -> Contract:
    target = (ColumnContract(type="float", nullable=False) if task == "regression" else
              ColumnContract(type="category", nullable=False, categories=["bad", "good"] if task == "classification" else ["a", "b", "c"]))
    return Contract(target="y", columns={
        "y": target,
        "income": ColumnContract(type="float", nullable=True),
        "age": ColumnContract(type="integer", nullable=True),
        "home": ColumnContract(type="category", nullable=True, categories=HOMES + ["never_in_training"]),
        "job": ColumnContract(type="category", nullable=True, categories=["fixed", "freelance"]),
        "opened": ColumnContract(type="datetime", nullable=True),
    })


def params(family: str, task: str, impute: str = "constant", scale: str = "standard") -> Params:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    raw["data"].update(task="regression", positive_class=None) if task == "regression" else raw["data"].update(task="classification")
    raw["featurize"]["numeric"]["scale"] = scale
    raw["featurize"]["categorical"].update(impute=impute, min_frequency=10)
    raw["train"]["random_forest"].update(n_estimators=20)
    raw["train"]["hist_gradient_boosting"].update(max_iter=30)
    raw["train"]["mlp"].update(max_iter=200)
    return Params.model_validate(raw)


def table(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = np.exp(rng.normal(7, 1.5, rows)) * rng.choice([-1, 1], rows, p=[0.05, 0.95])  # long tails, some negative
    frame = pd.DataFrame({
        "income": income,
        "age": rng.integers(18, 90, rows).astype(float),
        "home": pd.Series(rng.choice(HOMES, rows, p=[0.4, 0.3, 0.2, 0.09, 0.01]), dtype=object),
        "job": pd.Series(rng.choice(["fixed", "freelance"], rows), dtype=object),
        "opened": pd.Series(pd.Timestamp("2015-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 3650, rows), unit="D")
                            + pd.to_timedelta(rng.integers(0, 86400, rows), unit="s")),
    })
    for column in frame.columns:  # a tenth missing in every column (NaN, NaT: as read from a table)
        frame[column] = frame[column].where(rng.random(rows) >= 0.1)
    return frame


def target(frame: pd.DataFrame, task: str, seed: int) -> pd.Series:
    rng = np.random.default_rng(seed + 100)
    score = np.sign(frame["income"].fillna(0)) * np.log1p(frame["income"].abs().fillna(0)) / 3 + (frame["home"] == "owner") - 0.5 \
        + rng.normal(0, 0.7, len(frame))
    if task == "regression":
        return pd.Series(score * 1000, name="y")
    if task == "classification":
        return pd.Series(np.where(score > 1.5, "bad", "good"), name="y")
    return pd.Series(np.select([score < 1.2, score < 2.2], ["a", "b"], "c"), name="y")


def hard_rows(seed: int) -> pd.DataFrame:
    """Unseen rows: the usual, an unseen category, values far beyond any fence, every column missing."""
    rows = table(300, seed)
    extreme = pd.DataFrame({"income": [1e12, -1e12, 0.0, np.nan], "age": [1e6, -1e6, 0.0, np.nan],
                            "home": ["never_in_training", "rare", "owner", np.nan], "job": ["fixed", np.nan, "freelance", np.nan],
                            "opened": pd.Series(["1900-02-28", "2400-12-31", "1970-01-01", None])})
    extreme["opened"] = pd.to_datetime(extreme["opened"], utc=True)
    return pd.concat([rows, extreme], ignore_index=True)


def fitted(family: str, task: str, **featurize):
    train = table(700, seed=1)
    pipeline = family_pipeline(params(family, task, **featurize), contract(task), family)
    return pipeline.fit(train, target(train, task, 1))


def assert_same(pipeline, task: str, rows: pd.DataFrame) -> None:
    compiled = CompiledModel(compile_pipeline(pipeline, task).SerializeToString())
    for scored in (rows, rows.iloc[[len(rows) - 3]]):  # the table, and one row alone (an extreme one)
        expected = np.asarray(predict(task, pipeline, scored), dtype=np.float64).reshape(len(scored), -1)
        actual = compiled.predict(compiled.feeds_from_frame(scored))
        actual = actual[:, 1:] if task == "classification" else actual
        assert actual.shape == expected.shape
        scale = np.maximum(1.0, np.abs(expected)) if task == "regression" else 1.0
        assert np.max(np.abs(actual - expected) / scale) <= BOUND


@pytest.mark.parametrize("family", CLASSIFIERS)
def test_a_binary_classifier_compiles_to_scikit_learns_probabilities(family):
    assert_same(fitted(family, "classification"), "classification", hard_rows(7))


@pytest.mark.parametrize("family", ["logistic_regression", "random_forest", "hist_gradient_boosting", "mlp", "dummy"])
def test_a_multiclass_classifier_compiles_to_scikit_learns_probabilities(family):
    assert_same(fitted(family, "multiclass"), "multiclass", hard_rows(8))


@pytest.mark.parametrize("family", REGRESSORS)
def test_a_regressor_compiles_to_scikit_learns_values(family):
    assert_same(fitted(family, "regression"), "regression", hard_rows(9))


@pytest.mark.parametrize("impute,scale", [("most_frequent", "robust"), ("constant", "minmax"), ("most_frequent", "none")])
def test_every_imputation_and_scaling_compiles(impute, scale):
    assert_same(fitted("logistic_regression", "classification", impute=impute, scale=scale), "classification", hard_rows(10))


def test_the_preprocessing_compiles_to_scikit_learns_features():
    """The features themselves, not only what a model makes of them: the datetime parts, the
    clipping, the one-hot columns with the infrequent bucket, the missing indicators."""
    from tabular_mlops.compiled.graph import Graph
    from tabular_mlops.compiled.preprocessing import preprocessing_nodes

    pipeline = fitted("logistic_regression", "classification")
    graph = Graph()
    features, _ = preprocessing_nodes(graph, pipeline.named_steps["preprocess"])
    names = pipeline.named_steps["preprocess"].get_feature_names_out()
    assert any("infrequent" in name for name in names) and any(name.startswith("datetime__") for name in names)
    compiled = CompiledModel(graph.model(features, len(names), {"tabular_mlops.inputs": __import__("json").dumps(_)}).SerializeToString())
    rows = hard_rows(11)
    expected = pipeline.named_steps["preprocess"].transform(rows).to_numpy(dtype=np.float64)
    np.testing.assert_allclose(compiled.predict(compiled.feeds_from_frame(rows)), expected, rtol=0, atol=1e-12)


def test_day_numbers_give_the_calendar_parts_pandas_gives():
    """Civil dates from day numbers, against pandas, over four centuries and both sides of 1970."""
    from tabular_mlops.features.transformers import DatetimeParts

    days = pd.Series(pd.date_range("1800-01-01", "2200-12-31", freq="37D", tz="UTC"))
    frame = pd.DataFrame({"opened": days})
    parts = DatetimeParts().fit(frame)
    from tabular_mlops.compiled.graph import Graph
    from tabular_mlops.compiled.preprocessing import _date_parts

    graph = Graph()
    output = _date_parts(graph, parts, graph.input("datetime", 11, 1))
    compiled = CompiledModel(graph.model(output, 4, {"tabular_mlops.inputs": '{"datetime": ["opened"]}'}).SerializeToString())
    np.testing.assert_array_equal(compiled.predict(compiled.feeds_from_frame(frame)), parts.transform(frame))


def test_records_feed_the_graph_as_the_table_does():
    pipeline = fitted("mlp", "classification")
    compiled = CompiledModel(compile_pipeline(pipeline, "classification").SerializeToString())
    rows = hard_rows(12)
    records = [{key: (None if pd.isna(value) else value.to_pydatetime() if isinstance(value, pd.Timestamp) else value)
                for key, value in row.items()} for row in rows.to_dict(orient="records")]
    np.testing.assert_array_equal(compiled.predict(compiled.feeds_from_records(records)), compiled.predict(compiled.feeds_from_frame(rows)))


def test_isotonic_calibration_is_refused_by_name():
    raw = params("linear_svm", "classification")
    pipeline = family_pipeline(raw.model_copy(update={"train": raw.train.model_copy(update={"linear_svm": raw.train.linear_svm.model_copy(
        update={"calibration": "isotonic"})})}), contract("classification"), "linear_svm")
    train = table(700, 1)
    pipeline.fit(train, target(train, "classification", 1))
    with pytest.raises(NotCompilable, match="isotonic"):
        compile_pipeline(pipeline, "classification")


def test_verification_refuses_a_graph_that_differs():
    """verify compares with scikit-learn: a compiled model of another fit is refused, naming the difference."""
    pipeline, other = fitted("logistic_regression", "classification"), fitted("mlp", "classification")
    compiled = CompiledModel(compile_pipeline(other, "classification").SerializeToString())
    with pytest.raises(NotCompilable, match="differ from scikit-learn's by up to"):
        verify(compiled, pipeline, "classification", hard_rows(13), 0.5)
    checked = verify(CompiledModel(compile_pipeline(pipeline, "classification").SerializeToString()), pipeline, "classification", hard_rows(13), 0.5)
    assert checked["max_abs_difference"] <= BOUND and checked["decisions_differing"] == 0


@pytest.mark.parametrize("family", ["random_forest", "hist_gradient_boosting"])
def test_trees_of_a_single_leaf_compile(family):
    """A constant target grows trees without a split: TreeEnsemble still needs a node per tree."""
    train = table(200, seed=2)
    pipeline = family_pipeline(params(family, "regression"), contract("regression"), family)
    pipeline.fit(train, pd.Series(np.full(len(train), 3.5), name="y"))
    assert_same(pipeline, "regression", hard_rows(14))


def test_the_signed_log_matches_scikit_learns_to_the_bit():
    """A tree's threshold may equal a training value: one ulp would send the row down the other branch."""
    from tabular_mlops.compiled.graph import Graph
    from tabular_mlops.compiled.preprocessing import _log1p
    from tabular_mlops.features.transformers import signed_log

    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(0, 1, 20000) * 10.0 ** rng.integers(-300, 300, 20000), rng.integers(-10**6, 10**6, 20000),
                             [0.0, -0.0, 1.0, -1.0, 0.5, 2.0 ** -1074, 1.7976931348623157e308, -1.7976931348623157e308,
                              np.sqrt(0.5) - 1, np.sqrt(2) - 1, np.inf, -np.inf, np.nan]]).reshape(-1, 1)
    graph = Graph()
    column = graph.input("numeric", 11, 1)
    output = graph.node("Mul", graph.node("Sign", column), _log1p(graph, graph.node("Abs", column)))
    compiled = CompiledModel(graph.model(output, 1, {"tabular_mlops.inputs": '{"numeric": ["x"]}'}).SerializeToString())
    np.testing.assert_array_equal(compiled.predict({"numeric": values}), signed_log(values))


@pytest.fixture(scope="module")
def credit() -> tuple[pd.DataFrame, pd.Series, list[str]]:
    """The bundled table as validate types it, with params.yaml's model inputs and target."""
    from tabular_mlops.data.contract import read_contract
    from tabular_mlops.data.tables import read_table
    from tabular_mlops.data.validation import validate_table

    settings = Params.model_validate(yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8")))
    contract_ = read_contract(ROOT / settings.data.contract)
    table_ = validate_table(read_table(ROOT / settings.data.path), contract_, settings.data.path)
    inputs = list(contract_.features(settings.data.drop_columns))
    target_ = (table_[contract_.target] == settings.data.positive_class).astype(int)
    return table_[inputs], target_, inputs


@pytest.mark.parametrize("family", CLASSIFIERS)
def test_every_family_trained_on_the_bundled_table_compiles_within_the_bound(family, credit):
    """params.yaml's own settings on real data: money columns with repeated values, where a
    gradient-boosting threshold can be a training value itself (the signed log must match to the bit)."""
    rows, labels, _ = credit
    settings = Params.model_validate(yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8")))
    from tabular_mlops.data.contract import read_contract

    pipeline = family_pipeline(settings, read_contract(ROOT / settings.data.contract), family)
    pipeline.fit(rows.iloc[:3000], labels.iloc[:3000])
    checked = verify(CompiledModel(compile_pipeline(pipeline, "classification").SerializeToString()), pipeline,
                     "classification", rows.iloc[3000:], 0.3)
    assert checked["rows"] == len(rows) - 3000 and checked["max_abs_difference"] <= BOUND

"""train: the saved model is one Pipeline that maps raw input columns to a probability."""
import hashlib
import json
import platform
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from stages.featurize import build_preprocessor
from stages.params import FeaturizeParams, load_params
from stages.tables import write_parquet
from stages.train import describe_model, fit_model

REPO_PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"
SPEC = FeaturizeParams.model_validate(
    {
        "numeric": {"impute": "median", "add_indicator": True, "transform": "signed_log", "scale": "standard",
                    "outliers": {"method": "iqr", "iqr_factor": 3.0, "quantiles": [0.01, 0.99]}},
        "categorical": {"impute": "most_frequent", "min_frequency": None},
    }
)


@pytest.fixture
def raw():
    rng = np.random.default_rng(0)
    n = 40
    target = pd.Series(np.tile([0, 1], n // 2), name="Status")
    inputs = pd.DataFrame(
        {
            "Income": np.where(rng.random(n) < 0.1, np.nan, 100 + 200 * target + rng.normal(0, 50, n)),
            "Age": rng.integers(20, 60, n).astype(float),
            "Home": rng.choice(["rent", "owner", "parents"], n),
        }
    )
    return inputs, target


@pytest.fixture
def model(raw):
    inputs, target = raw
    preprocessor = build_preprocessor(["Income", "Age"], ["Home"], SPEC).fit(inputs)
    return fit_model(preprocessor, preprocessor.transform(inputs), target, LogisticRegression(random_state=0))


def test_model_is_the_fitted_preprocessor_followed_by_the_estimator(model):
    assert isinstance(model, Pipeline)
    assert list(model.named_steps) == ["preprocess", "model"]
    assert hasattr(model.named_steps["model"], "coef_")


def test_model_scores_raw_rows_with_missing_values_and_an_unseen_category(model):
    serving = pd.DataFrame({"Income": [np.nan, 250.0, 1e9], "Age": [np.nan, 30.0, 45.0], "Home": ["castle", None, "rent"]})
    probability = model.predict_proba(serving)
    assert probability.shape == (3, 2)
    assert np.all((probability >= 0) & (probability <= 1))
    assert np.allclose(probability.sum(axis=1), 1.0)


def test_model_learnt_the_signal_in_the_raw_columns(model, raw):
    inputs, target = raw
    probability = model.predict_proba(inputs)[:, 1]
    assert probability[target == 1].mean() > probability[target == 0].mean()


def test_fit_model_does_not_refit_the_preprocessor(raw):
    inputs, target = raw
    preprocessor = build_preprocessor(["Income", "Age"], ["Home"], SPEC).fit(inputs.head(10))
    median = preprocessor.named_transformers_["numeric"].named_steps["impute"].statistics_.copy()
    model = fit_model(preprocessor, preprocessor.transform(inputs), target, LogisticRegression())
    assert model.named_steps["preprocess"] is preprocessor
    assert np.array_equal(preprocessor.named_transformers_["numeric"].named_steps["impute"].statistics_, median)


def test_describe_model_records_what_produced_the_model(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_parquet("data/prepared/train.parquet", pd.DataFrame({"Age": [30.0, 41.0], "Status": ["bad", "good"]}))
    params = load_params(REPO_PARAMS)
    described = describe_model(params, {"Age": "integer", "Home": "category"}, ["numeric__Age", "categorical__Home_rent"])
    expected_sha = hashlib.sha256(Path("data/prepared/train.parquet").read_bytes()).hexdigest()
    assert described["training_data_sha256"] == expected_sha
    assert described["model_family"] == params.train.model
    assert described["target"] == params.data.target and described["positive_class"] == params.data.positive_class
    assert described["output"] == f"probability that {params.data.target} == {params.data.positive_class!r}"
    assert described["input_columns"] == ["Age", "Home"]
    assert described["input_types"] == {"Age": "integer", "Home": "category"}
    assert described["features"] == ["numeric__Age", "categorical__Home_rent"]
    assert described["params"]["seed"] == params.seed and described["params"]["train"]["model"] == params.train.model
    assert {"scikit-learn", "pandas", "numpy"} <= set(described["libraries"])
    assert described["python"] == ".".join(platform.python_version_tuple()[:2])
    assert json.loads(json.dumps(described)) == described

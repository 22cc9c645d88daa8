"""train: the family to fit, its tuning, and the saved model: one Pipeline from raw columns to a probability."""
import json
import platform
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from tabular_mlops.config.params import FeaturizeParams, Params, load_params
from tabular_mlops.errors import StageError
from tabular_mlops.features.preprocessing import build_preprocessor
from tabular_mlops.models.training import chosen_family, describe_model, fit_model, tune

REPO_PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"
SPEC = FeaturizeParams.model_validate(
    {
        "numeric": {"impute": "median", "add_indicator": True, "transform": "signed_log", "scale": "standard",
                    "outliers": {"method": "iqr", "iqr_factor": 3.0, "quantiles": [0.01, 0.99]}},
        "categorical": {"impute": "most_frequent", "min_frequency": None},
    }
)
LEADERBOARD = {"metric": "roc_auc", "best": "random_forest", "failed": [],
               "ranking": [{"rank": 1, "family": "random_forest", "cv_mean": 0.8, "cv_std": 0.01, "test": 0.79}]}


def params_with(**train) -> Params:
    """The repo's params with train.* keys replaced (search: merged into the repo's search)."""
    raw = yaml.safe_load(REPO_PARAMS.read_text(encoding="utf-8"))
    raw["train"]["search"] |= train.pop("search", {})
    raw["train"] |= train
    return Params.model_validate(raw)


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


# --- which family ---

def test_auto_trains_the_leaderboards_best_family():
    assert chosen_family(params_with(model="auto"), LEADERBOARD) == "random_forest"


def test_auto_refuses_a_best_family_that_is_not_the_first_ranked_one():
    # e.g. a hand-edited or stale leaderboard.json naming a family whose CV failed
    stale = {**LEADERBOARD, "best": "mlp", "failed": [{"family": "mlp", "reason": "fold 2 gave NaN roc_auc (5-fold CV)"}]}
    with pytest.raises(StageError, match=r"metrics/leaderboard\.json: best must be the first ranked family .*got best 'mlp', ranked \['random_forest'\]"):
        chosen_family(params_with(model="auto"), stale)


def test_a_named_family_is_trained_whatever_the_leaderboard_says():
    assert chosen_family(params_with(model="logistic_regression"), LEADERBOARD) == "logistic_regression"


# --- tuning ---

def test_without_a_search_the_familys_own_params_are_used_and_the_table_says_so(raw):
    params = params_with(model="logistic_regression")
    hyperparameters, table = tune(params, "logistic_regression", build_preprocessor(["Income", "Age"], ["Home"], SPEC), *raw)
    assert hyperparameters == params.train.logistic_regression
    assert table == {"method": "none", "family": "logistic_regression"}


def test_with_a_search_the_best_candidate_is_returned_and_the_table_lists_every_candidate(raw):
    params = params_with(model="logistic_regression",
                         search={"method": "grid", "cv_folds": 2, "space": {"logistic_regression": {"C": [1e-6, 1.0]}}})
    hyperparameters, table = tune(params, "logistic_regression", build_preprocessor(["Income", "Age"], ["Home"], SPEC), *raw)
    assert table["method"] == "grid" and table["family"] == "logistic_regression"
    assert table["metric"] == "roc_auc" and table["cv_folds"] == 2
    assert sorted(row["params"]["C"] for row in table["candidates"]) == [1e-6, 1.0]
    assert table["best_params"] == table["candidates"][0]["params"]
    # Only the searched hyperparameter changes; the others keep their params.yaml values.
    assert hyperparameters == params.train.logistic_regression.model_copy(update=table["best_params"])
    assert json.loads(json.dumps(table)) == table


# --- the saved model ---

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


def test_describe_model_records_what_produced_the_model():
    params = load_params(REPO_PARAMS)
    estimator = LogisticRegression(C=0.5)
    tuned = params.train.mlp.model_copy(update={"alpha": 0.5})
    described = describe_model(params, "mlp", tuned, {"Age": "integer", "Home": "category"}, ["numeric__Age", "categorical__Home_rent"], estimator, "ab" * 32)
    assert described["training_data_sha256"] == "ab" * 32
    assert described["model_family"] == "mlp"
    assert described["chosen_by"] == ("leaderboard (train.model: auto)" if params.train.model == "auto" else "train.model")
    assert described["hyperparameters"] == params.train.mlp.model_dump(mode="json") | {"alpha": 0.5}
    assert described["estimator"] == "LogisticRegression(C=0.5)"
    assert described["task"] == "classification"
    assert described["target"] == params.data.target and described["positive_class"] == params.data.positive_class
    assert described["output"] == f"probability that {params.data.target} == {params.data.positive_class!r}"
    assert described["input_columns"] == ["Age", "Home"]
    assert described["input_types"] == {"Age": "integer", "Home": "category"}
    assert described["features"] == ["numeric__Age", "categorical__Home_rent"]
    assert described["params"]["seed"] == params.seed and described["params"]["train"]["model"] == params.train.model
    assert set(described["params"]) == {"seed", "data", "prepare", "featurize", "train"}
    assert {"scikit-learn", "pandas", "numpy"} <= set(described["libraries"])
    assert described["python"] == ".".join(platform.python_version_tuple()[:2])
    assert json.loads(json.dumps(described)) == described


def test_describe_model_of_a_named_regression_family():
    raw = yaml.safe_load(REPO_PARAMS.read_text(encoding="utf-8"))
    raw["data"].update(task="regression", positive_class=None, target="Price")
    raw["train"]["model"] = "ridge"
    raw["leaderboard"]["families"] = ["ridge"]
    raw["gates"] = []
    raw["data"]["segment_column"] = None
    params = Params.model_validate(raw)
    described = describe_model(params, "ridge", params.train.ridge, {"Age": "integer"}, ["numeric__Age"], LogisticRegression(), "cd" * 32)
    assert described["output"] == "predicted Price"
    assert described["chosen_by"] == "train.model"
    assert described["task"] == "regression" and described["positive_class"] is None
    assert described["hyperparameters"] == {"alpha": params.train.ridge.alpha}

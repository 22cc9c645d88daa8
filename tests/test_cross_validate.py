"""cross_validate: the unfitted pipeline that a family is cross-validated as, for the task in params."""
from pathlib import Path

import pytest
import yaml
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline

from tabular_mlops.data.contract import ColumnContract, Contract
from tabular_mlops.models.pipeline import family_pipeline
from tabular_mlops.config.params import Params, load_params

REPO_PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"
CONTRACT = Contract(
    target="Status",
    columns={
        "Status": ColumnContract(type="category", nullable=True, categories=["bad", "good"]),
        "Age": ColumnContract(type="integer", nullable=False),
        "Home": ColumnContract(type="category", nullable=True, categories=["rent"]),
        "Price": ColumnContract(type="float", nullable=True),
    },
)


@pytest.fixture(scope="module")
def classification() -> Params:
    return load_params(REPO_PARAMS)


@pytest.fixture(scope="module")
def regression() -> Params:
    raw = yaml.safe_load(REPO_PARAMS.read_text(encoding="utf-8"))
    raw["data"].update(task="regression", positive_class=None, target="Price")
    raw["train"]["model"] = "ridge"
    raw["leaderboard"]["families"] = ["ridge", "random_forest"]
    raw["gates"] = []
    return Params.model_validate(raw)


def test_family_pipeline_is_unfitted_preprocessing_then_the_tasks_estimator_with_its_params_and_seed(classification):
    pipeline = family_pipeline(classification, CONTRACT, "random_forest")
    assert isinstance(pipeline, Pipeline) and list(pipeline.named_steps) == ["preprocess", "model"]
    assert isinstance(pipeline.named_steps["preprocess"], ColumnTransformer)
    model = pipeline.named_steps["model"]
    assert type(model) is RandomForestClassifier
    assert model.n_estimators == classification.train.random_forest.n_estimators and model.random_state == classification.seed
    assert not hasattr(pipeline.named_steps["preprocess"], "transformers_") and not hasattr(model, "estimators_")


def test_family_pipeline_for_regression_builds_regressors_and_leaves_the_target_out(regression):
    assert type(family_pipeline(regression, CONTRACT.model_copy(update={"target": "Price"}), "random_forest").named_steps["model"]) is RandomForestRegressor
    pipeline = family_pipeline(regression, CONTRACT.model_copy(update={"target": "Price"}), "ridge")
    assert type(pipeline.named_steps["model"]) is Ridge
    roles = {name: columns for name, _, columns in pipeline.named_steps["preprocess"].transformers}
    assert roles == {"numeric": ["Age"], "categorical": ["Status", "Home"]}

"""build_estimator: the family that train.model names, with its params and the seed."""
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from stages.models import build_estimator
from stages.params import TrainParams

SECTIONS = {
    "logistic_regression": {"C": 0.25, "max_iter": 77, "class_weight": "balanced"},
    "hist_gradient_boosting": {"learning_rate": 0.2, "max_iter": 11, "max_leaf_nodes": 5, "min_samples_leaf": 9, "l2_regularization": 0.5},
    "random_forest": {"n_estimators": 13, "max_depth": 4, "min_samples_leaf": 6, "n_jobs": 3},
}


def train_params(model: str, **changes) -> TrainParams:
    sections = {name: values | changes.get(name, {}) for name, values in SECTIONS.items()}
    return TrainParams.model_validate({"model": model, **sections})


@pytest.mark.parametrize(
    "model, family",
    [("logistic_regression", LogisticRegression), ("hist_gradient_boosting", HistGradientBoostingClassifier), ("random_forest", RandomForestClassifier)],
)
def test_each_family_is_built_with_its_own_params_and_the_seed(model, family):
    estimator = build_estimator(train_params(model), seed=123)
    assert type(estimator) is family
    settings = estimator.get_params()
    assert settings["random_state"] == 123
    assert {key: settings[key] for key in SECTIONS[model]} == SECTIONS[model]


def test_class_weight_none_means_no_weighting():
    estimator = build_estimator(train_params("logistic_regression", logistic_regression={"class_weight": "none"}), seed=0)
    assert estimator.class_weight is None


def test_random_forest_without_max_depth_grows_full_trees():
    estimator = build_estimator(train_params("random_forest", random_forest={"max_depth": None}), seed=0)
    assert estimator.max_depth is None


def test_gradient_boosting_runs_every_round_without_an_internal_validation_split():
    assert build_estimator(train_params("hist_gradient_boosting"), seed=0).early_stopping is False


def test_estimator_is_returned_unfitted():
    estimator = build_estimator(train_params("logistic_regression"), seed=0)
    assert not hasattr(estimator, "coef_")

"""The `train` section: one params section per family, and a search space checked against them."""
from pathlib import Path
from typing import get_args

import pytest
import yaml
from pydantic import ValidationError

from tabular_mlops.errors import StageError
from tabular_mlops.config.params import load_params
from tabular_mlops.config.train_params import (
    CLASSIFIERS,
    FAMILIES_BY_TASK,
    FAMILY_PARAMS,
    REGRESSORS,
    FamilyName,
    ModelName,
    TrainParams,
)
from tabular_mlops.families.ridge import RidgeParams

REPO_PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"


def repo_train() -> dict:
    return yaml.safe_load(REPO_PARAMS.read_text(encoding="utf-8"))["train"]


@pytest.fixture
def params_with_space(tmp_path):
    """The repo's params.yaml with train.search.space replaced; returns the path."""

    def write(space: dict) -> Path:
        raw = yaml.safe_load(REPO_PARAMS.read_text(encoding="utf-8"))
        raw["train"]["search"]["space"] = space
        path = tmp_path / "params.yaml"
        path.write_text(yaml.safe_dump(raw), encoding="utf-8")
        return path

    return write


def test_every_model_name_is_auto_or_a_family_of_some_task_and_every_family_has_params():
    assert set(get_args(ModelName)) == {"auto"} | set(CLASSIFIERS) | set(REGRESSORS)
    assert set(get_args(FamilyName)) == set(CLASSIFIERS) | set(REGRESSORS) == set(FAMILY_PARAMS)
    assert FAMILIES_BY_TASK == {"classification": CLASSIFIERS, "regression": REGRESSORS}


def test_repo_train_section_has_a_section_for_every_family():
    train = TrainParams.model_validate(repo_train())
    for family, section in FAMILY_PARAMS.items():
        assert isinstance(train.family_params(family), section)


def test_family_params_are_strict_and_frozen():
    with pytest.raises(ValidationError, match="alpha"):
        RidgeParams.model_validate({"alpha": "1.0"})
    with pytest.raises(ValidationError, match="frozen"):
        RidgeParams(alpha=1.0).alpha = 2.0


def test_repo_search_space_is_valid_and_kept_as_given():
    space = TrainParams.model_validate(repo_train()).search.space
    assert space["ridge"] == {"alpha": [0.1, 1.0, 10.0, 100.0]}
    assert space["mlp"]["hidden_layer_sizes"] == [[16], [64, 32]]


def test_search_space_with_an_unknown_hyperparameter_names_the_dotted_key_and_the_allowed_ones(params_with_space):
    path = params_with_space({"ridge": {"alpah": [1.0]}})
    with pytest.raises(StageError) as error:
        load_params(path)
    assert str(error.value).endswith("train.search.space.ridge.alpah: 'alpah' is not a hyperparameter of ridge; allowed: alpha")


def test_search_space_for_a_family_without_hyperparameters_says_none_are_allowed(params_with_space):
    with pytest.raises(StageError, match=r"train\.search\.space\.dummy\.strategy: .*; allowed: none"):
        load_params(params_with_space({"dummy": {"strategy": ["mean"]}}))


def test_search_space_with_an_empty_candidate_list_is_refused(params_with_space):
    with pytest.raises(StageError, match=r"train\.search\.space\.logistic_regression\.C: give at least one candidate value"):
        load_params(params_with_space({"logistic_regression": {"C": []}}))


@pytest.mark.parametrize(
    "space, expected",
    [
        ({"logistic_regression": {"C": [1.0, -1]}}, r"train\.search\.space\.logistic_regression\.C: candidate -1 is invalid \(.*greater than 0"),
        ({"random_forest": {"max_features": [0.5, 2.0]}}, r"train\.search\.space\.random_forest\.max_features: candidate 2\.0 is invalid \(.*less than or equal to 1"),
        ({"linear_svm": {"calibration": ["platt"]}}, r"train\.search\.space\.linear_svm\.calibration: candidate 'platt' is invalid \(.*'sigmoid' or 'isotonic'"),
        ({"mlp": {"hidden_layer_sizes": [16, 32]}}, r"train\.search\.space\.mlp\.hidden_layer_sizes: candidate 16 is invalid \(.*list"),
    ],
)
def test_search_space_with_an_invalid_candidate_names_the_dotted_key_the_candidate_and_the_rule(params_with_space, space, expected):
    with pytest.raises(StageError, match=expected):
        load_params(params_with_space(space))


def test_search_space_for_an_unknown_family_is_refused(params_with_space):
    with pytest.raises(StageError) as error:
        load_params(params_with_space({"xgboost": {"eta": [0.1]}}))
    message = str(error.value)
    assert "train.search.space.xgboost" in message and message.endswith("; got 'xgboost'")
    assert all(f"'{family}'" in message for family in FAMILY_PARAMS)


@pytest.mark.parametrize("key, value", [("n_iter", 0), ("cv_folds", 1), ("n_jobs", 0), ("method", "bayes")])
def test_search_settings_out_of_range_are_refused_naming_the_key(tmp_path, key, value):
    raw = yaml.safe_load(REPO_PARAMS.read_text(encoding="utf-8"))
    raw["train"]["search"][key] = value
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(StageError, match=rf"key 'train\.search\.{key}'.*; got {value!r}"):
        load_params(path)

"""params.yaml is parsed once into typed objects; bad keys are refused with a message that helps."""
from pathlib import Path
from typing import get_args

import pytest
import yaml

from stages.errors import StageError
from stages.models import FAMILIES
from stages.params import ModelName, Params, load_params

REPO_PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"


@pytest.fixture
def write_params(tmp_path):
    """Write the repo's params.yaml, changed by `edit(raw)`, to a temporary file; return its path."""

    def write(edit) -> Path:
        raw = yaml.safe_load(REPO_PARAMS.read_text(encoding="utf-8"))
        edit(raw)
        path = tmp_path / "params.yaml"
        path.write_text(yaml.safe_dump(raw), encoding="utf-8")
        return path

    return write


def test_repo_params_load_into_typed_sections():
    params = load_params(REPO_PARAMS)
    assert isinstance(params, Params)
    assert params.train.model in get_args(ModelName)
    assert 0 < params.prepare.test_size < 1
    assert params.data.target not in params.data.drop_columns


def test_unknown_key_names_the_dotted_key_the_allowed_keys_and_the_close_match(write_params):
    path = write_params(lambda raw: raw["train"]["logistic_regression"].update(CC=2.0))
    with pytest.raises(StageError) as error:
        load_params(path)
    message = str(error.value)
    assert "unknown key 'train.logistic_regression.CC'" in message
    assert "did you mean 'C'?" in message
    assert "C, max_iter, class_weight" in message


def test_misspelt_section_is_reported_as_unknown_not_as_missing(write_params):
    path = write_params(lambda raw: raw.update(evalute=raw.pop("evaluate")))
    with pytest.raises(StageError, match=r"unknown key 'evalute' \(did you mean 'evaluate'\?\); allowed keys: seed, data"):
        load_params(path)


def test_missing_key_is_named(write_params):
    path = write_params(lambda raw: raw["evaluate"].pop("cv_folds"))
    with pytest.raises(StageError, match=r"missing key 'evaluate\.cv_folds'"):
        load_params(path)


@pytest.mark.parametrize(
    "section, key, value",
    [(None, "seed", "5"), ("prepare", "test_size", "0.2"), ("prepare", "drop_duplicates", 1)],
)
def test_wrong_type_is_refused_naming_key_and_given_value(write_params, section, key, value):
    path = write_params(lambda raw: (raw[section] if section else raw).update({key: value}))
    dotted = f"{section}.{key}" if section else key
    with pytest.raises(StageError, match=rf"key '{dotted}' must be .*; got {value!r}"):
        load_params(path)


def test_unknown_model_name_lists_the_allowed_names_and_the_given_one(write_params):
    path = write_params(lambda raw: raw["train"].update(model="xgboost"))
    with pytest.raises(StageError) as error:
        load_params(path)
    message = str(error.value)
    assert "key 'train.model'" in message and "got 'xgboost'" in message
    assert all(name in message for name in get_args(ModelName))


@pytest.mark.parametrize("test_size", [-0.1, 0, 1, 1.5])
def test_test_size_outside_zero_to_one_is_refused(write_params, test_size):
    path = write_params(lambda raw: raw["prepare"].update(test_size=test_size))
    with pytest.raises(StageError, match=rf"key 'prepare\.test_size' must be .*; got {test_size}"):
        load_params(path)


@pytest.mark.parametrize("quantiles", [[0.99, 0.01], [0.5, 0.5], [0.1, 1.5]])
def test_quantiles_out_of_order_or_range_are_refused(write_params, quantiles):
    path = write_params(lambda raw: raw["featurize"]["numeric"]["outliers"].update(quantiles=quantiles))
    with pytest.raises(StageError, match=r"quantiles must be \[low, high\] with 0 <= low < high <= 1"):
        load_params(path)


def test_quantiles_of_wrong_length_give_a_readable_message(write_params):
    path = write_params(lambda raw: raw["featurize"]["numeric"]["outliers"].update(quantiles=[0.1]))
    with pytest.raises(StageError, match=r"featurize\.numeric\.outliers\.quantiles.*2 items") as error:
        load_params(path)
    # The message is built as "must be <pydantic message>": pydantic's message must not be pasted in raw.
    assert "must be List should" not in str(error.value)


def test_target_in_drop_columns_is_refused(write_params):
    path = write_params(lambda raw: raw["data"].update(drop_columns=[raw["data"]["target"]]))
    with pytest.raises(StageError, match=r"data\.drop_columns must not contain the target"):
        load_params(path)


def test_yaml_syntax_error_is_refused(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("seed: 42\ndata: [unclosed\n", encoding="utf-8")
    with pytest.raises(StageError, match=r"params\.yaml: not valid YAML"):
        load_params(path)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(StageError, match=r"nope\.yaml: file not found"):
        load_params(tmp_path / "nope.yaml")


@pytest.mark.parametrize("text, kind", [("- seed\n- data\n", "list"), ("", "NoneType"), ("42\n", "int")])
def test_top_level_that_is_not_a_mapping_is_refused(tmp_path, text, kind):
    path = tmp_path / "params.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(StageError, match=rf"expected a mapping of sections; the file holds {kind}"):
        load_params(path)


def test_positive_class_given_as_int_becomes_text(write_params):
    path = write_params(lambda raw: raw["data"].update(positive_class=1))
    assert load_params(path).data.positive_class == "1"


def test_every_model_name_has_a_family_and_every_family_a_name():
    assert set(FAMILIES) == set(get_args(ModelName))

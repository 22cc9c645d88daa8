"""params.yaml is parsed once into typed objects; bad keys are refused with a message that helps."""
from pathlib import Path
from typing import get_args

import pytest
import yaml

from tabular_mlops.config.params import Params, load_params
from tabular_mlops.config.train_params import CLASSIFIERS, REGRESSORS, ModelName
from tabular_mlops.errors import StageError
from tabular_mlops.families.registry import BY_NAME
from tabular_mlops.metrics import BINARY_GATES, CV_METRICS_BY_TASK, METRICS_BY_TASK, gate_metric_names

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


def as_regression(raw: dict) -> None:
    """The repo's params turned into a valid regression setup."""
    raw["data"].update(task="regression", positive_class=None)
    raw["train"]["model"] = "ridge"
    raw["train"]["search"]["method"] = "none"
    raw["leaderboard"]["families"] = ["linear_regression", "ridge", "dummy"]
    raw["gates"]["regression"] = [{"metric": "test.rmse", "max": 10.0}, {"metric": "over_baseline.r2", "min": 0.0}]


def then(*edits):
    def edit(raw):
        for change in edits:
            change(raw)
    return edit


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
    [(None, "seed", "5"), ("prepare", "test_size", "0.2"), ("prepare", "drop_duplicates", 1), ("prepare", "split_seed", "7")],
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


def test_split_seed_is_its_own_key_and_a_negative_one_is_refused(write_params):
    params = load_params(write_params(lambda raw: raw.update(seed=7)))
    assert (params.seed, params.prepare.split_seed) == (7, 42)
    with pytest.raises(StageError, match=r"key 'prepare\.split_seed' must be greater than or equal to 0; got -1"):
        load_params(write_params(lambda raw: raw["prepare"].update(split_seed=-1)))


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


# --- the task and the checks across sections ---

def test_a_regression_setup_loads(write_params):
    params = load_params(write_params(as_regression))
    assert params.data.task == "regression" and params.data.positive_class is None
    assert params.train.model == "ridge"


def test_unknown_task_is_refused_naming_the_allowed_ones(write_params):
    path = write_params(lambda raw: raw["data"].update(task="ranking"))
    with pytest.raises(StageError, match=r"key 'data\.task' must be 'classification' or 'regression'; got 'ranking'"):
        load_params(path)


def test_classification_without_positive_class_predicts_every_class(write_params):
    # data.task keeps its two values; the metrics follow the multiclass definitions.
    params = load_params(write_params(lambda raw: raw["data"].update(positive_class=None)))
    assert params.data.task == "classification" and params.data.problem == "multiclass"


def test_multiclass_gate_on_a_multiclass_metric_is_accepted(write_params):
    gates = [{"metric": "test.roc_auc", "min": 0.9}, {"metric": "cv.f1_macro_mean", "min": 0.5}]
    params = load_params(write_params(lambda raw: (raw["data"].update(positive_class=None), raw.update(gates=gates))))
    assert [gate.metric for gate in params.task_gates] == ["test.roc_auc", "cv.f1_macro_mean"]


@pytest.mark.parametrize("metric", ["test.average_precision", "test.f1", "over_baseline.average_precision"])
def test_binary_only_gate_metric_is_refused_for_multiclass_listing_the_allowed_ones(write_params, metric):
    path = write_params(lambda raw: (raw["data"].update(positive_class=None), raw.update(gates=[{"metric": metric, "min": 0.5}])))
    with pytest.raises(StageError) as error:
        load_params(path)
    message = str(error.value)
    assert message.endswith(f"gates.classification[0].metric must be one of {', '.join(gate_metric_names('multiclass'))},"
                            f" fairness.<protected column>.<gap> or monotonic.<column>.<figure>; got '{metric}'")
    assert "test.f1_macro" in message and "cv.roc_auc_mean" in message


def test_regression_with_a_positive_class_is_refused(write_params):
    path = write_params(then(as_regression, lambda raw: raw["data"].update(positive_class="bad")))
    with pytest.raises(StageError, match=r"data\.positive_class must be null when data\.task is 'regression'; got 'bad'"):
        load_params(path)


@pytest.mark.parametrize(
    "edit, model, task, allowed",
    [
        (lambda raw: raw["train"].update(model="ridge"), "ridge", "classification", CLASSIFIERS),
        (then(as_regression, lambda raw: raw["train"].update(model="logistic_regression")), "logistic_regression", "regression", REGRESSORS),
        (then(as_regression, lambda raw: raw["train"].update(model="linear_svm")), "linear_svm", "regression", REGRESSORS),
    ],
)
def test_model_that_cannot_do_the_task_is_refused_naming_the_key_and_the_allowed_families(write_params, edit, model, task, allowed):
    with pytest.raises(StageError) as error:
        load_params(write_params(edit))
    message = str(error.value)
    assert f"train.model must be 'auto' or a {task} family: {', '.join(allowed)}; got '{model}'" in message


def test_auto_with_a_search_is_refused(write_params):
    path = write_params(lambda raw: raw["train"].update(model="auto", search=raw["train"]["search"] | {"method": "grid"}))
    with pytest.raises(StageError, match=r"train\.search\.method must be 'none' when train\.model is 'auto'"):
        load_params(path)


def test_a_named_family_with_a_search_is_accepted(write_params):
    path = write_params(lambda raw: raw["train"].update(model="random_forest", search=raw["train"]["search"] | {"method": "random"}))
    assert load_params(path).train.search.method == "random"


def test_leaderboard_may_list_families_of_both_tasks_and_the_task_keeps_its_own(write_params):
    params = load_params(write_params(then(as_regression, lambda raw: raw["leaderboard"].update(families=["ridge", "logistic_regression", "dummy"]))))
    assert params.task_families == ["ridge", "dummy"]


def test_repo_leaderboard_lists_every_built_in_family_of_every_task_so_switching_task_needs_no_edit():
    # lightgbm, an optional extra, is left off the default list: docs/how-to/add-a-model-family.md says why
    built_in = [family for family in (*CLASSIFIERS, *REGRESSORS) if not BY_NAME[family].requires]
    raw = yaml.safe_load(REPO_PARAMS.read_text(encoding="utf-8"))
    assert set(raw["leaderboard"]["families"]) == set(built_in) and "lightgbm" not in built_in
    assert load_params(REPO_PARAMS).task_families == [family for family in CLASSIFIERS if family in built_in]


def test_leaderboard_with_no_family_for_the_task_is_refused_naming_the_allowed_ones(write_params):
    path = write_params(then(as_regression, lambda raw: raw["leaderboard"].update(families=["logistic_regression", "linear_svm"])))
    with pytest.raises(StageError) as error:
        load_params(path)
    assert str(error.value).endswith(
        f"leaderboard.families: none of logistic_regression, linear_svm can do regression; add one of: {', '.join(REGRESSORS)}")


def test_leaderboard_family_that_no_task_knows_is_refused(write_params):
    path = write_params(lambda raw: raw["leaderboard"].update(families=["ridge", "xgboost"]))
    with pytest.raises(StageError, match=r"key 'leaderboard\.families\.1' must be 'logistic_regression', .*; got 'xgboost'"):
        load_params(path)


def test_a_family_listed_twice_is_refused(write_params):
    path = write_params(lambda raw: raw["leaderboard"].update(families=["dummy", "ridge", "dummy"]))
    with pytest.raises(StageError, match=r"leaderboard\.families lists dummy more than once"):
        load_params(path)


def test_empty_leaderboard_is_refused(write_params):
    path = write_params(lambda raw: raw["leaderboard"].update(families=[]))
    with pytest.raises(StageError, match=r"key 'leaderboard\.families'"):
        load_params(path)


def test_unknown_gate_metric_is_refused_listing_the_allowed_names(write_params):
    path = write_params(lambda raw: raw["gates"].update(classification=[{"metric": "test.roc_auc", "min": 0.5}, {"metric": "test.auc", "min": 0.5}]))
    with pytest.raises(StageError) as error:
        load_params(path)
    message = str(error.value)
    assert "gates.classification[1].metric must be one of " in message and message.endswith("; got 'test.auc'")
    assert all(name in message for name in gate_metric_names("classification"))


def test_gate_metric_of_the_other_task_is_refused(write_params):
    path = write_params(lambda raw: raw["gates"].update(regression=[{"metric": "test.roc_auc", "min": 0.5}]))
    with pytest.raises(StageError, match=r"gates\.regression\[0\]\.metric must be one of test\.rmse, .*; got 'test\.roc_auc'"):
        load_params(path)


def test_gate_without_min_or_max_is_refused(write_params):
    path = write_params(lambda raw: raw["gates"].update(classification=[{"metric": "test.roc_auc"}]))
    with pytest.raises(StageError, match=r"gates\.classification\[0\] \(test\.roc_auc\) needs a min or a max"):
        load_params(path)


def test_gate_with_an_unknown_key_is_refused(write_params):
    path = write_params(lambda raw: raw["gates"].update(regression=[{"metric": "test.r2", "minimum": 0.5}]))
    with pytest.raises(StageError, match=r"unknown key 'gates\.regression\.0\.minimum' \(did you mean 'min'\?\); allowed keys under 'gates\.regression\.0': metric, min, max"):
        load_params(path)


def test_no_gates_at_all_is_accepted(write_params):
    assert load_params(write_params(lambda raw: raw["gates"].update(classification=[]))).task_gates == []


def test_the_task_picks_its_gates_so_switching_task_needs_no_edit_there(write_params):
    classification = load_params(REPO_PARAMS)
    regression = load_params(write_params(lambda raw: raw["data"].update(task="regression", positive_class=None)))
    assert [gate.metric for gate in classification.task_gates] == ["over_baseline.roc_auc", "test.brier_skill"]
    assert [gate.metric for gate in regression.task_gates] == ["test.r2", "over_baseline.r2"]
    assert all(gate.min is not None for gate in regression.task_gates)


def test_gates_without_a_list_for_the_task_are_refused_naming_the_key_to_add(write_params):
    path = write_params(lambda raw: raw.update(gates={"regression": []}))
    with pytest.raises(StageError, match=r"gates has no list for data\.task 'classification'; add gates\.classification: \[\.\.\.\]"):
        load_params(path)


def test_gates_keyed_by_an_unknown_task_are_refused(write_params):
    path = write_params(lambda raw: raw["gates"].update(ranking=[]))
    with pytest.raises(StageError, match=r"unknown key 'gates\.ranking'; the keys under 'gates' must be 'classification' or 'regression'; got 'ranking'$"):
        load_params(path)


def test_one_list_of_gates_still_holds_for_whatever_the_task_is(write_params):
    params = load_params(write_params(lambda raw: raw.update(gates=[{"metric": "test.roc_auc", "min": 0.7}])))
    assert [gate.metric for gate in params.task_gates] == ["test.roc_auc"]
    path = write_params(then(as_regression, lambda raw: raw.update(gates=[{"metric": "test.roc_auc", "min": 0.7}])))
    with pytest.raises(StageError, match=r"gates\.regression\[0\]\.metric must be one of test\.rmse"):
        load_params(path)


def test_segment_column_equal_to_the_target_is_refused(write_params):
    path = write_params(lambda raw: raw["data"].update(segment_column=raw["data"]["target"]))
    with pytest.raises(StageError, match=r"data\.segment_column must not be the target"):
        load_params(path)


@pytest.mark.parametrize("method", ["top_k", None])
def test_unknown_threshold_method_is_refused(write_params, method):
    path = write_params(lambda raw: raw["evaluate"]["threshold"].update(method=method))
    with pytest.raises(StageError, match=r"key 'evaluate\.threshold\.method' must be 'fixed', 'max_f1', 'min_cost', 'min_sensitivity', "
                                         r"'min_specificity' or 'min_precision'"):
        load_params(path)


def test_gate_metric_names_cover_test_cv_and_over_baseline_for_each_task():
    names = gate_metric_names("regression")
    assert names[:3] == ["test.rmse", "test.mae", "test.r2"]
    assert {"cv.rmse_mean", "cv.rmse_std", "over_baseline.r2"} <= set(names)
    classification = gate_metric_names("classification")
    # Accuracy and F1 depend on the threshold: they are tested, but not cross-validated.
    assert "test.accuracy" in classification and "cv.accuracy_mean" not in classification
    multiclass = gate_metric_names("multiclass")
    # Multiclass decides by the most probable class, with no threshold: all five are cross-validated.
    assert {"test.roc_auc", "test.brier", "cv.accuracy_mean", "cv.f1_macro_std", "over_baseline.log_loss"} <= set(multiclass)
    assert "test.average_precision" not in multiclass and "test.f1" not in multiclass
    for task in ("classification", "multiclass", "regression"):
        binary = len(BINARY_GATES) if task == "classification" else 0  # the operating point and calibration
        assert len(gate_metric_names(task)) == 2 * len(METRICS_BY_TASK[task]) + 2 * len(CV_METRICS_BY_TASK[task]) + binary


@pytest.mark.parametrize("positive_class", ["bad", None])
def test_the_brier_skill_score_is_gated_on_the_test_split_for_two_classes_or_more(write_params, positive_class):
    # The shipped classification list holds for a binary and a multiclass target alike.
    params = load_params(write_params(lambda raw: raw["data"].update(positive_class=positive_class)))
    assert "test.brier_skill" in [gate.metric for gate in params.task_gates]
    assert {"test.brier_skill", "over_baseline.brier_skill"} <= set(gate_metric_names(params.data.problem))
    # It is relative to evaluate's test-split baseline, so it has no cross-validated figure to gate.
    path = write_params(lambda raw: (raw["data"].update(positive_class=positive_class),
                                     raw["gates"].update(classification=[{"metric": "cv.brier_skill_mean", "min": 0.01}])))
    with pytest.raises(StageError) as error:
        load_params(path)
    assert str(error.value).endswith(f"gates.classification[0].metric must be one of {', '.join(gate_metric_names(params.data.problem))},"
                                     " fairness.<protected column>.<gap> or monotonic.<column>.<figure>; got 'cv.brier_skill_mean'")


def test_a_brier_skill_gate_for_regression_is_refused_listing_the_regression_metrics(write_params):
    path = write_params(then(as_regression, lambda raw: raw["gates"].update(regression=[{"metric": "test.brier_skill", "min": 0.01}])))
    with pytest.raises(StageError, match=r"gates\.regression\[0\]\.metric must be one of test\.rmse, test\.mae, test\.r2, .*; got 'test\.brier_skill'$"):
        load_params(path)


@pytest.mark.parametrize(
    "value, expected",
    [(1, r"key 'featurize\.categorical\.max_categories' must be greater than or equal to 2; got 1"),
     ("20", r"key 'featurize\.categorical\.max_categories' must be a valid integer.*; got '20'"),
     (2.5, r"key 'featurize\.categorical\.max_categories' must be a valid integer.*; got 2\.5")],
)
def test_max_categories_below_two_or_not_an_integer_is_refused_naming_the_key(write_params, value, expected):
    path = write_params(lambda raw: raw["featurize"]["categorical"].update(max_categories=value))
    with pytest.raises(StageError, match=expected):
        load_params(path)


def test_max_categories_null_means_no_bound_and_a_missing_key_means_the_bound_of_20(write_params):
    unbounded = write_params(lambda raw: raw["featurize"]["categorical"].update(max_categories=None))
    assert load_params(unbounded).featurize.categorical.max_categories is None
    absent = write_params(lambda raw: raw["featurize"]["categorical"].pop("max_categories"))
    assert load_params(absent).featurize.categorical.max_categories == 20


# --- nested cross-validation ---

def test_nested_cv_is_off_by_default_in_the_repo_params():
    assert load_params(REPO_PARAMS).evaluate.nested_cv is False


@pytest.mark.parametrize("value", ["yes", 1])
def test_nested_cv_must_be_a_boolean(write_params, value):
    path = write_params(lambda raw: raw["evaluate"].update(nested_cv=value))
    with pytest.raises(StageError, match=rf"key 'evaluate\.nested_cv' must be a valid boolean; got {value!r}"):
        load_params(path)


def test_gate_on_nested_cv_without_nested_cv_is_refused_naming_the_key(write_params):
    path = write_params(lambda raw: raw.update(gates=[{"metric": "test.roc_auc", "min": 0.5}, {"metric": "nested_cv.roc_auc_mean", "min": 0.7}]))
    with pytest.raises(StageError, match=r"gates\.classification\[1\]\.metric 'nested_cv\.roc_auc_mean' needs evaluate\.nested_cv: true; got false$"):
        load_params(path)


def test_gate_on_nested_cv_with_nested_cv_is_accepted(write_params):
    def edit(raw):
        raw["evaluate"]["nested_cv"] = True
        raw["gates"] = [{"metric": "nested_cv.roc_auc_mean", "min": 0.7}]
    assert load_params(write_params(edit)).task_gates[0].metric == "nested_cv.roc_auc_mean"


def test_nested_cv_gate_names_exist_only_when_nested_cv_is_on():
    for task in ("classification", "regression"):
        plain, nested = gate_metric_names(task), gate_metric_names(task, nested_cv=True)
        assert not any(name.startswith("nested_cv.") for name in plain)
        assert set(nested) - set(plain) == {f"nested_cv.{m}_{stat}" for m in CV_METRICS_BY_TASK[task] for stat in ("mean", "std")}


# --- YAML 1.1 booleans where a string is meant ---

def with_lines(replacements: dict[str, str]):
    """The repo's params.yaml as text, with whole lines replaced (YAML text, not a dumped dict)."""
    text = REPO_PARAMS.read_text(encoding="utf-8")
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


@pytest.mark.parametrize("written", ["yes", "no", "on", "off", "true", "false", "Yes", "NO", "y", "n"])
def test_positive_class_written_as_a_yaml_boolean_keeps_the_text_as_written(tmp_path, written):
    path = tmp_path / "params.yaml"
    path.write_text(with_lines({"positive_class: bad ": f"positive_class: {written} "}), encoding="utf-8")
    assert load_params(path).data.positive_class == written


def test_every_string_key_keeps_yaml_boolean_text_and_boolean_keys_stay_booleans(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(with_lines({
        "target: Status": "target: on",
        "drop_columns: []": "drop_columns: [yes, 'no', off]",
        "segment_column: Marital": "segment_column: n",
        "drop_duplicates: true": "drop_duplicates: yes",  # a real boolean key: YAML 1.1's reading stands
    }), encoding="utf-8")
    params = load_params(path)
    assert params.data.target == "on"
    assert params.data.drop_columns == ["yes", "no", "off"]
    assert params.data.segment_column == "n"
    assert params.prepare.drop_duplicates is True


def test_a_boolean_where_a_choice_is_expected_is_still_refused(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(with_lines({"  model: auto ": "  model: yes "}), encoding="utf-8")
    with pytest.raises(StageError, match=r"key 'train\.model' must be 'auto', .*; got True"):
        load_params(path)



# --- leaderboard budget ---

@pytest.mark.parametrize(
    "edit, expected",
    [(lambda spec: spec.update(sample_rows=0), r"key 'leaderboard\.sample_rows' must be greater than or equal to 2; got 0"),
     (lambda spec: spec.update(sample_rows="100k"), r"key 'leaderboard\.sample_rows' must be a valid integer.*; got '100k'"),
     (lambda spec: spec.update(sample_rows=3), r"leaderboard\.sample_rows must be at least leaderboard\.cv_folds \(5\) or null; got 3"),
     (lambda spec: spec.update(max_rows_per_family={"mlp": 0}), r"key 'leaderboard\.max_rows_per_family\.mlp' must be greater than or equal to 1; got 0"),
     (lambda spec: spec.update(max_rows_per_family={"xgboost": 10}), r"leaderboard\.max_rows_per_family.*xgboost"),
     (lambda spec: spec.update(max_rows_per_family=[10]), r"key 'leaderboard\.max_rows_per_family' must be a valid dictionary")],
)
def test_bad_leaderboard_budget_values_are_refused_naming_the_key(write_params, edit, expected):
    path = write_params(lambda raw: edit(raw["leaderboard"]))
    with pytest.raises(StageError, match=expected):
        load_params(path)


def test_sample_rows_null_means_every_row_and_missing_keys_mean_100000_and_no_limits(write_params):
    assert load_params(write_params(lambda raw: raw["leaderboard"].update(sample_rows=None))).leaderboard.sample_rows is None
    absent = load_params(write_params(lambda raw: [raw["leaderboard"].pop(key) for key in ("sample_rows", "max_rows_per_family")]))
    assert absent.leaderboard.sample_rows == 100_000 and absent.leaderboard.max_rows_per_family == {}


def test_halving_is_a_search_method_and_an_unknown_one_is_refused_listing_it(write_params):
    halving = write_params(lambda raw: (raw["train"].update(model="mlp"), raw["train"]["search"].update(method="halving")))
    assert load_params(halving).train.search.method == "halving"
    with pytest.raises(StageError, match=r"key 'train\.search\.method' must be 'none', 'grid', 'random' or 'halving'; got 'halve'"):
        load_params(write_params(lambda raw: raw["train"]["search"].update(method="halve")))


@pytest.mark.parametrize("metric, accepted", [
    ("fairness.Marital.demographic_parity_difference", True),
    ("fairness.Age.equalized_odds_ratio", True),
    ("fairness.Marital.roc_auc", False),
    ("fairness.demographic_parity_difference", False),
])
def test_fairness_gates_name_a_column_and_a_gap(write_params, metric, accepted):
    path = write_params(lambda raw: raw["gates"]["classification"].append({"metric": metric, "max": 0.2}))
    if accepted:
        assert load_params(path).task_gates[-1].metric == metric
    else:
        with pytest.raises(StageError, match=r"must be fairness\.<protected column>\.<gap>, the gap one of demographic_parity_difference"):
            load_params(path)


def test_an_unknown_mitigation_is_refused_naming_the_key(write_params):
    path = write_params(lambda raw: raw["train"]["fairness"].update(mitigation="reweighing"))
    with pytest.raises(StageError, match=r"key 'train\.fairness\.mitigation' must be 'none', 'exponentiated_gradient' or 'threshold_optimizer'"):
        load_params(path)


def test_the_pseudonym_key_file_defaults_beside_the_log_and_may_not_be_the_log(write_params):
    assert load_params(REPO_PARAMS).serve.key_file == "logs/pseudonym.key"
    assert load_params(write_params(lambda raw: raw["serve"].pop("key_file"))).serve.key_file == "logs/pseudonym.key"
    with pytest.raises(StageError, match=r"serve.key_file must be a file of its own, not serve.log; got 'logs/predictions.sqlite' for both"):
        load_params(write_params(lambda raw: raw["serve"].update(key_file="logs/predictions.sqlite")))

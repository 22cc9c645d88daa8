"""prepare: clean the validated table (with counts) and split it, stratified and deterministic."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.model_selection import StratifiedKFold

from tabular_mlops.errors import StageError
from tabular_mlops.config.params import DataParams, Params, PrepareParams, load_params
from tabular_mlops.data.cleaning import check_classes_fill_folds, clean, cv_folds_asked, split
from tests.dvc_repo import commit, dvc, md5_of, ran_stages

REPO_PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"


def data_params(drop_columns=()):
    return DataParams(path="t.csv", target="y", task="classification", positive_class="bad", drop_columns=list(drop_columns), contract="c.yaml")


@pytest.fixture
def validated():
    return pd.DataFrame(
        {
            "Id": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "Age": [30.0, 30.0, 41.0, 52.0, 52.0, np.nan],
            "y": ["bad", "bad", "good", None, "good", "good"],
        }
    )


@pytest.fixture
def labelled():
    """20 rows, 14 good and 6 bad."""
    return pd.DataFrame({"x": np.arange(20.0), "y": ["good"] * 14 + ["bad"] * 6})


def test_clean_drops_columns_duplicates_and_unlabelled_rows_and_counts_them(validated):
    cleaned, report = clean(validated, data_params(["Id"]), PrepareParams(test_size=0.2, drop_duplicates=True))
    assert list(cleaned.columns) == ["Age", "y"]
    assert cleaned["y"].notna().all() and not cleaned.duplicated().any()
    assert report == {"rows_in": 6, "duplicate_rows_dropped": 1, "unlabelled_rows_dropped": 1, "rows_out": 4}
    assert list(cleaned.index) == [0, 1, 2, 3]


def test_clean_keeps_duplicates_when_drop_duplicates_is_false(validated):
    cleaned, report = clean(validated, data_params(["Id"]), PrepareParams(test_size=0.2, drop_duplicates=False))
    assert report["duplicate_rows_dropped"] == 0 and report["rows_out"] == 5
    assert cleaned.duplicated().sum() == 1


def test_clean_keeps_rows_with_missing_features(validated):
    cleaned, _ = clean(validated, data_params(), PrepareParams(test_size=0.2, drop_duplicates=True))
    assert cleaned["Age"].isna().sum() == 1


def test_split_is_stratified_and_covers_every_row_once(labelled):
    train, test = split(labelled, "y", 0.5, seed=0)
    assert test["y"].value_counts().to_dict() == {"good": 7, "bad": 3}
    assert train["y"].value_counts().to_dict() == {"good": 7, "bad": 3}
    assert sorted(pd.concat([train, test])["x"]) == list(labelled["x"])


def test_split_is_the_same_for_the_same_seed_and_differs_for_another(labelled):
    first_train, first_test = split(labelled, "y", 0.25, seed=7)
    again_train, again_test = split(labelled, "y", 0.25, seed=7)
    pd.testing.assert_frame_equal(first_train, again_train)
    pd.testing.assert_frame_equal(first_test, again_test)
    other_train, _ = split(labelled, "y", 0.25, seed=8)
    assert set(first_train["x"]) != set(other_train["x"])


def test_split_refuses_a_target_with_one_class(labelled):
    with pytest.raises(StageError, match=r"the target 'y' has one class after cleaning \('good'\); need two"):
        split(labelled.assign(y="good"), "y", 0.25, seed=0)


@pytest.mark.parametrize("test_size", [0.05, 0.99])
def test_split_refuses_a_test_size_that_cannot_stratify(labelled, test_size):
    with pytest.raises(StageError, match=rf"prepare\.test_size={test_size} cannot give a stratified split of 20 rows"):
        split(labelled, "y", test_size, seed=0)


def test_split_refuses_a_class_with_a_single_row(labelled):
    with pytest.raises(StageError, match=r"cannot give a stratified split"):
        split(labelled.assign(y=["good"] * 19 + ["bad"]), "y", 0.25, seed=0)


def test_split_refuses_with_a_stage_error_when_too_few_training_rows_remain():
    # 5 rows, 2 classes, test_size 0.65: scikit-learn keeps floor(0.35 * 5) = 1 training row < 2 classes.
    table = pd.DataFrame({"x": np.arange(5.0), "y": ["good"] * 3 + ["bad"] * 2})
    with pytest.raises(StageError, match=r"prepare\.test_size=0\.65 cannot give a stratified split"):
        split(table, "y", 0.65, seed=0)


@pytest.fixture
def valued():
    """20 rows with a continuous target: no value repeats, so it could not be stratified."""
    return pd.DataFrame({"x": np.arange(20.0), "y": np.linspace(0.5, 99.5, 20)})


def test_regression_split_is_not_stratified_and_covers_every_row_once(valued):
    train, test = split(valued, "y", 0.25, seed=0, task="regression")
    assert (len(train), len(test)) == (15, 5)
    assert sorted(pd.concat([train, test])["x"]) == list(valued["x"])
    assert list(train.index) == list(range(15)) and list(test.index) == list(range(5))


def test_regression_split_is_the_same_for_the_same_seed_and_differs_for_another(valued):
    first_train, first_test = split(valued, "y", 0.25, seed=7, task="regression")
    again_train, again_test = split(valued, "y", 0.25, seed=7, task="regression")
    pd.testing.assert_frame_equal(first_train, again_train)
    pd.testing.assert_frame_equal(first_test, again_test)
    other_train, _ = split(valued, "y", 0.25, seed=8, task="regression")
    assert set(first_train["x"]) != set(other_train["x"])


def test_regression_split_accepts_a_target_with_one_value_that_classification_refuses(valued):
    train, test = split(valued.assign(y=1.0), "y", 0.25, seed=0, task="regression")
    assert len(train) + len(test) == 20


@pytest.mark.parametrize("test_size", [0.05, 0.95])
def test_regression_split_refuses_fewer_than_two_rows_on_a_side(valued, test_size):
    with pytest.raises(StageError, match=rf"prepare\.test_size={test_size} leaves fewer than 2 rows on a side of 20 rows"):
        split(valued, "y", test_size, seed=0, task="regression")


def test_clean_drops_rows_without_a_numeric_target():
    data = DataParams(path="t.csv", target="y", task="regression", drop_columns=[], contract="c.yaml")
    cleaned, report = clean(pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0.5, np.nan, 2.5]}), data, PrepareParams(test_size=0.2, drop_duplicates=True))
    assert cleaned["y"].tolist() == [0.5, 2.5] and report["unlabelled_rows_dropped"] == 1


# --- the split's own seed: prepare.split_seed, apart from `seed` ---

def test_changing_seed_keeps_the_test_rows_and_changing_split_seed_changes_them(tmp_path, labelled):
    def test_rows(edit) -> set:
        raw = yaml.safe_load(REPO_PARAMS.read_text(encoding="utf-8"))
        edit(raw)
        path = tmp_path / "params.yaml"
        path.write_text(yaml.safe_dump(raw), encoding="utf-8")
        params = load_params(path)
        # what stages/prepare.py passes to split
        _, test = split(labelled, "y", params.prepare.test_size, params.prepare.split_seed, params.data.task)
        return set(test["x"])

    default = test_rows(lambda raw: None)
    assert test_rows(lambda raw: raw.update(seed=7)) == default
    assert test_rows(lambda raw: raw["prepare"].update(split_seed=7)) != default


def test_split_seed_defaults_to_42_when_params_yaml_leaves_it_out():
    assert PrepareParams(test_size=0.2, drop_duplicates=True).split_seed == 42


# --- a class rarer than the folds is refused before any fold lacks it ---

def params_with(leaderboard=5, evaluate=5, search=5, method="none"):
    raw = yaml.safe_load(REPO_PARAMS.read_text(encoding="utf-8"))
    raw["leaderboard"]["cv_folds"], raw["evaluate"]["cv_folds"] = leaderboard, evaluate
    raw["train"]["search"].update(cv_folds=search, method=method)
    if method != "none":
        raw["train"]["model"] = "logistic_regression"
    return Params.model_validate(raw)


@pytest.mark.parametrize(
    "folds, expected",
    [
        ({}, {"leaderboard.cv_folds": 5, "evaluate.cv_folds": 5}),
        ({"search": 10}, {"leaderboard.cv_folds": 5, "evaluate.cv_folds": 5}),  # no search: its folds never run
        ({"search": 10, "method": "grid"}, {"leaderboard.cv_folds": 5, "evaluate.cv_folds": 5, "train.search.cv_folds": 10}),
    ],
)
def test_the_folds_asked_are_every_cross_validation_that_will_run(folds, expected):
    assert cv_folds_asked(params_with(**folds)) == expected


def test_a_class_with_fewer_training_rows_than_the_largest_folds_is_refused_in_one_line_naming_it():
    train = pd.DataFrame({"x": np.arange(24.0), "y": ["good"] * 20 + ["bad"] * 4})
    with pytest.raises(StageError) as error:
        check_classes_fill_folds(train, "y", cv_folds_asked(params_with(leaderboard=3, evaluate=5, search=8, method="random")))
    assert str(error.value) == (
        "data/prepared/train.parquet: class 'bad' of 'y' has 4 rows in the training split, fewer than the 8"
        " cross-validation folds of train.search.cv_folds, so some fold would have none of it (NaN ROC-AUC);"
        " lower evaluate.cv_folds, train.search.cv_folds to at most 4, or add rows of that class"
    )


def test_a_class_with_as_many_training_rows_as_folds_is_accepted_and_every_fold_holds_it():
    train = pd.DataFrame({"x": np.arange(25.0), "y": ["good"] * 20 + ["bad"] * 5})
    check_classes_fill_folds(train, "y", {"leaderboard.cv_folds": 5, "evaluate.cv_folds": 5})
    # the bound is scikit-learn's own: with 5 rows of a class, each of 5 stratified folds gets one
    splits = StratifiedKFold(5, shuffle=True, random_state=0).split(train, train["y"])
    assert all((train["y"].iloc[rows] == "bad").sum() == 1 for _, rows in splits)


def test_prepare_lists_every_fold_count_it_checks_as_a_dvc_param():
    stage = yaml.safe_load((Path(__file__).resolve().parents[1] / "dvc.yaml").read_text())["stages"]["prepare"]
    assert {"leaderboard.cv_folds", "evaluate.cv_folds", "train.search.method", "train.search.cv_folds", "prepare"} <= set(stage["params"])
    assert "seed" not in stage["params"]


@pytest.mark.slow
def test_a_seed_experiment_keeps_the_test_split_byte_for_byte_and_does_not_rerun_prepare(small_repo_copy):
    # The experiment targets prepare: every later stage reads data/prepared, never writes it.
    # (That changing prepare.split_seed does change the test rows is checked above, without dvc.)
    repo = small_repo_copy
    commit(repo, "the small pipeline's run")  # dvc exp run starts from a commit
    test_split = repo / "data/prepared/test.parquet"
    before = md5_of(test_split)
    same = dvc(repo, "exp", "run", "-S", "seed=7", "prepare")
    assert same.returncode == 0, same.output
    assert yaml.safe_load((repo / "params.yaml").read_text())["seed"] == 7  # the experiment did set it
    assert "Stage 'prepare' didn't change, skipping" in same.output and "prepare" not in ran_stages(same.output)
    assert md5_of(test_split) == before

"""Model selection with a budget: the screening sample, the per-family row limits, and how the
leaderboard and the progress lines report them."""
import io
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.inspection import permutation_importance

from tabular_mlops.errors import StageError
from tabular_mlops.models.budget import over_limit, screening_rows, screening_sample
from tabular_mlops.models.leaderboard import leaderboard, markdown
from tabular_mlops.progress import Progress


def labels(n_bad: int, n_good: int, seed: int = 0) -> pd.Series:
    values = np.array(["bad"] * n_bad + ["good"] * n_good)
    return pd.Series(np.random.default_rng(seed).permutation(values), name="Status")


# --- the sample ---

def test_a_split_no_larger_than_sample_rows_is_untouched():
    target = labels(30, 70)
    inputs = pd.DataFrame({"Income": np.arange(100.0)})
    for sample_rows in (100, 1000, None):
        assert screening_rows(target, True, sample_rows, seed=0) is None
        sampled_inputs, sampled_target, screened_on = screening_sample(inputs, target, True, sample_rows, seed=0)
        assert sampled_inputs is inputs and sampled_target is target and screened_on is None


def test_classification_sample_keeps_each_class_share_to_within_a_row():
    target = labels(2_345, 7_655)
    rows = screening_rows(target, True, sample_rows=1_000, seed=3)
    assert len(rows) == len(set(rows)) == 1_000
    counts = target.iloc[rows].value_counts()
    # shares of 1,000 rows: bad 234.5, good 765.5; the largest remainder (a tie) goes to the first class
    assert counts.to_dict() == {"bad": 235, "good": 765}


def test_the_sample_is_the_same_for_the_same_seed_and_differs_for_another():
    target = labels(300, 700)
    first = screening_rows(target, True, 200, seed=42)
    # each family's stage is its own process: it draws again from the same target, size and seed
    assert np.array_equal(first, screening_rows(target.copy(), True, 200, seed=42))
    assert not np.array_equal(first, screening_rows(target, True, 200, seed=43))
    assert np.array_equal(first, np.sort(first))  # rows keep the table's order


def test_regression_sample_is_a_plain_random_sample_of_distinct_rows():
    target = pd.Series(np.linspace(0, 1, 500), name="Price")
    rows = screening_rows(target, False, 123, seed=1)
    assert len(rows) == len(np.unique(rows)) == 123 and rows.min() >= 0 and rows.max() < 500
    assert np.array_equal(rows, screening_rows(target, False, 123, seed=1))


def test_screening_sample_returns_those_rows_and_says_how_they_were_drawn():
    target = labels(40, 60)
    inputs = pd.DataFrame({"Income": np.arange(100.0)}, index=np.arange(100) + 1000)
    sampled_inputs, sampled_target, screened_on = screening_sample(inputs, target, True, 50, seed=7, min_class_rows=5)
    rows = screening_rows(target, True, 50, seed=7)
    assert sampled_inputs.equals(inputs.iloc[rows]) and sampled_target.equals(target.iloc[rows])
    assert screened_on == {"rows": 50, "of": 100, "sample": "stratified by Status, seed 7"}


def test_a_sample_too_small_for_a_class_to_fill_the_folds_names_the_key():
    target = labels(20, 980)  # 2 % bad: 100 rows hold 2 bad rows, fewer than 5 folds need
    with pytest.raises(StageError, match=r"leaderboard.sample_rows \(100\) leaves 2 rows of class 'bad' .* leaderboard.cv_folds \(5\)"):
        screening_rows(target, True, 100, seed=0, min_class_rows=5)


# --- the row limits ---

def test_a_family_over_its_row_limit_is_skipped_with_a_message_naming_the_key():
    assert over_limit("mlp", 50_000, {"mlp": 50_000}) is None
    assert over_limit("mlp", 50_000, {"random_forest": 10}) is None
    assert over_limit("random_forest", 100_000, {"random_forest": 20_000}) == (
        "skipped: 100,000 screening rows exceed leaderboard.max_rows_per_family.random_forest (20,000); "
        "lower leaderboard.sample_rows or raise the limit to screen it")


# --- the leaderboard ---

SAMPLE = {"rows": 100_000, "of": 800_000, "sample": "stratified by Status, seed 42"}


def entry(family: str, mean: float, screened_on: dict | None = SAMPLE) -> dict:
    result = {"family": family, "status": "ok", "cv": {"roc_auc_mean": mean, "roc_auc_std": 0.01}, "test": {"roc_auc": mean}}
    return result | ({"screened_on": screened_on} if screened_on else {})


def skipped(family: str) -> dict:
    return {"family": family, "status": "skipped", "reason": over_limit(family, 100_000, {family: 20_000}), "screened_on": SAMPLE}


def test_leaderboard_records_the_sample_and_lists_families_skipped_for_size_apart():
    table = leaderboard([entry("logistic_regression", 0.8), skipped("random_forest"), entry("dummy", 0.5)], "roc_auc", 5)
    assert [row["family"] for row in table["ranking"]] == ["logistic_regression", "dummy"]
    assert table["failed"] == []
    assert table["skipped_for_size"] == [{"family": "random_forest", "reason": skipped("random_forest")["reason"]}]
    assert table["screened_on"] == SAMPLE
    text = markdown(table["ranking"], "roc_auc", 5, table["failed"], screened_on=table["screened_on"],
                    skipped_for_size=table["skipped_for_size"])
    lines = text.splitlines()
    assert lines[0] == "# Leaderboard: 5-fold CV roc_auc on a sample of 100,000 of the 800,000 training rows"
    assert lines[2] == ("Screened on a sample (leaderboard.sample_rows; stratified by Status, seed 42), the same rows for every family; "
                        "train fits the chosen family on all 800,000 rows.")
    assert "## Skipped for size, not ranked" in lines
    assert f"| random_forest | {skipped('random_forest')['reason']} |" in lines


def test_leaderboard_without_a_sample_or_a_limit_has_no_new_keys():
    table = leaderboard([entry("logistic_regression", 0.8, None), entry("dummy", 0.5, None)], "roc_auc", 5)
    assert "screened_on" not in table and "skipped_for_size" not in table
    assert markdown(table["ranking"], "roc_auc", 5).startswith("# Leaderboard: 5-fold CV roc_auc on the training split\n\n| rank")


def test_families_screened_on_different_samples_are_refused():
    other = SAMPLE | {"sample": "stratified by Status, seed 1"}
    with pytest.raises(StageError, match="screened on different samples"):
        leaderboard([entry("logistic_regression", 0.8), entry("dummy", 0.5, other)], "roc_auc", 5)


def test_every_family_skipped_or_failed_is_one_error_naming_each():
    with pytest.raises(StageError) as error:
        leaderboard([skipped("mlp"), {"family": "dummy", "status": "failed", "reason": "boom"}], "roc_auc", 5)
    message = str(error.value)
    assert "every family failed cross-validation or was skipped for size" in message
    assert "dummy: boom" in message and "mlp: skipped: 100,000 screening rows" in message
    json.dumps(skipped("mlp"))  # the entry is plain JSON


# --- progress ---

def test_progress_lines_say_what_finished_the_time_elapsed_and_an_estimate_of_the_time_left():
    ticks = iter([100.0, 102.0, 106.0])  # start, then 2 s and 6 s later
    stream = io.StringIO()
    progress = Progress("cross_validate mlp", total=4, stream=stream, clock=lambda: next(ticks))
    progress.step("fold 1/3 done")
    progress.step("fold 2/3 done")
    assert stream.getvalue().splitlines() == [
        "cross_validate mlp: fold 1/3 done (1/4 steps), 2.0 s elapsed, about 6.0 s left",
        "cross_validate mlp: fold 2/3 done (2/4 steps), 6.0 s elapsed, about 6.0 s left",
    ]


# --- through dvc ---

@pytest.mark.slow
def test_dvc_repro_screens_every_family_on_one_sample_skips_one_over_its_limit_and_shows_progress(small_repo_copy):
    from tests.dvc_repo import dvc, update_params

    update_params(small_repo_copy, lambda params: params["leaderboard"].update(sample_rows=200, max_rows_per_family={"dummy": 100}))
    result = dvc(small_repo_copy, "repro", "leaderboard")
    assert result.returncode == 0, result.output
    train_rows = len(pd.read_parquet(small_repo_copy / "data/prepared/train.parquet"))
    table = json.loads((small_repo_copy / "metrics/leaderboard.json").read_text())
    assert table["screened_on"] == {"rows": 200, "of": train_rows, "sample": "stratified by Status, seed 42"}
    assert [row["family"] for row in table["ranking"]] == ["logistic_regression"]
    assert table["skipped_for_size"] == [{"family": "dummy", "reason": over_limit("dummy", 200, {"dummy": 100})}]
    text = (small_repo_copy / "metrics/leaderboard.md").read_text()
    assert f"on a sample of 200 of the {train_rows:,} training rows" in text and "| dummy | skipped: 200 screening rows" in text
    assert "cross_validate logistic_regression: fold 1/5 done (1/6 steps)" in result.output
    assert "cross_validate logistic_regression: refit on 200 rows done (6/6 steps)" in result.output


@pytest.mark.slow
def test_evaluate_cross_validates_on_the_leaderboards_sample_and_the_model_card_says_so(small_repo_copy):
    import joblib

    from tabular_mlops.config.params import load_params
    from tabular_mlops.data.dataset import split_inputs_target
    from tabular_mlops.models.scoring import cross_validated_predictions
    from tests.dvc_repo import dvc, update_params

    def configure(params: dict) -> None:
        params["leaderboard"]["sample_rows"] = 300
        params["evaluate"]["importance_rows"] = 60  # of the 120 test rows

    update_params(small_repo_copy, configure)
    result = dvc(small_repo_copy, "repro", "gate")
    assert result.returncode == 0, result.output
    params = load_params(small_repo_copy / "params.yaml")
    inputs, target = split_inputs_target(pd.read_parquet(small_repo_copy / "data/prepared/train.parquet"), params.data)
    model = joblib.load(small_repo_copy / "models/model.joblib")
    folds, seed = params.evaluate.cv_folds, params.seed
    sample_inputs, sample_target, _ = screening_sample(inputs, target, True, 300, seed, folds)
    on_sample = cross_validated_predictions("classification", model, sample_inputs, sample_target, folds, seed)[0]
    on_all = cross_validated_predictions("classification", model, inputs, target, folds, seed)[0]
    reported = json.loads((small_repo_copy / "metrics/evaluate/metrics.json").read_text())["cv"]["roc_auc_mean"]
    assert reported == round(on_sample["roc_auc_mean"], 6) != round(on_all["roc_auc_mean"], 6)
    card = (small_repo_copy / "metrics/model_card.md").read_text()
    assert "evaluate's cross-validation and threshold used the same sample" in card
    # Permutation importance on a stratified 60-row sample of the test split: scikit-learn's own
    # permutation_importance on those rows gives the reported figures, and the card says so.
    test_inputs, test_target = split_inputs_target(pd.read_parquet(small_repo_copy / "data/prepared/test.parquet"), params.data)
    test_inputs = test_inputs.drop(columns=["Marital"])  # protected, not a model input: not shuffled
    rows = screening_rows(test_target, True, 60, seed)
    assert len(rows) == 60 and (test_target.iloc[rows] == "bad").sum() == round((test_target == "bad").mean() * 60)
    direct = permutation_importance(model, test_inputs.iloc[rows], test_target.iloc[rows], scoring="roc_auc",
                                    n_repeats=params.evaluate.importance_repeats, random_state=seed)
    expected = {column: round(float(mean), 6) for column, mean in zip(test_inputs.columns, direct.importances_mean)}
    reported_importance = json.loads((small_repo_copy / "metrics/explain/importance.json").read_text())
    assert {row["column"]: row["importance"] for row in reported_importance} == expected
    assert f"## Permutation importance (a sample of 60 of the {len(test_target)} test rows (stratified, seed {seed}), top 10)" in card

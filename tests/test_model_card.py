"""model_card: built only from the pipeline's artifacts and params, with gates, segments, use and limits."""
from pathlib import Path

import pytest
import yaml

from tabular_mlops.reporting.model_card import CALIBRATION_PLOT, INTENDED_USE, LIMITATIONS, model_card
from tabular_mlops.config.params import Params, load_params

REPO_PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"
METADATA = {
    "model_family": "random_forest",
    "chosen_by": "leaderboard (train.model: auto)",
    "estimator": "RandomForestClassifier(max_features=0.5,\n    min_samples_leaf=3)",
    "output": "probability that Status == 'bad'",
    "training_data_sha256": "ab12",
    "input_columns": ["Age", "Home"],
    "libraries": {"scikit-learn": "1.9.1", "pandas": "3.1.1"},
}
METRICS = {
    "test": {"roc_auc": 0.83, "average_precision": 0.6, "log_loss": 0.45, "brier": 0.14, "accuracy": 0.78, "f1": 0.61, "brier_skill": 0.3},
    "cv": {"roc_auc_mean": 0.82, "roc_auc_std": 0.02, "average_precision_mean": 0.58, "average_precision_std": 0.03,
           "log_loss_mean": 0.46, "log_loss_std": 0.01, "brier_mean": 0.15, "brier_std": 0.01},
    "baseline": {"roc_auc": 0.5, "average_precision": 0.28, "log_loss": 0.59, "brier": 0.2, "accuracy": 0.72, "f1": 0.0, "brier_skill": 0.0},
    "threshold": 0.31,
}
GATES = [
    {"metric": "test.roc_auc", "min": 0.8, "max": None, "value": 0.83, "passed": True},
    {"metric": "test.brier", "min": None, "max": 0.1, "value": 0.14, "passed": False},
]
SEGMENTS = {"column": "Marital", "segments": [
    {"segment": "married", "rows": 500, "positive_rate": 0.25, "roc_auc": 0.84, "brier": 0.13, "accuracy": 0.8},
    {"segment": "widow", "rows": 3, "positive_rate": 0.0, "roc_auc": None, "brier": 0.02},
]}
IMPORTANCE = [{"column": f"c{number}", "importance": 0.1 - number / 100, "std": 0.001} for number in range(12)]
LEADERBOARD = {"metric": "roc_auc", "cv_folds": 5, "best": "random_forest", "ranking": [
    {"rank": 1, "family": "random_forest", "cv_mean": 0.82, "cv_std": 0.02, "test": 0.83},
    {"rank": 2, "family": "dummy", "cv_mean": 0.5, "cv_std": 0.0, "test": 0.5},
]}


@pytest.fixture(scope="module")
def params() -> Params:
    return load_params(REPO_PARAMS)


@pytest.fixture(scope="module")
def card(params) -> str:
    return model_card(params, METADATA, METRICS, GATES, SEGMENTS, IMPORTANCE, LEADERBOARD)


def section(card: str, title: str) -> list[str]:
    """The lines under a '## title' heading, up to the next heading."""
    lines = card.splitlines()
    start = next(number for number, line in enumerate(lines) if line.startswith(f"## {title}"))
    end = next((number for number in range(start + 1, len(lines)) if lines[number].startswith("## ")), len(lines))
    return [line for line in lines[start + 1:end] if line]


def test_card_names_the_family_the_target_the_output_and_the_threshold(card, params):
    assert card.startswith(f"# Model card: random_forest predicting {params.data.target}\n")
    assert "- **Output**: probability that Status == 'bad'" in card
    # The estimator's repr is put on one line.
    assert "`RandomForestClassifier(max_features=0.5, min_samples_leaf=3)`" in card
    assert f"- **Decision threshold**: 0.31 ({params.evaluate.threshold.method}," in card


def test_gate_table_has_one_row_per_gate_with_its_bound_value_and_result(card):
    assert section(card, "Gates") == [
        "| metric | min | max | value | result |",
        "|---|---|---|---|---|",
        "| test.roc_auc | 0.8000 |  | 0.8300 | pass |",
        "| test.brier |  | 0.1000 | 0.1400 | FAIL |",
    ]


def test_metrics_table_puts_test_cv_and_baseline_side_by_side(card):
    rows = section(card, "Test split")
    assert "| roc_auc | 0.8300 | 0.8200 | 0.0200 | 0.5000 |" in rows
    assert "| accuracy | 0.7800 |  |  | 0.7200 |" in rows  # not cross-validated: it needs the threshold
    assert "| brier_skill | 0.3000 |  |  | 0.0000 |" in rows  # nor this: it is relative to the test split's baseline


def test_segments_table_shows_every_segment_and_a_missing_roc_auc_as_blank(card):
    rows = section(card, "Segments by `Marital`")
    assert rows[0] == "| segment | rows | positive_rate | roc_auc | brier | accuracy |"
    assert rows[2:] == ["| married | 500 | 0.2500 | 0.8400 | 0.1300 | 0.8000 |", "| widow | 3 | 0.0000 |  | 0.0200 |  |"]


def test_no_segment_section_without_a_segment_column(params):
    card = model_card(params, METADATA, METRICS, GATES, {"column": None, "segments": []}, IMPORTANCE, LEADERBOARD)
    assert "## Segments" not in card


def test_leaderboard_and_top_ten_importance_are_listed(card):
    assert "| 1 | random_forest | 0.8200 | 0.0200 | 0.8300 |" in section(card, "Leaderboard")
    importance = section(card, "Permutation importance")
    assert len(importance) == 2 + 10
    assert importance[2].startswith("| c0 |") and not any(line.startswith("| c10 |") for line in importance)


def test_card_ends_with_the_intended_use_and_the_limitations(card):
    assert section(card, "Intended use") == [INTENDED_USE]
    assert section(card, "Limitations")[1:] == [f"- {item}" for item in LIMITATIONS]
    assert section(card, "Limitations")[0].startswith("- Probabilities: ")
    assert card.index("## Intended use") < card.index("## Limitations")


def test_regression_card_has_regression_metrics_and_no_threshold():
    raw = yaml.safe_load(REPO_PARAMS.read_text(encoding="utf-8"))
    raw["data"].update(task="regression", positive_class=None)
    raw["train"]["model"] = "ridge"
    raw["leaderboard"]["families"] = ["ridge", "dummy"]
    raw["gates"] = [{"metric": "test.rmse", "max": 5.0}]
    params = Params.model_validate(raw)
    metrics = {
        "test": {"rmse": 3.0, "mae": 2.0, "r2": 0.6},
        "cv": {"rmse_mean": 3.1, "rmse_std": 0.1, "mae_mean": 2.1, "mae_std": 0.1, "r2_mean": 0.58, "r2_std": 0.02},
        "baseline": {"rmse": 5.0, "mae": 4.0, "r2": -0.01},
    }
    segments = {"column": "Home", "segments": [{"segment": "rent", "rows": 4, "rmse": 2.5, "mae": 2.0, "r2": 0.5}]}
    card = model_card(params, METADATA | {"output": "predicted Status"}, metrics,
                      [{"metric": "test.rmse", "min": None, "max": 5.0, "value": 3.0, "passed": True}], segments, IMPORTANCE, LEADERBOARD)
    assert "Decision threshold" not in card
    assert "Probabilities" not in card  # no probabilities, nothing to calibrate
    assert "| rmse | 3.0000 | 3.1000 | 0.1000 | 5.0000 |" in section(card, "Test split")
    assert section(card, "Segments by `Home`")[0] == "| segment | rows | rmse | mae | r2 |"


def test_multiclass_card_names_every_class_and_has_no_threshold():
    raw = yaml.safe_load(REPO_PARAMS.read_text(encoding="utf-8"))
    raw["data"].update(positive_class=None, target="Grade")
    raw["data"]["segment_column"] = "Home"
    params = Params.model_validate(raw)
    names = ("roc_auc", "log_loss", "brier", "accuracy", "f1_macro")
    metrics = {
        "test": dict(zip(names, (0.9, 0.4, 0.3, 0.8, 0.7)), brier_skill=1 - 0.3 / 0.66),
        "cv": {f"{name}_{stat}": 0.5 for name in names for stat in ("mean", "std")},
        "baseline": dict(zip(names, (0.5, 1.1, 0.66, 0.4, 0.2)), brier_skill=0.0),
    }
    segments = {"column": "Home", "segments": [
        {"segment": "rent", "rows": 9, "roc_auc": 0.95, "log_loss": 0.3, "brier": 0.2, "accuracy": 0.9, "f1_macro": 0.85},
        {"segment": "own", "rows": 2, "roc_auc": None, "log_loss": 0.5, "brier": 0.4, "accuracy": 0.5, "f1_macro": None},
    ]}
    output = "probability of each class of Grade: a, b, c"
    card = model_card(params, METADATA | {"output": output}, metrics, [], segments, IMPORTANCE, LEADERBOARD)
    assert f"- **Output**: {output}" in card and "Decision threshold" not in card
    assert "| f1_macro | 0.7000 | 0.5000 | 0.5000 | 0.2000 |" in section(card, "Test split")
    assert "| brier_skill | 0.5455 |  |  | 0.0000 |" in section(card, "Test split")
    rows = section(card, "Segments by `Home`")
    assert rows[0] == "| segment | rows | roc_auc | log_loss | brier | accuracy | f1_macro |"
    assert rows[3] == "| own | 2 |  | 0.5000 | 0.4000 | 0.5000 |  |"


# --- which figures are unbiased and which chose the model ---

def params_with(**train) -> Params:
    raw = yaml.safe_load(REPO_PARAMS.read_text(encoding="utf-8"))
    raw["train"]["search"]["method"] = train.pop("search", "none")
    raw["train"].update(train)
    return Params.model_validate(raw)


def card_for(params: Params, metrics: dict = METRICS, metadata: dict = METADATA) -> str:
    return model_card(params, metadata, metrics, GATES, SEGMENTS, IMPORTANCE, LEADERBOARD)


NESTED = {"nested_cv": {"roc_auc_mean": 0.79, "roc_auc_std": 0.03, "average_precision_mean": 0.55, "average_precision_std": 0.04,
                        "log_loss_mean": 0.48, "log_loss_std": 0.02, "brier_mean": 0.16, "brier_std": 0.01}}


def test_auto_labels_the_cv_as_an_optimistic_selection_score_and_the_test_as_unbiased():
    rows = section(card_for(params_with(model="auto")), "Test split")
    assert rows[0] == "| metric | test | CV mean (selection score, optimistic) | CV std | baseline (dummy) |"
    assert "- **test**: unbiased; the test split chose nothing and fitted nothing." in rows
    cv = next(row for row in rows if row.startswith("- **CV**"))
    assert "selection score, optimistic: the leaderboard chose `random_forest` as the best of 6 families" in cv
    assert "Set evaluate.nested_cv: true" in cv


def test_a_searched_family_labels_the_cv_as_a_selection_score_of_the_search():
    rows = section(card_for(params_with(model="random_forest", search="grid")), "Test split")
    assert "(selection score, optimistic)" in rows[0]
    assert any(row.startswith("- **CV**: selection score, optimistic: train.search tuned `random_forest`") for row in rows)


def test_a_named_family_without_search_labels_the_cv_unbiased_and_the_leaderboard_as_not_choosing():
    card = card_for(params_with(model="random_forest"))
    rows = section(card, "Test split")
    assert rows[0] == "| metric | test | CV mean | CV std | baseline (dummy) |"
    assert "- **CV**: unbiased for this fixed family and hyperparameters: the pipeline chose nothing on these folds." in rows
    leaderboard = section(card, "Leaderboard")
    assert leaderboard[0] == "| rank | family | CV mean | CV std | test (reference only) |"
    assert leaderboard[-1].startswith("train.model names the family; the leaderboard did not choose it.")


def test_leaderboard_marks_its_cv_as_the_choice_and_its_test_column_as_reference_only():
    rows = section(card_for(params_with(model="auto")), "Leaderboard")
    assert rows[0] == "| rank | family | CV mean (used to choose) | CV std | test (reference only) |"
    assert rows[-1].startswith("The CV mean chose the family (train.model: auto), so the winner's CV is optimistic.")
    assert "The test column is for reference only" in rows[-1]


def test_nested_cv_columns_come_beside_the_test_and_are_labelled_unbiased():
    rows = section(card_for(params_with(model="auto"), METRICS | NESTED), "Test split")
    assert rows[0] == "| metric | test | nested CV mean | nested CV std | CV mean (selection score, optimistic) | CV std | baseline (dummy) |"
    assert "| roc_auc | 0.8300 | 0.7900 | 0.0300 | 0.8200 | 0.0200 | 0.5000 |" in rows
    assert "| accuracy | 0.7800 |  |  |  |  | 0.7200 |" in rows
    nested = next(row for row in rows if row.startswith("- **nested CV**"))
    assert "unbiased estimate of the whole procedure, the leaderboard's choice redone inside each outer fold" in nested
    assert "Set evaluate.nested_cv" not in "\n".join(rows)


def test_nested_cv_without_any_choice_says_it_equals_plain_cv():
    rows = section(card_for(params_with(model="random_forest"), METRICS | NESTED), "Test split")
    assert "- **nested CV**: equals plain CV, since nothing is chosen (train.model names the family, train.search is off)." in rows


@pytest.mark.parametrize("family", ["random_forest", "logistic_regression", "hist_gradient_boosting", "mlp"])
def test_families_without_a_calibrator_are_not_called_calibrated(params, family):
    first = section(card_for(params, metadata=METADATA | {"model_family": family}), "Limitations")[0]
    assert first.startswith(f"- Probabilities: `{family}`'s own predict_proba, not calibrated by the pipeline")
    assert CALIBRATION_PLOT in first and "Brier score (test 0.1400, dummy 0.2000)" in first


def test_linear_svm_is_called_calibrated_with_the_method_it_was_fitted_with(params):
    metadata = METADATA | {"model_family": "linear_svm", "hyperparameters": {"C": 0.1, "max_iter": 5000, "calibration": "isotonic"}}
    first = section(card_for(params, metadata=metadata), "Limitations")[0]
    assert first.startswith("- Probabilities: the linear SVM's margins are calibrated by CalibratedClassifierCV (isotonic, on internal folds")
    assert "calibrated on the training population" not in card_for(params)  # the old, untrue blanket claim


def test_a_leaderboard_screened_on_a_sample_says_so_above_its_table(params, card):
    sampled = LEADERBOARD | {"screened_on": {"rows": 100_000, "of": 800_000, "sample": "stratified by Status, seed 42"}}
    rows = section(model_card(params, METADATA, METRICS, GATES, SEGMENTS, IMPORTANCE, sampled), "Leaderboard")
    assert rows[0] == ("Screened on 100,000 of the 800,000 training rows (leaderboard.sample_rows; stratified by Status, seed 42); "
                       "the model was trained on all of them, and evaluate's cross-validation and threshold used the same sample.")
    assert rows[1:] == section(card, "Leaderboard")

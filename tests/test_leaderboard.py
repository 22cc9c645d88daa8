"""leaderboard: families ranked by their cross-validated primary metric, as JSON rows and a Markdown table.

Only families whose cross-validation succeeded are ranked; failed ones are listed apart.
"""
import math

import pytest

from tabular_mlops.errors import StageError
from tabular_mlops.models.leaderboard import failures, leaderboard, markdown, rank


def result(family: str, metric: str, mean: float, std: float = 0.01, test: float = 0.0) -> dict:
    return {"family": family, "cv": {f"{metric}_mean": mean, f"{metric}_std": std}, "test": {metric: test}}


def test_higher_roc_auc_ranks_first():
    results = [result("dummy", "roc_auc", 0.5), result("random_forest", "roc_auc", 0.83), result("logistic_regression", "roc_auc", 0.81)]
    ranking = rank(results, "roc_auc")
    assert [row["family"] for row in ranking] == ["random_forest", "logistic_regression", "dummy"]
    assert [row["rank"] for row in ranking] == [1, 2, 3]


def test_lower_rmse_ranks_first():
    results = [result("dummy", "rmse", 9.0), result("ridge", "rmse", 3.0), result("mlp", "rmse", 4.5)]
    assert [row["family"] for row in rank(results, "rmse")] == ["ridge", "mlp", "dummy"]


def test_a_tie_keeps_the_order_of_leaderboard_families():
    results = [result("mlp", "roc_auc", 0.8), result("logistic_regression", "roc_auc", 0.8), result("dummy", "roc_auc", 0.5)]
    assert [row["family"] for row in rank(results, "roc_auc")] == ["mlp", "logistic_regression", "dummy"]


def test_a_row_carries_the_cv_mean_std_and_test_score_of_the_metric():
    ranking = rank([result("ridge", "rmse", 3.0, std=0.2, test=3.3)], "rmse")
    assert ranking == [{"rank": 1, "family": "ridge", "cv_mean": 3.0, "cv_std": 0.2, "test": 3.3}]


def test_markdown_has_a_title_a_header_and_one_line_per_family_in_rank_order():
    ranking = rank([result("dummy", "roc_auc", 0.5, 0.0, 0.5), result("mlp", "roc_auc", 0.81234, 0.02, 0.79876)], "roc_auc")
    lines = markdown(ranking, "roc_auc", folds=5).splitlines()
    assert lines == [
        "# Leaderboard: 5-fold CV roc_auc on the training split",
        "",
        "| rank | family | CV roc_auc mean | CV roc_auc std | test roc_auc (reference only, not used to choose) |",
        "|---:|---|---:|---:|---:|",
        "| 1 | mlp | 0.8123 | 0.0200 | 0.7988 |",
        "| 2 | dummy | 0.5000 | 0.0000 | 0.5000 |",
    ]
    assert markdown(ranking, "roc_auc", folds=5).endswith("|\n")


def failed(family: str, reason: str) -> dict:
    return {"family": family, "status": "failed", "reason": reason}


@pytest.mark.parametrize("order", [(0, 1, 2), (1, 0, 2), (2, 1, 0), (1, 2, 0)])
def test_a_nan_cv_mean_is_never_ranked_whatever_its_position(order):
    means = [math.nan, 0.80, 0.85]
    results = [result(["mlp", "logistic_regression", "random_forest"][i], "roc_auc", means[i]) for i in order]
    ranking = rank(results, "roc_auc")
    assert [row["family"] for row in ranking] == ["random_forest", "logistic_regression"]
    assert failures(results, "roc_auc") == [{"family": "mlp", "reason": "CV roc_auc mean is not a number"}]


def test_a_failed_family_is_listed_apart_with_its_reason_and_never_best():
    results = [failed("mlp", "fold 2 gave NaN roc_auc (5-fold CV)"), result("dummy", "roc_auc", 0.5), result("logistic_regression", "roc_auc", 0.8)]
    table = leaderboard(results, "roc_auc", folds=5)
    assert table["best"] == "logistic_regression"
    assert [row["family"] for row in table["ranking"]] == ["logistic_regression", "dummy"]
    assert table["failed"] == [{"family": "mlp", "reason": "fold 2 gave NaN roc_auc (5-fold CV)"}]
    assert "reference only" in table["note"] and "not used to choose" in table["note"]


def test_every_family_failed_is_one_error_line_naming_each_with_its_reason():
    results = [failed("mlp", "ValueError: solver exploded"), result("dummy", "rmse", math.nan)]
    with pytest.raises(StageError) as error:
        leaderboard(results, "rmse", folds=5)
    message = str(error.value)
    assert "\n" not in message
    assert message == ("metrics/leaderboard: every family failed cross-validation, so there is nothing to rank"
                       " (mlp: ValueError: solver exploded; dummy: CV rmse mean is not a number)")


def test_markdown_lists_failed_families_below_the_ranking_with_their_reason():
    results = [failed("mlp", "ValueError: a|b"), result("dummy", "roc_auc", 0.5, 0.0, 0.5)]
    table = leaderboard(results, "roc_auc", folds=5)
    lines = markdown(table["ranking"], "roc_auc", 5, table["failed"]).splitlines()
    assert lines[4] == "| 1 | dummy | 0.5000 | 0.0000 | 0.5000 |"
    assert lines[5:] == ["", "## Failed, not ranked", "", "| family | reason |", "|---|---|", "| mlp | ValueError: a&#124;b |"]


def test_markdown_names_the_families_skipped_as_not_applicable_to_the_task():
    ranking = rank([result("ridge", "rmse", 3.0)], "rmse")
    text = markdown(ranking, "rmse", folds=5, skipped=["logistic_regression", "linear_svm"], task="regression")
    assert text.endswith("| 1 | ridge | 3.0000 | 0.0100 | 0.0000 |\n\nNot applicable to regression, so not ranked: logistic_regression, linear_svm.\n")
    assert "Not applicable" not in markdown(ranking, "rmse", folds=5)

"""evaluate: the decision threshold, permutation importance, metrics per segment, and the plots."""
import json
import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml
from dvclive import Live
from sklearn.linear_model import LinearRegression, LogisticRegression

from tabular_mlops.evaluation.diagnostics import importance, log_plots, round_plot_files, segments
from tabular_mlops.evaluation.operating_point import choose_threshold
from tabular_mlops.config.params import DataParams, ThresholdParams

# Out-of-fold probabilities of five training rows; the two positives score 0.4 and 0.8.
TARGET = pd.Series([0, 0, 0, 1, 1])
PROBABILITY = np.array([0.1, 0.3, 0.6, 0.4, 0.8])


def threshold_params(method: str, value: float = 0.5, false_positive: float = 1.0, false_negative: float = 1.0) -> ThresholdParams:
    return ThresholdParams(method=method, value=value, cost_false_positive=false_positive, cost_false_negative=false_negative)


# --- the threshold ---

def test_fixed_threshold_is_the_given_value():
    assert choose_threshold(TARGET, PROBABILITY, threshold_params("fixed", value=0.42)) == 0.42


def test_max_f1_threshold_keeps_both_positives_and_drops_two_negatives():
    # Above 0.30 and up to 0.40: TP 2, FP 1 (0.6), FN 0 -> F1 0.8, the best; the lowest such candidate is 0.31.
    assert choose_threshold(TARGET, PROBABILITY, threshold_params("max_f1")) == 0.31


def test_min_cost_threshold_goes_down_when_a_missed_positive_costs_more():
    # Missed positives cost 5: accept one false positive (cost 1) to catch both -> 0.31.
    expensive = choose_threshold(TARGET, PROBABILITY, threshold_params("min_cost", false_positive=1.0, false_negative=5.0))
    # Missed positives cost 0.1: miss the one at 0.4 rather than flag the negative at 0.6 -> 0.61.
    cheap = choose_threshold(TARGET, PROBABILITY, threshold_params("min_cost", false_positive=1.0, false_negative=0.1))
    assert (expensive, cheap) == (0.31, 0.61)


def test_min_cost_tie_takes_the_lowest_threshold():
    # Equal costs: one error above 0.30 (the negative at 0.6) and one above 0.60 (the positive at 0.4).
    assert choose_threshold(TARGET, PROBABILITY, threshold_params("min_cost")) == 0.31


def test_threshold_is_a_plain_float_for_the_metrics_file():
    assert type(choose_threshold(TARGET, PROBABILITY, threshold_params("max_f1"))) is float


# --- importance ---

@pytest.fixture(scope="module")
def signal_and_noise():
    rng = np.random.default_rng(0)
    inputs = pd.DataFrame({"noise": rng.normal(size=80), "signal": rng.normal(size=80)})
    return inputs, inputs["signal"] + 0.3 * rng.normal(size=80)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_importance_ranks_a_column_the_model_uses_above_pure_noise(signal_and_noise, task):
    inputs, value = signal_and_noise
    target = (value > 0).astype(int) if task == "classification" else value
    model = (LogisticRegression() if task == "classification" else LinearRegression()).fit(inputs, target)
    ranked = importance(task, model, inputs, target, repeats=3, seed=0, n_jobs=1)
    assert [row["column"] for row in ranked] == ["signal", "noise"]
    assert ranked[0]["importance"] > 0.1 > abs(ranked[1]["importance"])
    assert set(ranked[0]) == {"column", "importance", "std"}


# --- segments ---

def test_classification_segments_give_metrics_per_group_and_null_roc_auc_for_a_one_class_group():
    groups = pd.Series(["a", "a", "a", "a", "b", "b", None])
    target = pd.Series([0, 1, 0, 1, 0, 0, 1])
    prediction = np.array([0.2, 0.9, 0.3, 0.6, 0.1, 0.5, 0.7])
    rows = segments("classification", groups, target, prediction, threshold=0.5)
    assert [row["segment"] for row in rows] == ["(missing)", "a", "b"]
    a, b = rows[1], rows[2]
    assert a == {"segment": "a", "rows": 4, "positive_rate": 0.5, "roc_auc": 1.0, "brier": pytest.approx((0.04 + 0.01 + 0.09 + 0.16) / 4), "accuracy": 1.0}
    assert b == {"segment": "b", "rows": 2, "positive_rate": 0.0, "roc_auc": None, "brier": pytest.approx((0.01 + 0.25) / 2)}


def test_regression_segments_give_errors_per_group():
    groups = pd.Series(["x", "x", "y", "y", "z"])
    target = pd.Series([1.0, 2.0, 3.0, 5.0, 7.0])
    prediction = np.array([1.0, 3.0, 3.0, 5.0, 6.0])
    rows = segments("regression", groups, target, prediction, threshold=0.5)
    assert rows[0] == {"segment": "x", "rows": 2, "rmse": pytest.approx(np.sqrt(0.5)), "mae": 0.5, "r2": pytest.approx(-1.0)}
    assert rows[1]["rmse"] == 0.0 and rows[1]["r2"] == 1.0
    assert rows[2] == {"segment": "z", "rows": 1}  # one row: no spread to score against


def test_numeric_segment_values_are_labelled_as_text():
    rows = segments("regression", pd.Series([1.0, 1.0, 2.0, 2.0]), pd.Series([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 3.0, 4.0]), 0.5)
    assert [row["segment"] for row in rows] == ["1.0", "2.0"]


# --- plots ---

def test_regression_plots_are_predicted_vs_actual_and_residuals(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    params = SimpleNamespace(data=DataParams(path="t.csv", target="Price", task="regression", contract="c.yaml"))
    with Live("live", dvcyaml=None, save_dvc_exp=False, report=None) as live:
        log_plots(live, params, pd.Series([1.0, 2.0]), np.array([1.5, 1.0]), 0.5)
    written = sorted(path.name for path in (tmp_path / "live" / "plots" / "custom").iterdir())
    assert written == ["predicted_vs_actual.json", "residuals.json"]
    points = json.loads((tmp_path / "live" / "plots" / "custom" / "residuals.json").read_text())
    assert points == [{"actual": 1.0, "predicted": 1.5, "residual": -0.5}, {"actual": 2.0, "predicted": 1.0, "residual": 1.0}]


# --- multiclass ---

def test_multiclass_segments_give_metrics_per_group_and_null_where_a_group_lacks_a_class():
    groups = pd.Series(["a", "a", "a", "b", "b"])
    target = pd.Series(["x", "y", "z", "x", "y"])
    probabilities = pd.DataFrame([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.1, 0.2, 0.7], [0.3, 0.4, 0.3], [0.1, 0.8, 0.1]], columns=["x", "y", "z"])
    rows = segments("multiclass", groups, target, probabilities, threshold=0.5)
    a, b = rows
    assert a["rows"] == 3 and a["roc_auc"] == 1.0 and a["accuracy"] == 1.0 and a["f1_macro"] == 1.0
    assert a["log_loss"] == pytest.approx(-np.mean(np.log([0.6, 0.5, 0.7])), abs=1e-6)
    # Group b has no row of class z: one-vs-rest AUC and macro F1 are undefined; the rest are not.
    assert b["roc_auc"] is None and b["f1_macro"] is None and b["accuracy"] == 0.5
    assert b["brier"] == pytest.approx(((0.7**2 + 0.4**2 + 0.3**2) + (0.1**2 + 0.2**2 + 0.1**2)) / 2, abs=1e-6)


def test_multiclass_importance_uses_one_vs_rest_roc_auc(signal_and_noise):
    inputs, value = signal_and_noise
    target = pd.Series(np.select([value < -0.5, value > 0.5], ["low", "high"], "mid"))
    model = LogisticRegression().fit(inputs, target)
    ranked = importance("multiclass", model, inputs, target, repeats=3, seed=0, n_jobs=1)
    assert [row["column"] for row in ranked] == ["signal", "noise"] and ranked[0]["importance"] > 0.1


def test_multiclass_plot_is_one_confusion_matrix_over_every_class_at_the_most_probable_class(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    params = SimpleNamespace(data=DataParams(path="t.csv", target="Grade", task="classification", contract="c.yaml"))
    probabilities = pd.DataFrame([[0.6, 0.3, 0.1], [0.5, 0.4, 0.1], [0.1, 0.2, 0.7]], columns=["x", "y", "z"])
    with Live("live", dvcyaml=None, save_dvc_exp=False, report=None) as live:
        log_plots(live, params, pd.Series(["x", "y", "z"]), probabilities, 0.5)
    assert sorted(path.name for path in (tmp_path / "live" / "plots" / "sklearn").iterdir()) == ["confusion_matrix.json"]
    rows = json.loads((tmp_path / "live" / "plots" / "sklearn" / "confusion_matrix.json").read_text())
    assert rows == [{"actual": "x", "predicted": "x"}, {"actual": "y", "predicted": "x"}, {"actual": "z", "predicted": "z"}]


# --- nested cross-validation, end to end ---

@pytest.mark.slow
def test_dvc_repro_with_nested_cv_writes_the_section_the_choices_and_gates_on_it(small_repo_copy):
    from tabular_mlops.reporting.figures import read_figures
    from tests.dvc_repo import dvc, ran_stages, update_params

    repo = small_repo_copy  # 600 rows, the leaderboard of logistic regression and dummy, train.model: auto

    def configure(params):
        params["evaluate"]["nested_cv"] = True
        params["gates"] = [{"metric": "nested_cv.roc_auc_mean", "min": 0.6}]

    update_params(repo, configure)
    result = dvc(repo, "repro")
    assert result.returncode == 0, result.output
    # Only the nested_cv stage reads evaluate.nested_cv, and only the gate its figures. The bundle
    # reads the gates, but its manifest holds only the test metrics, which did not change, so nothing
    # after it reruns but compare, which reads the gates (a challenger must pass them).
    assert ran_stages(result.output) == {"nested_cv", "gate", "bundle", "compare"}
    metrics = read_figures(lambda path: (repo / path).read_text())
    choices = json.loads((repo / "metrics/nested_cv/folds.json").read_text())
    assert list(metrics)[:3] == ["test", "cv", "nested_cv"]
    assert choices["selection"] == "leaderboard" and [fold["selected"] for fold in choices["folds"]] == ["logistic_regression"] * 5
    # Every outer fold chose the leaderboard's winner, on evaluate's own folds: nested CV equals plain CV.
    assert metrics["nested_cv"]["roc_auc_mean"] == pytest.approx(metrics["cv"]["roc_auc_mean"], abs=1e-6)
    gates = json.loads((repo / "metrics/gates.json").read_text())
    assert gates["gates"][0]["metric"] == "nested_cv.roc_auc_mean" and gates["passed"]
    assert "- **nested CV**: unbiased estimate of the whole procedure" in (repo / "metrics/model_card.md").read_text()


def test_classification_plot_data_is_rounded_to_six_decimals_like_the_metrics(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    params = SimpleNamespace(data=DataParams(path="t.csv", target="Status", task="classification", positive_class="bad", contract="c.yaml"))
    target = pd.Series([0, 0, 1, 1, 0, 1])
    prediction = np.array([0.1234567891234, 0.3, 0.2999999999, 0.8765432198765, 1 / 3, 2 / 3])
    with Live("live", dvcyaml=None, save_dvc_exp=False, report=None) as live:
        log_plots(live, params, target, prediction, 0.5)
    round_plot_files("live/plots")
    roc = json.loads((tmp_path / "live/plots/sklearn/roc.json").read_text())["roc"]
    # the thresholds are the predictions; the first is +inf (sklearn's "nothing positive" point)
    assert [point["threshold"] for point in roc][1:] == [0.876543, 0.666667, 0.3, 0.3, 0.123457]
    assert roc[0]["threshold"] == float("inf")
    for name in ("roc", "precision_recall", "calibration"):
        text = (tmp_path / f"live/plots/sklearn/{name}.json").read_text()
        numbers = [float(token) for token in text.replace(",", " ").split() if token[0].isdigit()]
        assert numbers and all(round(number, 6) == number for number in numbers), name
        assert text.startswith("{\n    \"") and text.endswith("}\n")  # dvclive's layout, kept


def test_plot_rounding_keeps_text_and_turns_minus_zero_into_zero(tmp_path):
    (tmp_path / "custom").mkdir()
    (tmp_path / "custom/points.json").write_text(json.dumps([{"column": "Age", "x": -1e-12, "y": 2.00000049, "n": 3}]))
    round_plot_files(tmp_path)
    assert (tmp_path / "custom/points.json").read_text() == (
        '[\n    {\n        "column": "Age",\n        "x": 0.0,\n        "y": 2.0,\n        "n": 3\n    }\n]\n')


@pytest.mark.parametrize("task, declared", [
    ("regression", {"plots/custom/predicted_vs_actual.json": ("scatter", "actual", "predicted"),
                    "plots/custom/residuals.json": ("scatter", "predicted", "residual")}),
    ("classification", {"plots/sklearn/roc.json": ("simple", "fpr", "tpr"),
                        "plots/sklearn/precision_recall.json": ("simple", "recall", "precision"),
                        "plots/sklearn/calibration.json": ("simple", "prob_pred", "prob_true"),
                        "plots/sklearn/confusion_matrix.json": ("confusion", "actual", "predicted")}),
])
def test_the_dvc_yaml_dvclive_writes_declares_only_the_tasks_plots_each_with_its_data(tmp_path, monkeypatch, task, declared):
    """`dvc plots show` reads it: a plot of the other task would be drawn empty, with a warning."""
    monkeypatch.chdir(tmp_path)
    data = {"task": task, "positive_class": "bad" if task == "classification" else None}
    params = SimpleNamespace(data=DataParams(path="t.csv", target="y", contract="c.yaml", **data))
    target = pd.Series([0, 1, 0, 1, 1, 0])
    with Live("live", dvcyaml="live/dvc.yaml", save_dvc_exp=False, report=None) as live:
        log_plots(live, params, target, np.array([0.1, 0.8, 0.3, 0.6, 0.9, 0.4]), 0.5)
    plots = [next(iter(entry.items())) for entry in yaml.safe_load((tmp_path / "live/dvc.yaml").read_text())["plots"]]
    assert {path: (props["template"], props["x"], props["y"]) for path, props in plots} == declared
    assert all(props["title"].endswith("test split") for _, props in plots)
    assert all((tmp_path / "live" / path).is_file() for path, _ in plots)


def test_a_segment_below_min_rows_is_reported_as_too_few_rows_without_figures():
    groups = pd.Series(["a"] * 40 + ["b"] * 5)
    target = pd.Series([0, 1] * 20 + [0, 1, 0, 1, 1])
    prediction = np.linspace(0.1, 0.9, 45)
    rows = {row["segment"]: row for row in segments("classification", groups, target, prediction, threshold=0.5, min_rows=30)}
    assert rows["b"] == {"segment": "b", "rows": 5, "status": "too few rows"}
    assert rows["a"]["rows"] == 40 and rows["a"]["roc_auc"] is not None and "status" not in rows["a"]


def test_write_live_writes_the_bytes_dvclives_own_live_writes_inside_a_dvc_repository(tmp_path, monkeypatch):
    """write_plots skips Live's look at the repository (a second a run); the files must not change."""
    import subprocess

    from tabular_mlops.evaluation import live, report
    from tabular_mlops.evaluation.explanations import write_explanation_plots
    from tests.dvc_repo import init_git_repo

    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    init_git_repo(tmp_path)
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=tmp_path, check=True, capture_output=True)
    subprocess.run(["git", "commit", "-qam", "dvc init"], cwd=tmp_path, check=True, capture_output=True)
    monkeypatch.chdir(tmp_path)
    params = SimpleNamespace(data=DataParams(path="t.csv", target="y", task="classification", positive_class="bad", contract="c.yaml"))
    target = pd.Series([0, 1, 0, 1, 1, 0])
    evaluation = SimpleNamespace(sections={"test": {"roc_auc": 0.8123456789}}, threshold=0.5,
                                 prediction=np.array([0.1, 0.8, 0.3, 0.6, 0.9, 0.4]),
                                 curve=[{"threshold": 0.1, "model": 0.4, "treat_all": 0.44, "treat_none": 0.0}])
    importance = [{"column": "Age", "importance": 0.01}]
    explanations = {"output_space": "log_odds", "columns": [{"column": "Age", "mean_abs_contribution": 0.2}]}

    def written(folder: str) -> dict[str, bytes]:
        report.write_live(f"{folder}/live", f"{folder}/live/dvc.yaml", params, evaluation, target)
        write_explanation_plots(f"{folder}/explain", f"{folder}/explain/dvc.yaml", importance, explanations)
        return {path.relative_to(tmp_path / folder).as_posix(): path.read_bytes()
                for path in sorted((tmp_path / folder).rglob("*")) if path.is_file()}

    ours = written("ours")
    monkeypatch.setattr(live, "_PipelineLive", Live)
    dvclives = written("dvclive")
    assert {"live/dvc.yaml", "live/plots/sklearn/roc.json", "live/plots/custom/decision_curve.json", "explain/dvc.yaml",
            "explain/plots/custom/explanations.json"} <= set(ours)
    assert ours == dvclives
    # no metric through dvclive: its dvc.yaml would make metrics.json a DVC metric (`dvc metrics show` lists the headline)
    assert "metrics" not in yaml.safe_load(ours["live/dvc.yaml"]) and "live/metrics.json" not in ours


def test_metrics_json_keeps_the_bytes_dvclive_wrote_when_it_logged_the_metrics(tmp_path, monkeypatch):
    from tabular_mlops.evaluation.report import evaluation_metrics, write_metrics

    monkeypatch.chdir(tmp_path)
    params = SimpleNamespace(data=DataParams(path="t.csv", target="y", task="classification", positive_class="bad", contract="c.yaml"))
    sections = {"test": {"roc_auc": 0.8123456789, "f1": 0.5}, "cv": {"roc_auc_mean": 0.81, "roc_auc_std": 0.0123456789},
                "baseline": {"roc_auc": 0.5, "f1": 0.0}, "over_baseline": {"roc_auc": 0.3123456789, "f1": 0.5}}
    # How evaluate logged them through dvclive, by hand: each section's figures rounded to 6 digits, then the threshold.
    with Live("live", dvcyaml=None, save_dvc_exp=False, report=None) as live:
        for section, figures in sections.items():
            for name, value in figures.items():
                live.log_metric(f"{section}/{name}", round(value, 6), plot=False)
        live.log_metric("threshold", 0.29, plot=False)
    write_metrics("ours.json", evaluation_metrics(params, SimpleNamespace(sections=sections, threshold=0.29)))
    assert (tmp_path / "ours.json").read_bytes() == (tmp_path / "live/metrics.json").read_bytes()

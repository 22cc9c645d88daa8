"""sweep: experiments ranked by a cross-validated metric, in the right direction for every metric;
never choosing (`--apply-best`) on the test split. Runs without dvc: `dvc exp show --csv` text is given."""
from pathlib import Path

import pytest
import yaml

from tabular_mlops import cli
from tabular_mlops.errors import StageError
from tabular_mlops.experiments import sweep
from tabular_mlops.experiments.sweep import chosen_metric, parse_ranking
from tabular_mlops.metrics import gate_metric_names
from tabular_mlops.reporting.headline import headline_column

REPO_PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"

# Written out by hand, not read from tabular_mlops.metrics.
HIGHER_IS_BETTER = {"roc_auc", "average_precision", "accuracy", "f1", "r2", "brier_skill"}
LOWER_IS_BETTER = {"log_loss", "brier", "rmse", "mae"}


def exp_show_column(metric: str) -> str:
    """Where `dvc exp show` lists a metric, written out by hand: one headline file per figure under
    metrics/evaluation/, its key the section (`cv` for the CV mean); a fairness gap's key is `test`."""
    section, _, name = metric.partition(".")
    if section in ("fairness", "operating_point"):  # a gap, or a binary rate at the threshold: measured on the test split
        return f"metrics/evaluation/{name}.json:test"
    return f"metrics/evaluation/{name.removesuffix('_mean')}.json:{section}"


def show_csv(metric: str, values: dict[str, str]) -> str:
    """A cut-down `dvc exp show --csv`: the workspace and baseline rows, then the experiments,
    with the metric's column between two others."""
    column = exp_show_column(metric)
    lines = [f"Experiment,rev,typ,metrics/evaluation/other.json:test,{column},passed", ",workspace,baseline,0.5,0.99,True",
             ",main,baseline,0.5,0.99,True"]
    lines += [f"{name},abc123,branch_commit,0.5,{value},True" for name, value in values.items()]
    return "\n".join(lines) + "\n"


def expected_higher_is_better(reported: str) -> bool:
    """The rule, independently: over_baseline.* is an improvement (higher), a spread *_std is
    lower-is-better, test.* and cv.*_mean go the way of the metric itself."""
    section, _, name = reported.partition(".")
    if section in ("over_baseline", "operating_point"):  # an improvement; a rate of the operating point
        return True
    if name.endswith("_std"):
        return False
    name = name.removesuffix("_mean")
    assert name in HIGHER_IS_BETTER | LOWER_IS_BETTER, name
    return name in HIGHER_IS_BETTER


@pytest.mark.parametrize("metric, higher", [
    ("test.roc_auc", True), ("test.brier", False), ("cv.roc_auc_mean", True), ("fairness.Age.demographic_parity_ratio", True),
    ("cv.rmse_mean", False), ("test.r2", True), ("over_baseline.rmse", True), ("over_baseline.log_loss", True),
    ("test.brier_skill", True), ("over_baseline.brier_skill", True),
])
def test_a_few_metrics_rank_in_the_direction_written_by_hand(metric, higher):
    ranked = parse_ranking(show_csv(metric, {"low": "0.3", "high": "0.7"}), ["low", "high"], metric)
    assert [name for name, _ in ranked] == (["high", "low"] if higher else ["low", "high"])


# What `dvc exp show` lists and has a better direction: the calibration's ideal is in the middle.
LISTED = [name for name in gate_metric_names("classification") + gate_metric_names("regression")
          if headline_column(name) is not None and not name.startswith("calibration.")]


@pytest.mark.parametrize("metric", LISTED)
def test_every_gate_metric_that_dvc_exp_show_lists_ranks_the_better_value_first(metric):
    values = {"sweep-1": "0.42", "sweep-2": "0.61", "sweep-3": "0.50", "sweep-4": "-", "other": "0.99"}
    ranked = parse_ranking(show_csv(metric, values), ["sweep-1", "sweep-2", "sweep-3", "sweep-4"], metric)
    best_first = [0.61, 0.50, 0.42] if expected_higher_is_better(metric) else [0.42, 0.50, 0.61]
    assert [value for _, value in ranked] == best_first  # no value ("-") and experiments not asked for are left out


def test_a_metric_qualified_with_its_file_is_found():
    text = show_csv("cv.rmse_mean", {"a": "3.5", "b": "2.5"})
    assert parse_ranking(text, ["a", "b"], "metrics/evaluate/metrics.json:cv.rmse_mean") == [("b", 2.5), ("a", 3.5)]


@pytest.mark.parametrize("metric", ["cv.roc_auc_std", "baseline.roc_auc"])
def test_a_figure_that_only_the_detail_files_hold_is_refused_before_anything_runs(metric):
    with pytest.raises(StageError, match=rf"--metric '{metric}': `dvc exp show` does not list it"):
        chosen_metric(metric, apply_best=False, task="classification")


def test_a_metric_that_is_not_a_column_is_refused():
    with pytest.raises(StageError, match=r"--metric 'cv.mae_mean' is not a column of `dvc exp show`"):
        parse_ranking(show_csv("cv.rmse_mean", {"a": "3.5"}), ["a"], "cv.mae_mean")


@pytest.mark.parametrize("task, metric", [("classification", "cv.roc_auc_mean"), ("regression", "cv.rmse_mean")])
def test_the_default_metric_is_the_tasks_cross_validated_primary_metric_read_from_params(tmp_path, monkeypatch, task, metric):
    raw = yaml.safe_load(REPO_PARAMS.read_text(encoding="utf-8"))
    if task == "regression":
        raw["data"].update(task="regression", positive_class=None)
        raw["train"]["model"] = "ridge"
        raw["leaderboard"]["families"] = ["ridge", "dummy"]
        raw["gates"] = []
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert chosen_metric(None, apply_best=True) == metric


def test_a_named_cv_metric_is_kept_with_apply_best():
    assert chosen_metric("cv.brier_mean", apply_best=True, task="classification") == "cv.brier_mean"


@pytest.mark.parametrize("metric, instead", [
    ("test.roc_auc", "cv.roc_auc_mean"), ("test.rmse", "cv.rmse_mean"), ("over_baseline.brier", "cv.brier_mean"),
    ("metrics/evaluate/metrics.json:test.log_loss", "cv.log_loss_mean"), ("test.accuracy", "cv.roc_auc_mean"),
])
def test_apply_best_on_a_test_split_metric_is_refused_naming_the_cv_metric_to_use(metric, instead):
    with pytest.raises(StageError) as error:
        chosen_metric(metric, apply_best=True, task="classification")
    assert str(error.value) == (f"--apply-best with --metric {metric} would choose on the test split"
                                f" and make its test score optimistic; rank by {instead} instead")


def test_ranking_by_a_test_metric_without_apply_best_is_allowed_for_a_look():
    assert chosen_metric("test.roc_auc", apply_best=False, task="classification") == "test.roc_auc"


def test_an_unknown_metric_is_refused_listing_the_metrics():
    with pytest.raises(StageError, match=r"--metric 'cv.auc_mean' is not a metric; choose one of test.rmse, .*cv.rmse_mean"):
        chosen_metric("cv.auc_mean", apply_best=False, task="regression")


def test_the_command_refuses_apply_best_on_test_in_one_line_exit_2_before_queuing_anything(monkeypatch, capsys):
    def no_dvc(*arguments, **options):
        raise AssertionError(f"dvc was called: {arguments}")

    monkeypatch.setattr(sweep, "dvc", no_dvc)
    monkeypatch.setattr(sweep, "start_workers", no_dvc)
    code = cli.main(["sweep", "-S", "seed=1,2", "--metric", "test.roc_auc", "--apply-best"])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert captured.err == ("error: --apply-best with --metric test.roc_auc would choose on the test split"
                            " and make its test score optimistic; rank by cv.roc_auc_mean instead\n")


def test_a_calibration_figure_is_refused_as_a_ranking_saying_why():
    with pytest.raises(StageError, match=r"--metric 'calibration.slope': the calibration's ideal is in the middle"):
        chosen_metric("calibration.slope", apply_best=False, task="classification")

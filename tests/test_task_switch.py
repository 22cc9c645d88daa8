"""Another table, even another task, needs no edit beyond data.* and the contract; a yes/no label
is read as the label. Through the real DVC, in one temporary repository:

1. a yes/no labelled table (scikit-learn's bundled breast-cancer data, 569 rows, 30 measurements,
   target `malignant`) through the README's bring-your-own-table flow (drafted contract,
   `dvc add`), run by `dvc exp run -S data.positive_class=yes`: DVC writes `positive_class: yes` back unquoted,
   which YAML 1.1 alone would read as a boolean.
2. scikit-learn's bundled diabetes table, regression: only data.* changes, the contract is
   redrafted with `tabular-mlops contract --force`, then `dvc repro`.
3. `dvc plots diff` between the two commits.

4. `tabular-mlops sweep` of two regressors, ranked by CV RMSE (lower first), the best applied.

The gates are the repository's defaults. The leaderboard lists logistic regression and every
regressor, set once before both runs: the same list serves both tasks, as the repository's full
list does (tests/test_params.py checks that it names every family of both tasks), so the
diabetes run cross-validates every regression family through the real pipeline. Model sizes and
fold counts are lightened, to stay quick; data.segment_column is null for the tumours and `sex`
for the diabetes table (a data.* key).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.metrics import r2_score, roc_auc_score

from tabular_mlops.compiled.compile import BOUND
from tabular_mlops.config.train_params import REGRESSORS as ALL_REGRESSORS
from tabular_mlops.families.registry import BY_NAME
from tests import service as svc
from tests.dvc_repo import DvcResult, commit, copy_project, draft_contract, dvc, init_git_repo, update_params
from tests.test_families import ranked, sweep
from tests.test_plots_offline import html_id, parse_html, plot_divs

ROOT = Path(__file__).resolve().parents[1]
YES_NO_TABLE = "data/raw/tumours.csv"
DIABETES_TABLE = "data/raw/diabetes.csv"
CLASSIFICATION_PLOTS = {f"metrics/evaluate/plots/sklearn/{name}.json" for name in ("roc", "precision_recall", "calibration", "confusion_matrix")} \
    | {"metrics/evaluate/plots/custom/decision_curve.json"}  # binary classification's decision curve
REGRESSION_PLOTS = {f"metrics/evaluate/plots/custom/{name}.json" for name in ("predicted_vs_actual", "residuals")}
IMPORTANCE_PLOT = "metrics/explain/plots/custom/importance.json"
EXPLANATIONS_PLOT = "metrics/explain/plots/custom/explanations.json"  # SHAP, both tasks

pytestmark = pytest.mark.slow


@dataclass
class Run:
    """What one commit's pipeline wrote, read before the next commit replaced it."""

    params_text: str
    metrics: dict
    model: dict
    leaderboard: dict
    gates: dict
    plots_show: DvcResult
    plot_ids: set[str]
    checked_metric: float  # the same metric, computed by scikit-learn from the saved model
    segments: dict
    contract: dict  # the drafted contract (the first table only)
    status: dict  # `dvc status --json` right after the run (the first table only)


def succeeded(result: DvcResult) -> DvcResult:
    assert result.returncode == 0, result.output
    return result


REGRESSORS = [family for family in ALL_REGRESSORS if not BY_NAME[family].requires]  # the optional extras: tests/test_lightgbm.py
FAMILIES = ["logistic_regression", *REGRESSORS]  # random_forest, hist_gradient_boosting, mlp and dummy do both tasks
CLASSIFIERS_LISTED = ["logistic_regression", "random_forest", "hist_gradient_boosting", "mlp", "dummy"]


def lighten(params: dict) -> None:
    """Fewer families, smaller models, fewer folds; the gates stay the repository's."""
    params["leaderboard"]["families"] = FAMILIES
    params["train"]["random_forest"].update(n_estimators=10, n_jobs=1)
    params["train"]["hist_gradient_boosting"]["max_iter"] = 10
    params["train"]["mlp"]["max_iter"] = 100
    params["leaderboard"]["cv_folds"] = 3
    params["evaluate"].update(cv_folds=3, importance_repeats=1)


def redraft_contract(repo: Path) -> None:
    drafted = draft_contract(repo, "--force")
    assert drafted.returncode == 0, drafted.stderr


def plots_page_ids(repo: Path, tmp: Path, *revisions: str) -> tuple[DvcResult, set[str]]:
    """`dvc plots show` (or `dvc plots diff REV...`): its output and the plots its page holds."""
    command = ("plots", "diff", *revisions) if revisions else ("plots", "show")
    result = succeeded(dvc(repo, *command, "-o", str(tmp)))
    return result, {div.attrs["id"] for div in plot_divs(parse_html((tmp / "index.html").read_text(encoding="utf-8")))}


def read_run(repo: Path, tmp: Path, checked_metric: float, contract: dict, status: dict) -> Run:
    def read(path: str):
        return json.loads((repo / path).read_text())

    shown, ids = plots_page_ids(repo, tmp)
    return Run((repo / "params.yaml").read_text(), read("metrics/evaluate/metrics.json"), read("models/model.json"),
               read("metrics/leaderboard.json"), read("metrics/gates.json"), shown, ids, checked_metric,
               read("metrics/fairness/segments.json"), contract, status)


def test_inputs_and_target(repo: Path, target: str) -> tuple[pd.DataFrame, pd.Series]:
    test = pd.read_parquet(repo / "data/prepared/test.parquet")
    return test.drop(columns=[target]), test[target]


test_inputs_and_target.__test__ = False  # a helper, not a test


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run, Run]:
    repo = tmp_path_factory.mktemp("task_switch") / "repo"
    copy_project(ROOT, repo)

    # 1. A yes/no target. The params start at another valid label; `dvc exp run -S` sets yes.
    bunch = load_breast_cancer(as_frame=True)
    table = bunch.data.copy()  # 569 rows, 30 measurements
    table.insert(0, "id", range(842_301, 842_301 + len(table)))
    table["malignant"] = bunch.target.map({0: "yes", 1: "no"})  # sklearn: 0 malignant, 1 benign

    def yes_no_table(params: dict) -> None:
        params["data"].update(path=YES_NO_TABLE, target="malignant", task="classification", positive_class="no", drop_columns=["id"],
                              segment_column=None)
        lighten(params)

    update_params(repo, yes_no_table)
    init_git_repo(repo)
    # The README's flow: the table beside the project, a drafted contract, `dvc add`, commit.
    table.to_csv(repo / YES_NO_TABLE, index=False)
    redraft_contract(repo)
    contract = yaml.safe_load((repo / "data/contract.yaml").read_text())
    succeeded(dvc(repo, "add", YES_NO_TABLE))
    commit(repo, "yes/no table, its contract and params")
    succeeded(dvc(repo, "exp", "run", "-S", "data.positive_class=yes"))
    status = json.loads(succeeded(dvc(repo, "status", "--json")).stdout)
    model = joblib.load(repo / "models/model.joblib")
    inputs, target = test_inputs_and_target(repo, "malignant")
    sklearn_roc_auc = roc_auc_score(target == "yes", model.predict_proba(inputs)[:, 1])
    classification = read_run(repo, tmp_path_factory.mktemp("plots_classification"), sklearn_roc_auc, contract, status)
    commit(repo, "yes/no table, positive_class yes")

    # 2. Regression on another table: only data.* changes, and the contract is redrafted.
    diabetes = load_diabetes(as_frame=True, scaled=False).frame.rename(columns={"target": "progression"})
    diabetes.to_csv(repo / DIABETES_TABLE, index=False)
    (repo / "params.yaml").write_text(re.sub(  # as a user edits it: the rest of the file stays as it is
        r"^data:\n(  .*\n)+",
        f"data:\n  path: {DIABETES_TABLE}\n  target: progression\n  task: regression\n  positive_class: null\n"
        f"  drop_columns: []\n  contract: data/contract.yaml\n  segment_column: sex\n",
        classification.params_text, count=1, flags=re.MULTILINE))
    redraft_contract(repo)
    commit(repo, "diabetes table, regression")
    succeeded(dvc(repo, "repro"))
    model = joblib.load(repo / "models/model.joblib")
    inputs, target = test_inputs_and_target(repo, "progression")
    regression = read_run(repo, tmp_path_factory.mktemp("plots_regression"), r2_score(target, model.predict(inputs)), {}, {})
    commit(repo, "diabetes results")
    return repo, classification, regression


def test_dvc_exp_run_writes_yes_unquoted_and_the_pipeline_takes_it_as_the_label(runs) -> None:
    _, classification, _ = runs
    assert re.search(r"^  positive_class: yes$", classification.params_text, re.MULTILINE), classification.params_text
    assert yaml.safe_load(classification.params_text)["data"]["positive_class"] is True  # what YAML 1.1 alone reads
    assert classification.model["positive_class"] == "yes"
    assert classification.model["output"] == "probability that malignant == 'yes'"
    assert "id" not in classification.model["input_columns"]
    assert classification.metrics["test"]["roc_auc"] == pytest.approx(classification.checked_metric, abs=1e-6)
    assert classification.metrics["test"]["roc_auc"] > 0.95  # yes really is the positive class


def test_bring_your_own_table_drafts_its_contract_and_leaves_dvc_status_clean(runs) -> None:
    # As the README's bring-your-own-table section: a drafted contract, `dvc add`, a run, nothing stale.
    _, classification, _ = runs
    contract = classification.contract
    assert contract["target"] == "malignant" and len(contract["columns"]) == 32
    assert contract["columns"]["malignant"]["categories"] == ["no", "yes"]
    assert contract["columns"]["id"]["type"] == "integer"
    assert contract["columns"]["mean radius"] == {"type": "float", "nullable": False, "min": 0.0}
    assert len(classification.model["input_columns"]) == 30 and "id" not in classification.model["input_columns"]
    assert classification.status == {}


def test_switching_to_regression_changed_no_params_but_data(runs) -> None:
    _, classification, regression = runs
    before, after = yaml.safe_load(classification.params_text), yaml.safe_load(regression.params_text)
    assert {key for key in before if before[key] != after[key]} == {"data"}
    assert after["gates"] == yaml.safe_load((ROOT / "params.yaml").read_text())["gates"]  # the shipped defaults
    assert after["train"]["model"] == "auto"


def test_each_task_ranks_its_own_families_from_the_one_list_and_skips_the_other(runs) -> None:
    _, classification, regression = runs
    assert sorted(row["family"] for row in classification.leaderboard["ranking"]) == sorted(CLASSIFIERS_LISTED)
    assert classification.leaderboard["not_applicable"] == ["linear_regression", "ridge"]
    assert sorted(row["family"] for row in regression.leaderboard["ranking"]) == sorted(REGRESSORS)  # every regressor ran
    assert regression.leaderboard["not_applicable"] == ["logistic_regression"]
    for run in (classification, regression):
        assert run.model["model_family"] == run.leaderboard["best"] == run.leaderboard["ranking"][0]["family"] != "dummy"


def test_regression_writes_regression_metrics_checked_by_scikit_learn(runs) -> None:
    _, _, regression = runs
    assert set(regression.metrics["test"]) == {"rmse", "mae", "r2"}
    assert regression.metrics["test"]["r2"] == pytest.approx(regression.checked_metric, abs=1e-6)
    assert regression.model["task"] == "regression" and regression.model["output"] == "predicted progression"
    assert regression.metrics["over_baseline"]["rmse"] > 0
    assert regression.segments["column"] == "sex" and sum(row["rows"] for row in regression.segments["segments"]) > 0


def test_regression_is_held_to_the_default_regression_gates_and_ranks_only_regressors(runs) -> None:
    _, _, regression = runs
    defaults = yaml.safe_load((ROOT / "params.yaml").read_text())["gates"]["regression"]
    assert [(gate["metric"], gate["min"], gate["max"]) for gate in regression.gates["gates"]] == [
        (gate["metric"], gate.get("min"), gate.get("max")) for gate in defaults]
    assert regression.gates["passed"]
    assert regression.leaderboard["metric"] == "rmse"


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_dvc_plots_show_draws_only_the_tasks_plots_without_a_warning(runs, task) -> None:
    _, classification, regression = runs
    run, expected = (classification, CLASSIFICATION_PLOTS) if task == "classification" else (regression, REGRESSION_PLOTS)
    assert "WARNING" not in run.plots_show.output and "failed to load" not in run.plots_show.output, run.plots_show.output
    assert run.plot_ids == {html_id(path) for path in expected | {IMPORTANCE_PLOT, EXPLANATIONS_PLOT}}


def test_dvc_plots_diff_across_the_task_switch_shows_both_tasks_plots_without_a_warning(runs, tmp_path) -> None:
    repo, _, _ = runs
    result, ids = plots_page_ids(repo, tmp_path, "HEAD~2", "HEAD")  # yes/no results, regression results
    assert "WARNING" not in result.output and "failed to load" not in result.output, result.output
    assert ids == {html_id(path) for path in CLASSIFICATION_PLOTS | REGRESSION_PLOTS | {IMPORTANCE_PLOT, EXPLANATIONS_PLOT}}


@pytest.mark.parametrize("path", svc.RUNTIMES)
def test_the_service_answers_the_regressors_values_on_either_path(runs, tmp_path: Path, path: str) -> None:
    repo, _, regression = runs  # the workspace holds the diabetes run until the sweep below
    bundle = repo / "models/bundle"
    inputs, _ = test_inputs_and_target(repo, "progression")
    records = svc.json_records(inputs, bundle)
    one, batch = svc.answers_on(path, bundle, repo / "params.yaml", tmp_path / "serve", records)
    model = joblib.load(repo / "models/model.joblib")
    assert json.loads((bundle / "manifest.json").read_text())["model"]["model_family"] == regression.model["model_family"]
    # The pipeline's own predict on the same rows in the same batches: the same bits on its own
    # path; on the compiled model's, within the bound relative to max(1, |value|), as verified at bundle time.
    for answers, expected in (([one], model.predict(inputs.head(1))), (batch, model.predict(inputs))):
        served = np.array([answer["prediction"] for answer in answers])
        relative = np.abs(served - expected) / np.maximum(1.0, np.abs(expected))
        assert np.max(relative) <= (0 if path == "scikit-learn" else BOUND)


SWEPT_REGRESSORS = ("linear_regression", "ridge")


def test_sweep_of_regression_families_ranks_them_by_cv_rmse_and_applies_the_best(runs) -> None:
    # Last in the module: it changes the repository's workspace (the best is applied).
    repo, _, _ = runs
    families = ",".join(SWEPT_REGRESSORS)
    # Chosen on cross-validation: `--metric test.rmse --apply-best` is refused (it would spend the test split).
    result = sweep(repo, "-S", f"train.model={families}", "-j", "2", "--metric", "cv.rmse_mean", "--prefix", "reg", "--apply-best")
    assert result.returncode == 0, result.stdout + result.stderr
    ranking = ranked(result.stdout)
    assert len(ranking) == len(SWEPT_REGRESSORS)
    values = [value for _, value in ranking]
    assert values == sorted(values) and values[0] < values[1]  # lower RMSE is better
    best_family = SWEPT_REGRESSORS[int(ranking[0][0].rsplit("-", 1)[1]) - 1]
    assert json.loads((repo / "models/model.json").read_text())["model_family"] == best_family

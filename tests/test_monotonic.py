"""train.monotonic: a direction per numeric input column, enforced by the families that can, refused
for those that cannot, and checked on the fitted model by an independent sweep of each column.

The table: the probability of the positive class rises with `x`; `z` is noise and `c` a category.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tabular_mlops.config.params import Gate, Params, load_params
from tabular_mlops.data.contract import ColumnContract, Contract
from tabular_mlops.errors import StageError
from tabular_mlops.evaluation.monotonic import monotonic_report, sweep_grid
from tabular_mlops.evaluation.nested import selection_for
from tabular_mlops.metrics import higher_is_better
from tabular_mlops.models.leaderboard import leaderboard, markdown
from tabular_mlops.models.pipeline import family_pipeline
from tabular_mlops.models.training import chosen_family
from tabular_mlops.reporting.gates import check_gates, failure_message
from tabular_mlops.reporting.headline import evaluation_rows, headline_column
from tabular_mlops.reporting.monotonic_card import monotonic_lines

ROOT = Path(__file__).resolve().parents[1]
RISING = {"x": "increasing"}
CONTRACT = Contract(target="y", columns={
    "y": ColumnContract(type="category", nullable=False, categories=["bad", "good"]),
    "x": ColumnContract(type="float", nullable=True),
    "z": ColumnContract(type="float", nullable=False),
    "c": ColumnContract(type="category", nullable=False, categories=["a", "b"]),
    "dropped": ColumnContract(type="float", nullable=False),
})


def raw_params(**train) -> dict:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    raw["data"].update(target="y", positive_class="bad", drop_columns=["dropped"])
    raw["train"].update(train)
    raw["train"]["random_forest"].update(n_estimators=40)
    raw["train"]["hist_gradient_boosting"].update(max_iter=60, min_samples_leaf=10, max_leaf_nodes=15)
    raw["leaderboard"].update(families=["random_forest", "hist_gradient_boosting", "mlp", "dummy"], cv_folds=2)
    return raw


def params(**train) -> Params:
    return Params.model_validate(raw_params(**train))


@pytest.fixture(scope="module")
def table() -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """Training inputs and target (1: bad), and 80 test rows; a few missing x, so the missing indicator exists."""
    rng = np.random.default_rng(7)
    rows = 700
    x, z = rng.uniform(0, 10, rows), rng.normal(0, 1, rows)
    c = rng.choice(["a", "b"], rows)
    risk = 1 / (1 + np.exp(-(0.8 * (x - 5) + 0.5 * z + 0.3 * (c == "a"))))
    target = pd.Series((rng.uniform(size=rows) < risk).astype(int), name="y")
    inputs = pd.DataFrame({"x": x, "z": z, "c": c, "dropped": rng.normal(size=rows)})
    inputs.loc[rng.choice(rows, 20, replace=False), "x"] = np.nan
    return inputs.iloc[:620], target.iloc[:620], inputs.iloc[620:]


@pytest.fixture(scope="module")
def forest(table):
    """Unconstrained: no family is constrained without train.monotonic."""
    inputs, target, _ = table
    return family_pipeline(params(), CONTRACT, "random_forest").fit(inputs, target)


@pytest.fixture(scope="module")
def boosting(table):
    inputs, target, _ = table
    return family_pipeline(params(model="hist_gradient_boosting", monotonic=RISING), CONTRACT, "hist_gradient_boosting").fit(inputs, target)


def independent_violations(model, rows: pd.DataFrame, column: str, grid: list[float]) -> tuple[int, int]:
    """The check written out: for each row, a copy per grid value in turn, their predict_proba; count the falls."""
    violations, rows_violating = 0, 0
    for _, row in rows.iterrows():
        copies = []
        for value in grid:
            changed = row.copy()
            changed[column] = value
            copies.append(changed)
        probabilities = list(model.predict_proba(pd.DataFrame(copies).astype(rows.dtypes.to_dict()))[:, 1])
        falls = sum(later < earlier - 1e-9 for earlier, later in zip(probabilities, probabilities[1:]))
        violations, rows_violating = violations + falls, rows_violating + (falls > 0)
    return violations, rows_violating


def test_the_grid_is_training_values_at_even_quantile_steps_from_the_smallest_to_the_largest():
    values = pd.Series([7.0, np.nan, 1.0, 3.0, 3.0, 9.0, 5.0])
    assert sweep_grid(values, 20).tolist() == [1.0, 3.0, 5.0, 7.0, 9.0]  # more points than values: each value once
    assert sweep_grid(values, 2).tolist() == [1.0, 9.0]
    sorted_values = np.sort(np.random.default_rng(1).uniform(0, 100, 401))
    by_hand = [sorted_values[k * 400 // 20] for k in range(21)]  # quantile k/20 of 401 values: position 20k exactly
    assert sweep_grid(pd.Series(sorted_values), 21).tolist() == by_hand


def test_the_forest_violates_the_direction_and_the_check_counts_exactly_what_an_independent_sweep_counts(table, forest):
    train_inputs, _, test_inputs = table
    report = monotonic_report("classification", forest, train_inputs, test_inputs, RISING, rows=None, grid_points=12, seed=0)
    grid = list(sweep_grid(train_inputs["x"], 12))
    violations, rows_violating = independent_violations(forest, test_inputs, "x", grid)
    assert report["x"]["violations"] == violations > 0
    assert report["x"]["rows_violating"] == rows_violating > 0
    assert report["x"] | {"violations": 0, "rows_violating": 0, "largest_violation": 0} == {
        "direction": "increasing", "violations": 0, "rows_violating": 0, "rows": len(test_inputs), "grid_points": 12, "largest_violation": 0}
    assert report["x"]["largest_violation"] > 1e-9


def test_the_constrained_gradient_boosting_has_no_violation_on_a_dense_sweep(table, boosting):
    train_inputs, _, test_inputs = table
    assert boosting.named_steps["model"].monotonic_cst == {"numeric__x": 1}  # the value feature; its missing indicator is free
    assert "numeric__missingindicator_x" in boosting.named_steps["preprocess"].get_feature_names_out()
    report = monotonic_report("classification", boosting, train_inputs, test_inputs, RISING, rows=None, grid_points=60, seed=0)
    assert report["x"]["violations"] == report["x"]["rows_violating"] == 0 and report["x"]["grid_points"] == 60
    assert independent_violations(boosting, test_inputs.iloc[:15], "x", list(sweep_grid(train_inputs["x"], 60))) == (0, 0)
    # The same family unconstrained does break the direction here: the zero is the constraint's doing.
    unconstrained = family_pipeline(params(), CONTRACT, "hist_gradient_boosting").fit(*table[:2])
    assert monotonic_report("classification", unconstrained, train_inputs, test_inputs, RISING, None, 60, 0)["x"]["violations"] > 0


def test_a_decreasing_constraint_is_checked_against_the_other_direction(table, boosting):
    train_inputs, _, test_inputs = table
    falling = monotonic_report("classification", boosting, train_inputs, test_inputs, {"x": "decreasing"}, rows=30, grid_points=10, seed=3)
    assert falling["x"]["rows"] == 30 and falling["x"]["rows_violating"] > 0  # a probability that rises with x breaks "decreasing"


def test_every_path_that_builds_a_model_builds_it_under_the_constraints(table):
    constrained = params(model="auto", monotonic={"x": "decreasing", "z": "increasing"})
    cst = {"numeric__x": -1, "numeric__z": 1}
    assert family_pipeline(constrained, CONTRACT, "hist_gradient_boosting").named_steps["model"].monotonic_cst == cst
    assert family_pipeline(params(), CONTRACT, "hist_gradient_boosting").named_steps["model"].monotonic_cst is None
    # a family that cannot enforce them is built without them (the leaderboard cross-validates it to show the cost)
    assert family_pipeline(constrained, CONTRACT, "random_forest").named_steps["model"].monotonic_cst is None
    # nested CV redoes auto's choice among the families that honour the constraints only
    procedure, select = selection_for(constrained, CONTRACT)
    inputs, target, _ = table
    _, record = select(inputs.iloc[:200], target.iloc[:200])
    assert procedure == "leaderboard" and set(record["inner_cv"]) == {"hist_gradient_boosting", "dummy"}


@pytest.mark.parametrize("column", ["c", "dropped", "absent"])
def test_a_column_that_is_not_a_numeric_model_input_is_one_line_naming_the_key(column):
    with pytest.raises(StageError) as raised:
        family_pipeline(params(monotonic={column: "increasing"}), CONTRACT, "random_forest")
    assert str(raised.value) == (f"params.yaml: train.monotonic.{column}: '{column}' is not a numeric model input (an integer or float"
                                 " input column of the data contract, not in data.drop_columns); numeric inputs: x, z")


def write(tmp_path: Path, raw: dict) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_a_named_family_that_cannot_enforce_the_constraints_is_refused_in_one_line_naming_both_keys(tmp_path):
    with pytest.raises(StageError) as raised:
        load_params(write(tmp_path, raw_params(model="mlp", monotonic={"x": "increasing", "z": "decreasing"})))
    assert str(raised.value) == (f"{tmp_path / 'params.yaml'}: train.model 'mlp' cannot enforce train.monotonic (x, z); use one of"
                                 " hist_gradient_boosting, dummy or auto, or empty train.monotonic")
    assert load_params(write(tmp_path, raw_params(model="hist_gradient_boosting", monotonic=RISING))).train.monotonic == RISING
    assert load_params(write(tmp_path, raw_params(model="mlp"))).train.model == "mlp"  # no constraints: any family


@pytest.mark.parametrize(("edit", "message"), [
    (lambda raw: raw["train"].update(monotonic={"x": "up"}), "key 'train.monotonic.x' must be 'increasing' or 'decreasing'; got 'up'"),
    (lambda raw: raw["data"].update(positive_class=None), "train.monotonic (x) needs data.positive_class"),
    (lambda raw: raw["leaderboard"].update(families=["mlp", "random_forest"]),
     "leaderboard.families: none of mlp, random_forest honours train.monotonic (x)"),
    (lambda raw: raw["gates"]["classification"].append({"metric": "monotonic.z.violations", "max": 0}),
     "gates.classification[2].metric 'monotonic.z.violations': 'z' is not a column of train.monotonic (x)"),
    (lambda raw: raw["gates"]["classification"].append({"metric": "monotonic.x.steps", "max": 0}),
     "must be monotonic.<column>.<figure>, the figure one of violations, rows_violating"),
])
def test_constraints_that_cannot_hold_are_refused_before_any_work(tmp_path, edit, message):
    raw = raw_params(model="auto", monotonic=RISING)
    edit(raw)
    with pytest.raises(StageError, match="^" + str(tmp_path).replace("/", ".") + ".params.yaml: ") as raised:
        load_params(write(tmp_path, raw))
    assert message in str(raised.value) and "\n" not in str(raised.value)


def cv_result(family: str, mean: float) -> dict:
    return {"family": family, "cv": {"roc_auc_mean": mean, "roc_auc_std": 0.01}, "test": {"roc_auc": mean - 0.01}}


def test_the_leaderboard_marks_each_family_and_auto_takes_the_best_that_honours_the_constraints():
    results = [cv_result("mlp", 0.84), cv_result("random_forest", 0.83), cv_result("hist_gradient_boosting", 0.82), cv_result("dummy", 0.5)]
    table = leaderboard(results, "roc_auc", 5, monotonic=RISING)
    assert table["best"] == "hist_gradient_boosting" and table["monotonic"] == RISING
    assert [(row["family"], row["monotonic"]) for row in table["ranking"]] == [
        ("mlp", "cannot enforce"), ("random_forest", "cannot enforce"), ("hist_gradient_boosting", "enforced"), ("dummy", "honours (constant)")]
    assert chosen_family(params(model="auto", monotonic=RISING), table) == "hist_gradient_boosting"
    lines = markdown(table["ranking"], "roc_auc", 5, monotonic=RISING).splitlines()
    assert lines[2] == "Monotonic constraints (train.monotonic): x increasing. train.model: auto takes the best family that honours them;" \
                       " a family that cannot enforce them was cross-validated without them, to show what they cost."
    assert lines[4].endswith("| monotonic constraints |") and lines[6] == "| 1 | mlp | 0.8400 | 0.0100 | 0.8300 | cannot enforce |"
    assert lines[8] == "| 3 | hist_gradient_boosting | 0.8200 | 0.0100 | 0.8100 | enforced |"
    # without constraints: no column, no key, and the best is the first ranked
    plain = leaderboard(results, "roc_auc", 5)
    assert plain["best"] == "mlp" and "monotonic" not in plain and all("monotonic" not in row for row in plain["ranking"])
    assert "monotonic" not in markdown(plain["ranking"], "roc_auc", 5)
    # a leaderboard ranked without the constraints does not train a family that cannot honour them
    with pytest.raises(StageError, match="best must be the first ranked family that honours train.monotonic"):
        chosen_family(params(model="auto", monotonic=RISING), plain)


def test_a_leaderboard_where_no_ranked_family_honours_the_constraints_stops():
    with pytest.raises(StageError, match=r"no ranked family \(mlp\) honours train.monotonic \(x\)"):
        leaderboard([cv_result("mlp", 0.8), {"family": "dummy", "status": "failed", "reason": "boom"}], "roc_auc", 5, monotonic=RISING)


CHECKED = {"x": {"direction": "increasing", "violations": 3, "rows_violating": 2, "rows": 200, "grid_points": 20, "largest_violation": 0.0125}}


def test_a_gate_on_the_violations_fails_naming_the_metric_its_bound_and_the_count():
    gates = [Gate(metric="monotonic.x.violations", max=0), Gate(metric="monotonic.x.rows_violating", max=5)]
    results = check_gates(gates, {"monotonic": CHECKED})
    assert [row["passed"] for row in results] == [False, True]
    assert "monotonic.x.violations = 3 is above the maximum 0" in failure_message(results)
    assert check_gates([Gate(metric="monotonic.x.violations", max=0)], {"monotonic": {"x": {**CHECKED["x"], "violations": 0}}})[0]["passed"]
    assert not higher_is_better("monotonic.x.violations")  # review and sweeps: fewer is better


def test_the_violations_are_a_headline_figure_and_a_part_of_the_model_card():
    rows = evaluation_rows({"test": {"roc_auc": 0.8}, "monotonic": CHECKED})
    assert rows["x.monotonic_violations.json"] == {"test": 3}
    assert headline_column("monotonic.x.violations") == "metrics/evaluation/x.monotonic_violations.json:test"
    assert headline_column("monotonic.x.rows_violating") is None  # in metrics/evaluate/metrics.json only
    card = monotonic_lines(params(model="auto", monotonic={"x": "increasing", "z": "decreasing"}), "hist_gradient_boosting", {"monotonic": CHECKED})
    assert card[1] == "## Monotonic constraints (train.monotonic)"
    assert "x: increasing, z: decreasing" in card[3] and "`hist_gradient_boosting` enforces them" in card[3]
    assert card[-2:] == ["| x | increasing | 3 | 2 | 200 | 20 | 0.0125 |", "| z | decreasing | not checked | | | | |"]
    assert monotonic_lines(params(), "mlp", {}) == []


def test_a_regression_model_is_checked_on_its_predicted_value():
    rng = np.random.default_rng(11)
    inputs = pd.DataFrame({"x": rng.uniform(0, 10, 400), "z": rng.normal(0, 1, 400), "c": rng.choice(["a", "b"], 400), "dropped": 0.0})
    target = pd.Series(np.sin(inputs["x"]) * 3 + inputs["x"] + rng.normal(0, 0.5, 400), name="y")  # rises overall, with dips
    raw = raw_params(model="hist_gradient_boosting", monotonic=RISING)
    raw["data"].update(task="regression", positive_class=None)
    contract = CONTRACT.model_copy(update={"columns": {**CONTRACT.columns, "y": ColumnContract(type="float", nullable=False)}})
    constrained, unconstrained = Params.model_validate(raw), Params.model_validate({**raw, "train": {**raw["train"], "monotonic": {}}})
    figures = {}
    for name, settings in (("constrained", constrained), ("unconstrained", unconstrained)):
        model = family_pipeline(settings, contract, "hist_gradient_boosting").fit(inputs.iloc[:300], target.iloc[:300])
        figures[name] = monotonic_report("regression", model, inputs.iloc[:300], inputs.iloc[300:], RISING, None, 30, 0)["x"]
    assert figures["constrained"]["violations"] == 0 < figures["unconstrained"]["violations"]

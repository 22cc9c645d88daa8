"""models/pipeline.py is the one place a model pipeline (preprocessing, then a family's estimator) is assembled.

Every path that builds a model, the leaderboard's CV, the search, nested CV and the final fit,
gets steps named `preprocess` and `model`, which explanations, mitigation and serving rely on.
"""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LogisticRegression

from tabular_mlops.config.params import Params
from tabular_mlops.data.contract import ColumnContract, Contract
from tabular_mlops.evaluation.nested import selection_for
from tabular_mlops.features.preprocessing import preprocessor_for
from tabular_mlops.models.pipeline import family_pipeline
from tabular_mlops.models.training import fit_model

ROOT = Path(__file__).resolve().parents[1]
THE_PLACE = "tabular_mlops/models/pipeline.py"
STEPS = ["preprocess", "model"]
CONTRACT = Contract(
    target="Status",
    columns={
        "Status": ColumnContract(type="category", nullable=False, categories=["bad", "good"]),
        "Income": ColumnContract(type="float", nullable=True),
        "Home": ColumnContract(type="category", nullable=True, categories=["owner", "rent"]),
    },
)


def pipeline_assemblies(source: str) -> list[int]:
    """Lines of `Pipeline([... ("preprocess", ...) ...])` calls (positional or `steps=`), by name or attribute."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        steps = [*node.args[:1], *(keyword.value for keyword in node.keywords if keyword.arg == "steps")]
        if name == "Pipeline" and any(
            isinstance(step, ast.Tuple) and step.elts and isinstance(step.elts[0], ast.Constant) and step.elts[0].value == "preprocess"
            for argument in steps if isinstance(argument, (ast.List, ast.Tuple)) for step in argument.elts
        ):
            lines.append(node.lineno)
    return lines


def test_the_check_finds_an_assembly_written_either_way():
    assert pipeline_assemblies('Pipeline([("preprocess", p), ("model", m)])') == [1]
    assert pipeline_assemblies('pipeline.Pipeline(steps=[("preprocess", p), ("model", m)])') == [1]
    assert pipeline_assemblies('Pipeline([("impute", i), ("scale", s)])') == []


def test_only_models_pipeline_assembles_a_model_pipeline():
    code = sorted([*(ROOT / "tabular_mlops").rglob("*.py"), *(ROOT / "stages").rglob("*.py")])
    found = {path.relative_to(ROOT).as_posix(): pipeline_assemblies(path.read_text(encoding="utf-8")) for path in code}
    assert found[THE_PLACE], f"{THE_PLACE} no longer assembles the pipeline: update this test's THE_PLACE"
    elsewhere = {path: lines for path, lines in found.items() if lines and path != THE_PLACE}
    assert not elsewhere, f"build model pipelines with {THE_PLACE}'s model_pipeline or family_pipeline, not here: {elsewhere}"


# --- each path's pipeline, built for real ---

def params_with(model: str, search: str = "none") -> Params:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    raw["train"]["model"] = model
    raw["train"]["search"].update(method=search, cv_folds=2, space={"logistic_regression": {"C": [0.001, 3.0]}})
    raw["leaderboard"].update(families=["logistic_regression", "dummy"], cv_folds=2)
    return Params.model_validate(raw)


@pytest.fixture(scope="module")
def rows() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(3)
    income = rng.normal(100, 30, 80)
    inputs = pd.DataFrame({"Income": income, "Home": rng.choice(["rent", "owner"], 80)})
    return inputs, pd.Series((income + rng.normal(0, 20, 80) > 100).astype(int), name="Status")


def test_the_family_pipeline_builds_params_yamls_hyperparameters_or_the_ones_given():
    params = params_with("logistic_regression")
    default = family_pipeline(params, CONTRACT, "logistic_regression")
    candidate = params.train.family_params("logistic_regression").model_copy(update={"C": 0.125})
    tuned = family_pipeline(params, CONTRACT, "logistic_regression", candidate)
    assert list(default.named_steps) == list(tuned.named_steps) == STEPS
    assert default.named_steps["model"].C == params.train.logistic_regression.C and tuned.named_steps["model"].C == 0.125
    assert tuned.named_steps["model"].random_state == params.seed


def test_the_final_fit_keeps_the_fitted_preprocessor_and_names_the_steps(rows):
    inputs, target = rows
    preprocessor = preprocessor_for(CONTRACT, [], params_with("logistic_regression").featurize).fit(inputs)
    model = fit_model(preprocessor, preprocessor.transform(inputs), target, LogisticRegression())
    assert list(model.named_steps) == STEPS and model.named_steps["preprocess"] is preprocessor


@pytest.mark.parametrize("model, search, procedure", [("logistic_regression", "none", "none"),
                                                      ("auto", "none", "leaderboard"),
                                                      ("logistic_regression", "grid", "search")])
def test_nested_cvs_selected_pipeline_has_the_two_steps_whichever_the_procedure(rows, model, search, procedure):
    params = params_with(model, search)
    chosen, select = selection_for(params, CONTRACT)
    pipeline, record = select(*rows)
    assert chosen == procedure and list(pipeline.named_steps) == STEPS
    if procedure == "search":  # the candidate the search ranked first is the one built
        assert pipeline.named_steps["model"].C == record["selected"]["C"]

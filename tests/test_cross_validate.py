"""cross_validate: the unfitted pipeline that a family is cross-validated as, for the task in params."""
from pathlib import Path

import pytest
import yaml
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline

from tabular_mlops.data.contract import ColumnContract, Contract
from tabular_mlops.models.pipeline import family_pipeline
from tabular_mlops.config.params import Params, load_params

REPO_PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"
CONTRACT = Contract(
    target="Status",
    columns={
        "Status": ColumnContract(type="category", nullable=True, categories=["bad", "good"]),
        "Age": ColumnContract(type="integer", nullable=False),
        "Home": ColumnContract(type="category", nullable=True, categories=["rent"]),
        "Price": ColumnContract(type="float", nullable=True),
    },
)


@pytest.fixture(scope="module")
def classification() -> Params:
    return load_params(REPO_PARAMS)


@pytest.fixture(scope="module")
def regression() -> Params:
    raw = yaml.safe_load(REPO_PARAMS.read_text(encoding="utf-8"))
    raw["data"].update(task="regression", positive_class=None, target="Price")
    raw["train"]["model"] = "ridge"
    raw["leaderboard"]["families"] = ["ridge", "random_forest"]
    raw["gates"] = []
    return Params.model_validate(raw)


def test_family_pipeline_is_unfitted_preprocessing_then_the_tasks_estimator_with_its_params_and_seed(classification):
    pipeline = family_pipeline(classification, CONTRACT, "random_forest")
    assert isinstance(pipeline, Pipeline) and list(pipeline.named_steps) == ["preprocess", "model"]
    assert isinstance(pipeline.named_steps["preprocess"], ColumnTransformer)
    model = pipeline.named_steps["model"]
    assert type(model) is RandomForestClassifier
    assert model.n_estimators == classification.train.random_forest.n_estimators and model.random_state == classification.seed
    assert not hasattr(pipeline.named_steps["preprocess"], "transformers_") and not hasattr(model, "estimators_")


def test_family_pipeline_for_regression_builds_regressors_and_leaves_the_target_out(regression):
    assert type(family_pipeline(regression, CONTRACT.model_copy(update={"target": "Price"}), "random_forest").named_steps["model"]) is RandomForestRegressor
    pipeline = family_pipeline(regression, CONTRACT.model_copy(update={"target": "Price"}), "ridge")
    assert type(pipeline.named_steps["model"]) is Ridge
    roles = {name: columns for name, _, columns in pipeline.named_steps["preprocess"].transformers}
    assert roles == {"numeric": ["Age"], "categorical": ["Status", "Home"]}


def test_a_family_that_cannot_do_the_task_writes_a_not_applicable_result_without_loading_scikit_learn(tmp_path):
    """leaderboard.families lists both tasks' families; the other task's stages must stay cheap."""
    import json
    import subprocess
    import sys

    root = REPO_PARAMS.parent
    (tmp_path / "params.yaml").write_text(REPO_PARAMS.read_text(encoding="utf-8"), encoding="utf-8")  # classification
    probe = (
        "import runpy, sys; sys.argv = ['cross_validate', 'ridge'];"
        "runpy.run_module('stages.cross_validate', run_name='__main__');"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'pandas', 'pyarrow'}))"
    )
    completed = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True,
                               env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == ["ridge: not applicable to classification; the leaderboard skips it", "[]"]
    written = json.loads((tmp_path / "metrics/leaderboard/ridge.json").read_text())
    assert written == {"family": "ridge", "not_applicable_to": "classification"}

"""The optional lightgbm family end to end, by the commands of docs/how-to/add-a-model-family.md
on conftest's 600-row repository: `dvc exp run -S train.model=lightgbm`, then lightgbm on the
leaderboard (cross_validate@lightgbm), then `tabular-mlops serve` answering `curl` with an
explanation. Figures are checked against LightGBM and scikit-learn called directly. LightGBM has
no ONNX form here: the bundle says so and is served by the pickled pipeline, with its answers.
Also: the same trees whatever n_jobs, and the one-line refusal when the package does not import."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import httpx
import joblib
import numpy as np
import pandas as pd
import pytest
import yaml
from lightgbm import LGBMClassifier
from scipy.special import logit
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline

from tabular_mlops.config.params import load_params
from tabular_mlops.data.dataset import split_inputs_target
from tabular_mlops.deployment.artifact import load_bundle
from tabular_mlops.errors import StageError
from tabular_mlops.families.registry import BY_NAME, build_estimator, require
from tests import service as svc
from tests.dvc_repo import commit, dvc, environment, update_params

ROOT = Path(__file__).resolve().parents[1]
PAGE = (ROOT / "docs/how-to/add-a-model-family.md").read_text()
REFUSAL = "model family 'lightgbm' needs the lightgbm package, which is not installed; install it with pip install -e '.[lightgbm]'"


def shown_commands() -> list[str]:
    """The page's shell commands, in order (a trailing backslash continues a line)."""
    blocks = re.findall(r"```bash\n(.*?)```", PAGE, flags=re.S)
    return [line for block in blocks for line in block.replace("\\\n", "").splitlines() if line.strip()]


def shown_yaml() -> dict:
    return yaml.safe_load(re.findall(r"```yaml\n(.*?)```", PAGE, flags=re.S)[0])


def run(repo: Path, command: str) -> subprocess.CompletedProcess:
    completed = subprocess.run(command, shell=True, cwd=repo, env=environment(), capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed


@pytest.fixture(scope="module")
def repo(small_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """conftest's small repository (logistic_regression and dummy on the leaderboard) after the
    page's two pipeline commands; `ran` holds what each printed."""
    repo = tmp_path_factory.mktemp("lightgbm") / "repo"
    shutil.copytree(small_repo, repo, symlinks=True)
    commit(repo, "the small run")
    commands = shown_commands()
    experiment = next(command for command in commands if command.startswith("dvc exp run"))
    trained = run(repo, experiment)
    # The page's leaderboard.families with the small repository's two families: lightgbm goes on the list.
    update_params(repo, lambda params: params["leaderboard"].update(families=["logistic_regression", "lightgbm", "dummy"]))
    assert "dvc repro" in commands
    repro = run(repo, "dvc repro")
    repo.joinpath("ran.json").write_text(json.dumps({"experiment": trained.stdout + trained.stderr, "repro": repro.stdout + repro.stderr}))
    return repo


def ran(repo: Path) -> dict:
    return json.loads((repo / "ran.json").read_text())


def test_the_pages_commands_are_the_ones_run_here_and_its_install_line_is_the_pinned_extra_ci_installs() -> None:
    commands = shown_commands()
    assert commands[0] == "pip install -e '.[lightgbm]'"
    assert "dvc exp run -S train.model=lightgbm" in commands and "dvc repro" in commands
    assert "tabular-mlops serve --model models/bundle" in commands and any(command.startswith("curl ") for command in commands)
    optional = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert optional["lightgbm"] == ["lightgbm==4.7.0"] and "tabular-mlops[lightgbm]" in optional["dev"]  # CI: pip install -e '.[dev]'
    # the page's list is the repository's default with lightgbm beside the other gradient boosting
    default = load_params(ROOT / "params.yaml").leaderboard.families
    listed = shown_yaml()["leaderboard"]["families"]
    assert [family for family in listed if family != "lightgbm"] == default
    assert listed.index("lightgbm") == listed.index("hist_gradient_boosting") + 1
    assert f"error: {REFUSAL}" in PAGE


def test_the_pages_figures_are_quoted_from_the_benchmark_table() -> None:
    results = (ROOT / "benchmarks/results.md").read_text()
    measured = results[results.index("## LightGBM against hist_gradient_boosting"):]
    quoted = PAGE[PAGE.index("## Should it be on the default leaderboard?"):PAGE.index("## Write your own family")]
    figures = re.findall(r"\b\d\.\d{2,4}\b", quoted)
    assert len(figures) >= 6 and all(re.search(rf"\| {re.escape(figure)}\b", measured) for figure in figures), figures


@pytest.mark.slow
def test_the_experiment_trains_lightgbm_exactly_as_lightgbm_fits_it_directly(repo: Path) -> None:
    metadata = json.loads((repo / "models/model.json").read_text())
    assert metadata["model_family"] == "lightgbm" and metadata["libraries"]["lightgbm"] == "4.7.0"
    model = joblib.load(repo / "models/model.joblib")
    params = load_params(repo / "params.yaml")
    spec = params.train.lightgbm
    direct = LGBMClassifier(learning_rate=spec.learning_rate, n_estimators=spec.n_estimators, num_leaves=spec.num_leaves,
                            min_child_samples=spec.min_child_samples, reg_lambda=spec.reg_lambda, n_jobs=1, random_state=params.seed,
                            deterministic=True, force_col_wise=True, verbose=-1)
    features = pd.read_parquet(repo / "data/features/train.parquet")  # what the train stage fits on, the target encoded
    direct.fit(features.drop(columns=[params.data.target]), features[params.data.target])
    test_inputs, _ = split_inputs_target(pd.read_parquet(repo / "data/prepared/test.parquet"), params.data)
    transformed = model[0].transform(test_inputs)
    assert np.array_equal(model.predict_proba(test_inputs), direct.predict_proba(transformed))  # bit for bit
    explained = json.loads((repo / "metrics/explain/explanations.json").read_text())
    assert explained["output_space"] == "log_odds"


@pytest.mark.slow
def test_on_the_leaderboard_only_its_own_stage_runs_and_its_cv_is_scikit_learns_on_the_same_folds(repo: Path) -> None:
    output = ran(repo)["repro"]
    assert "Running stage 'leaderboard/dvc.yaml:cross_validate@lightgbm'" in output
    assert "Stage 'leaderboard/dvc.yaml:cross_validate@logistic_regression' didn't change, skipping" in output
    entry = json.loads((repo / "metrics/leaderboard/lightgbm.json").read_text())
    assert entry["status"] == "ok"
    ranked = json.loads((repo / "metrics/leaderboard.json").read_text())["ranking"]
    assert "lightgbm" in [row["family"] for row in ranked]
    params = load_params(repo / "params.yaml")
    inputs, target = split_inputs_target(pd.read_parquet(repo / "data/prepared/train.parquet"), params.data)
    model = joblib.load(repo / "models/model.joblib")  # lightgbm: its unfitted steps are the pipeline's
    unfitted = Pipeline([("preprocess", clone(model[0])), ("model", clone(model[-1]))])
    folds = StratifiedKFold(n_splits=params.leaderboard.cv_folds, shuffle=True, random_state=params.seed)
    scores = cross_val_score(unfitted, inputs, target, cv=folds, scoring="roc_auc")
    assert entry["cv"]["roc_auc_mean"] == pytest.approx(scores.mean(), abs=1e-6)


@pytest.mark.slow
def test_its_leaderboard_figures_are_the_same_bytes_when_the_stage_runs_again(repo: Path, tmp_path: Path) -> None:
    result = repo / "metrics/leaderboard/lightgbm.json"
    before = result.read_bytes()
    again = dvc(repo, "repro", "--force", "--single-item", "leaderboard/dvc.yaml:cross_validate@lightgbm")
    assert again.returncode == 0, again.output
    assert result.read_bytes() == before


NOT_COMPILED = "the estimator LGBMClassifier has no ONNX converter here"


@pytest.mark.slow
def test_the_service_answers_the_pages_curl_with_an_explanation_that_adds_up_in_log_odds(repo: Path, tmp_path: Path) -> None:
    from tests.test_service import as_records

    commands = shown_commands()
    curl = next(command for command in commands if command.startswith("curl "))
    test = pd.read_parquet(repo / "data/prepared/test.parquet").head(20).reset_index(drop=True)
    running = svc.start(repo / "models/bundle", svc.working_folder(tmp_path / "serve", repo / "params.yaml"))
    try:
        answer = json.loads(run(tmp_path, curl.replace("http://127.0.0.1:8000", running.url)).stdout)
        # Not compiled: the default runtime (auto) serves the pickled pipeline, and says why.
        assert svc.answering_runtime(running) == {"path": "scikit-learn", "reason": NOT_COMPILED}
        plain = httpx.post(f"{running.url}/predict/batch", json=as_records(test), timeout=30)
        assert plain.status_code == 200, plain.text
    finally:
        assert running.stop() in svc.STOPPED, running.errors
    assert running.errors.splitlines()[1].endswith(f"(log: logs/predictions.sqlite; scikit-learn: {NOT_COMPILED})")
    row = pd.DataFrame([json.loads(re.search(r"-d '(.*)'", curl).group(1))])
    bundle = load_bundle(repo / "models/bundle")
    assert answer["probability"] == pytest.approx(bundle.model.predict_proba(row)[0, 1], abs=1e-12)
    # the same answers as the pipeline's own predict_proba, to the bit
    model = joblib.load(repo / "models/model.joblib")
    expected = model.predict_proba(test.drop(columns=["Status"]))[:, 1]
    assert [given["probability"] for given in plain.json()["predictions"]] == expected.tolist()
    explanation = answer["explanation"]
    assert explanation["output_space"] == "log_odds"
    assert explanation["output"] == pytest.approx(logit(answer["probability"]), abs=1e-9)
    total = explanation["base_value"] + sum(entry["contribution"] for entry in explanation["contributions"])
    assert total == pytest.approx(explanation["output"], abs=1e-9)
    assert "Traceback" not in running.errors


@pytest.mark.slow
def test_the_bundle_says_in_one_line_that_scikit_learn_serves_it_and_holds_no_compiled_model(repo: Path) -> None:
    line = f"bundle: the model is served by scikit-learn, not compiled: {NOT_COMPILED}"
    assert ran(repo)["experiment"].count(line) == 1  # the bundle stage ran in the experiment
    manifest = json.loads((repo / "models/bundle/manifest.json").read_text())
    assert manifest["compiled"] == {"file": None, "reason": NOT_COMPILED}
    assert not (repo / "models/bundle/model.onnx").exists()
    bundle = load_bundle(repo / "models/bundle")
    assert bundle.compiled is None and bundle.runtime == {"path": "scikit-learn", "reason": NOT_COMPILED}


# --- determinism and the refusal, without the repository ---

def test_the_same_trees_whatever_n_jobs_and_on_every_fit() -> None:
    rng = np.random.default_rng(5)
    inputs = pd.DataFrame(rng.normal(size=(600, 6)), columns=[f"x{number}" for number in range(6)])
    target = (inputs["x0"] + inputs["x1"] * inputs["x2"] + rng.logistic(size=600) > 0).astype(int)
    spec = BY_NAME["lightgbm"].params(learning_rate=0.1, n_estimators=40, num_leaves=15, min_child_samples=10, reg_lambda=1.0, n_jobs=1)
    fitted = [build_estimator("classification", "lightgbm", spec.model_copy(update={"n_jobs": jobs}), seed=3).fit(inputs, target)
              for jobs in (1, 1, 2)]
    first = fitted[0].predict_proba(inputs)
    assert all(np.array_equal(first, other.predict_proba(inputs)) for other in fitted[1:])
    assert fitted[0].booster_.model_to_string().split("parameters:")[0] == fitted[2].booster_.model_to_string().split("parameters:")[0]


def lightgbm_unimportable(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a machine without the extra sees: `import lightgbm` (and its submodules) raises ImportError."""
    for name in [name for name in sys.modules if name == "lightgbm" or name.startswith("lightgbm.")] or ["lightgbm"]:
        monkeypatch.setitem(sys.modules, name, None)


@pytest.mark.slow
def test_without_the_package_building_and_loading_a_model_are_refused_naming_the_extra(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lightgbm_unimportable(monkeypatch)
    with pytest.raises(StageError) as refused:
        require(BY_NAME["lightgbm"])
    assert str(refused.value) == REFUSAL
    with pytest.raises(StageError) as refused:
        load_bundle(repo / "models/bundle")
    assert str(refused.value) == (f"{repo / 'models/bundle/model.joblib'}: the model needs the lightgbm package, which is not installed; "
                                  "install it with pip install -e '.[lightgbm]'")


@pytest.mark.slow
def test_without_the_package_the_leaderboard_stage_stops_with_one_line(repo: Path) -> None:
    probe = ("import runpy, sys; sys.modules['lightgbm'] = None; sys.argv = ['cross_validate', 'lightgbm'];"
             "runpy.run_module('stages.cross_validate', run_name='__main__')")
    completed = subprocess.run([sys.executable, "-c", probe], cwd=repo, env=environment(), capture_output=True, text=True, timeout=120)
    assert (completed.returncode, completed.stderr) == (2, f"error: {REFUSAL}\n")

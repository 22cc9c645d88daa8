"""`tabular-mlops init`: from a fresh clone to a project for the user's own table.

Through the real command and the real `dvc repro`, with init's own defaults (every family, the
default gates), in temporary git repositories copied from the project:
- a binary table with a yes/no target (scikit-learn's breast cancer), by running every command
  of docs/tutorials/your-own-table.md in a `git clone`, and checking the output it shows;
- a multiclass table (wine, the cultivars as text) and a regression table (diabetes, unscaled:
  age in years, sex coded 1/2), by `python -m tabular_mlops init`, then two light families on
  the leaderboard (tests/dvc_repo.py small_and_fast) and the default gates, for time.
Each ends with no project file, and no file name, mentioning credit, the artifact named as asked,
and a second init refused. The refusals and the choices are checked in process, quickly.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from dvc.repo.artifacts import check_name_format
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

from tabular_mlops.cli import main
from tabular_mlops.errors import StageError
from tabular_mlops.project.ci import CHECKS, WORKFLOW
from tabular_mlops.project.init import init_project
from tabular_mlops.project.repository import Request, artifact_name
from tests.dvc_repo import copy_project, dvc, environment, init_git_repo, project_files, small_and_fast, update_params

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs/tutorials/your-own-table.md"


def write_wine(path: Path) -> None:
    bunch = load_wine(as_frame=True)
    table = bunch.frame.drop(columns="target")
    table["cultivar"] = bunch.target.map({0: "barolo", 1: "grignolino", 2: "barbera"})
    table.to_csv(path, index=False)


def write_diabetes(path: Path) -> None:
    load_diabetes(as_frame=True, scaled=False).frame.rename(columns={"target": "progression"}).to_csv(path, index=False)


def fresh_clone(repo: Path) -> Path:
    copy_project(ROOT, repo)
    init_git_repo(repo)
    return repo


def run_init(repo: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tabular_mlops", "init", *arguments], cwd=repo, env=environment(),
                          capture_output=True, text=True, timeout=300)


def changed_lines(before: str, after: str) -> list[str]:
    """The lines of `after` that differ from `before`, which has as many lines (init replaces, never adds)."""
    assert len(before.splitlines()) == len(after.splitlines())
    return [new for old, new in zip(before.splitlines(), after.splitlines()) if old != new]


def assert_no_credit_left(repo: Path) -> None:
    names = project_files(repo)  # what git tracks or would add, files that exist, tests/ benchmarks/ docs/ aside
    assert [name for name in names if "credit" in name.lower()] == []
    assert [name for name in names if "credit" in (repo / name).read_bytes().decode("utf-8", "replace").lower()] == []


def assert_own_project(repo: Path, table: str, target: str, task: str, positive_class: str | None, artifact: str,
                       edited: frozenset[str] = frozenset()) -> None:
    """What init leaves: the data block set and nothing else of params.yaml changed (but the keys
    `edited` after it), the artifact renamed."""
    params_text = (repo / "params.yaml").read_text()
    data_lines = {"path", "target", "positive_class", "segment_column"} | ({"task"} if task == "regression" else set()) | edited
    assert {line.split(":")[0].strip() for line in changed_lines((ROOT / "params.yaml").read_text(), params_text)} == data_lines
    data = yaml.safe_load(params_text)["data"]
    assert data == {"path": f"data/raw/{table}", "target": target, "task": task, "positive_class": positive_class,
                    "drop_columns": [], "contract": "data/contract.yaml", "segment_column": None, "extra_paths": []}
    pipeline_text = (repo / "dvc.yaml").read_text()
    changed = changed_lines((ROOT / "dvc.yaml").read_text(), pipeline_text)
    assert changed[0] == f"  {artifact}:" and all(line.startswith(("    desc: ", "    labels: ")) for line in changed[1:])
    artifacts = yaml.safe_load(pipeline_text)["artifacts"]
    assert list(artifacts) == [artifact]
    check_name_format(artifact)  # DVC's own rule for artifact names
    assert artifacts[artifact]["labels"] == [task, "scikit-learn"]
    assert artifacts[artifact]["path"] == "models/bundle"
    assert yaml.safe_load((repo / "data/contract.yaml").read_text())["target"] == target


def assert_example_outputs_gone(repo: Path) -> None:
    """Before the first `dvc repro`: nothing of the example's run is left to be mistaken for the user's."""
    for gone in ("dvc.lock", "leaderboard/dvc.lock", "metrics/gates.json", "metrics/evaluate/dvc.yaml", "example.yaml"):
        assert not (repo / gone).exists(), gone
    assert [path for path in (repo / "metrics").rglob("*") if path.is_file()] == []


def assert_pipeline_ran(repo: Path) -> None:
    result = dvc(repo, "repro")
    assert result.returncode == 0, result.output
    assert yaml.safe_load((repo / "metrics/gates.json").read_text())["passed"] is True
    assert (repo / "models/bundle").is_dir() and (repo / "dvc.lock").is_file()


def assert_second_init_refused(repo: Path, table: Path, target: str) -> None:
    again = run_init(repo, "--table", str(table), "--target", target)
    assert again.returncode == 2
    assert again.stderr.startswith("error: init has already made this project yours") and again.stderr.count("\n") == 1
    assert again.stdout == ""


@pytest.mark.slow
@pytest.mark.parametrize("case", [
    # table, its writer, target, --name, task, artifact, lines init prints, the families run
    ("wine.csv", write_wine, "cultivar", "Wine cultivars", "classification", "wine-cultivars",
     ["task: classification, 3 classes (the target 'cultivar' holds labels, not numbers; --task to choose)",
      "positive class: none, 3 classes: the model outputs the probability of each"], ["logistic_regression", "dummy"]),
    ("diabetes.csv", write_diabetes, "progression", None, "regression", "diabetes",
     ["task: regression (the target 'progression' is numeric with 214 distinct values, more than 20;"], ["ridge", "dummy"]),
], ids=["multiclass", "regression"])
def test_init_then_dvc_repro_on_a_new_table(case, tmp_path: Path) -> None:
    file_name, write, target, name, task, artifact, stated, families = case
    repo = fresh_clone(tmp_path / "repo")
    write(tmp_path / file_name)
    result = run_init(repo, "--table", str(tmp_path / file_name), "--target", target, *(("--name", name) if name else ()))
    assert result.returncode == 0, result.stderr
    assert all(line in result.stdout for line in stated), result.stdout
    assert (repo / "data/raw" / file_name).read_bytes() == (tmp_path / file_name).read_bytes()
    assert_own_project(repo, file_name, target, task, None, artifact)
    assert_example_outputs_gone(repo)
    assert_no_credit_left(repo)
    update_params(repo, lambda params: small_and_fast(params, families, params["gates"]))
    assert_pipeline_ran(repo)
    assert_no_credit_left(repo)
    assert_second_init_refused(repo, tmp_path / file_name, target)
    if task == "regression":  # the tutorial quotes this table's suggestion line
        assert tutorial_blocks("text")[1].strip() in result.stdout


def tutorial_blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", TUTORIAL.read_text(), flags=re.S)


@pytest.mark.slow
def test_the_tutorials_commands_make_a_yes_no_table_a_project_that_dvc_repro_runs(tmp_path: Path) -> None:
    """Every command of the tutorial, in order, in one shell, from a `git clone` of the project;
    every line of output it shows is printed."""
    source = fresh_clone(tmp_path / "tabular-mlops")
    work = tmp_path / "work"
    work.mkdir()
    script = "set -euo pipefail\n" + "".join(tutorial_blocks("bash")).replace("<repository-url>", str(source))
    env = {**environment(), "PYTHONPATH": str(work / "my-project"),  # the clone's package, as `pip install -e .` makes it
           "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
           "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.invalid"}
    result = subprocess.run(["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout + result.stderr
    shown = [line.strip() for block in tutorial_blocks("text") for line in block.splitlines()]
    quoted_from_another_table = tutorial_blocks("text")[1].strip()  # checked by the regression case
    assert [line for line in shown if line and line != quoted_from_another_table and line not in output] == []
    repo = work / "my-project"
    # step 8 of the tutorial sets evaluate.threshold.method
    assert_own_project(repo, "tumours.csv", "malignant", "classification", "yes", "tumour-screening", frozenset({"method"}))
    assert yaml.safe_load((repo / "params.yaml").read_text())["evaluate"]["threshold"]["method"] == "min_sensitivity"
    assert_no_credit_left(repo)
    assert subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True).stdout == ""
    assert (repo / "README.md").read_text().startswith("# tumour-screening\n")
    assert_the_projects_ci_checks_it(repo, tmp_path / "ci", env)


def assert_the_projects_ci_checks_it(repo: Path, clean: Path, env: dict) -> None:
    """The template's tests left with the example; .ci/run and the workflow check the project: its checks
    pass on a clean clone of the committed project, and fail when the run gives another figure."""
    assert not (repo / "tests").exists() and not (repo / "benchmarks").exists()
    script, workflow = (repo / ".ci/run").read_text(), (repo / WORKFLOW).read_text()
    assert "pytest" not in script and "pytest" not in workflow
    assert all(check in script for check in CHECKS) and CHECKS[1] in workflow and "run: dvc repro --force" in workflow
    subprocess.run(["git", "clone", "-q", str(repo), str(clean)], check=True)
    checks = " && ".join(CHECKS)
    env = {**env, "PYTHONPATH": str(clean)}
    passed = subprocess.run(["bash", "-c", checks], cwd=clean, env=env, capture_output=True, text=True, timeout=900)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    # a run that gives another figure than the committed one (here, written over it) fails the check
    gates = clean / "metrics/gates.json"
    gates.write_text(gates.read_text().replace('"passed": true', '"passed": false', 1))
    failed = subprocess.run(["bash", "-c", CHECKS[1]], cwd=clean, env=env, capture_output=True, text=True)
    assert failed.returncode == 1 and "metrics/gates.json" in failed.stdout, failed.stdout + failed.stderr


# --- In process: the refusals, the large-table path, the choices --------------------------------

@pytest.fixture(scope="module")
def clone_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fresh_clone(tmp_path_factory.mktemp("init") / "repo")


@pytest.fixture
def clone(clone_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(clone_template, repo, symlinks=True)
    monkeypatch.chdir(repo)
    return repo


def git_status(repo: Path) -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=repo, capture_output=True, text=True,
                          check=True).stdout


def labelled(path: Path, labels: list[str]) -> Path:
    pd.DataFrame({"x": range(len(labels)), "y": labels}).to_csv(path, index=False)
    return path


def no_longer_the_example(repo: Path) -> None:
    subprocess.run(["git", "rm", "-q", "example.yaml"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "init"], cwd=repo, check=True)


@pytest.mark.parametrize("setup, arguments, message", [
    (no_longer_the_example, ["--target", "y"], "init has already made this project yours (example.yaml is gone)"),
    (lambda repo: (repo / "params.yaml").write_text("# edited\n", encoding="utf-8"), ["--target", "y"],
     "the git tree has uncommitted changes (params.yaml); commit or stash them first"),
    (lambda repo: None, ["--table", "missing.csv", "--target", "y"], "missing.csv: file not found"),
    (lambda repo: None, ["--target", "label"], "the target column 'label' (--target) is not in the table; its columns: x, y"),
    (lambda repo: None, ["--target", "y", "--positive-class", "maybe"], "--positive-class must be one of the target's classes ['no', 'yes']; got 'maybe'"),
    (lambda repo: None, ["--target", "y", "--task", "regression"], "--task regression: the target 'y' is not numeric"),
    (lambda repo: None, ["--target", "x", "--positive-class", "1"], "--positive-class: a regression target has no classes"),
], ids=["twice", "dirty-tree", "missing-table", "target-not-a-column", "unknown-positive-class", "regression-on-labels",
        "positive-class-for-regression"])
def test_init_refuses_with_one_line_and_changes_nothing(clone: Path, tmp_path: Path, setup, arguments: list[str], message: str,
                                                        capsys: pytest.CaptureFixture) -> None:
    table = labelled(tmp_path / "table.csv", ["yes", "no"] * 30)
    setup(clone)
    before = git_status(clone)
    assert main(["init", *(["--table", str(table)] if "--table" not in arguments else []), *arguments]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1 and message in error, error
    assert git_status(clone) == before


def test_a_target_with_one_class_is_refused(clone: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    table = labelled(tmp_path / "table.csv", ["yes"] * 40 + [None] * 3)
    assert main(["init", "--table", str(table), "--target", "y"]) == 2
    assert capsys.readouterr().err == (f"error: {table}: the target 'y' has one value ('yes') in 43 rows; a model needs"
                                       " two classes or more, or a quantity that varies\n")
    assert git_status(clone) == ""


def test_a_large_table_inside_the_clone_goes_to_dvc_as_parquet(clone: Path) -> None:
    """Over the size threshold (here 0 bytes), the table is `dvc add`ed: git sees its .dvc file and
    ignores the table. A table waiting untracked inside the clone does not make the tree dirty."""
    source = clone / "admissions.parquet"
    table = pd.DataFrame({"stay_days": [1.5, 2.0, 7.25, 3.0] * 10, "readmitted": ["no", "no", "yes", "no"] * 10})
    table.to_parquet(source)
    lines = init_project(Request(source, "readmitted"), clone, large_bytes=0)
    kept = clone / "data/raw/admissions.parquet"
    assert kept.read_bytes() == source.read_bytes()  # the user's file, in its own format
    assert "  positive class: 'yes' (a label that usually names the event; --positive-class to choose)" in lines
    assert any("data/raw/admissions.parquet: copied" in line and "added to DVC" in line for line in lines)
    tracked = yaml.safe_load((clone / "data/raw/admissions.parquet.dvc").read_text())["outs"][0]
    assert tracked["path"] == "admissions.parquet" and tracked["size"] == kept.stat().st_size
    assert subprocess.run(["git", "check-ignore", "-q", "data/raw/admissions.parquet"], cwd=clone).returncode == 0
    untracked = {line[3:] for line in git_status(clone).splitlines() if line.startswith("??")}
    assert {"data/raw/admissions.parquet.dvc", "data/raw/.gitignore"} <= untracked
    assert yaml.safe_load((clone / "dvc.yaml").read_text())["artifacts"].keys() == {"admissions"}


@pytest.mark.parametrize("values, expected_task, expected_positive", [
    (["yes", "no", "no"] * 10, "classification", "yes"),  # a label naming the event
    (["bad"] * 20 + ["good"] * 10, "classification", "bad"),  # ... even when it is the larger class
    ([0, 1, 1] * 10, "classification", "1"),  # numbers with few values are classes
    (["A"] * 3 + ["B"] * 7, "classification", "A"),  # the rarer class, 3 of 10
    (["A", "B"] * 5, "classification", "B"),  # a tie: the last in sorted order, whatever the row order
    (["x", "y", "z"] * 10, "classification", None),  # three classes: every class
    (list(range(21)), "regression", None),  # more than 20 distinct numbers
    (list(range(20)) * 2, "classification", None),  # 20: still classes
])
def test_the_task_and_positive_class_inferred_from_the_target(values, expected_task: str, expected_positive) -> None:
    from tabular_mlops.project.target import choose

    choice = choose(pd.DataFrame({"x": 0, "y": values}), "y", "table.csv", None, None)
    assert (choice.task, choice.positive_class) == (expected_task, expected_positive)
    assert len(choice.reasons) == (1 if expected_task == "regression" else 2)


def test_the_rarer_class_is_stated_with_its_count() -> None:
    from tabular_mlops.project.target import choose

    choice = choose(pd.DataFrame({"y": ["A"] * 3 + ["B"] * 7 + [None]}), "y", "table.csv", None, None)
    assert choice.reasons[1] == "positive class: 'A' (the rarer class, 3 of 10 labelled rows; --positive-class to choose)"


def test_flags_overrule_the_inference() -> None:
    from tabular_mlops.project.target import choose

    table = pd.DataFrame({"y": ["x", "y", "z"] * 10})
    assert choose(table, "y", "t.csv", None, "z").positive_class == "z"  # one class against the rest
    assert choose(pd.DataFrame({"y": list(range(30))}), "y", "t.csv", "classification", None).task == "classification"
    assert choose(pd.DataFrame({"y": [0, 1] * 5}), "y", "t.csv", "regression", None).task == "regression"


@pytest.mark.parametrize("name, expected", [("Tumour screening!", "tumour-screening"), ("credit_model v2", "credit-model-v2"),
                                            ("data", "data")])
def test_artifact_names_follow_dvcs_rule(name: str, expected: str) -> None:
    assert artifact_name(name) == expected
    check_name_format(expected)


def test_set_block_values_keeps_comments_and_columns() -> None:
    from tabular_mlops.project.yaml_text import set_block_values

    text = "data:\n  path: a.csv        # CSV or Parquet\n  target: Status\n\nnext: 1  # kept\n"
    edited = set_block_values(text, "data", {"path": "data/raw/very-long-file-name.csv", "positive_class": "yes", "target": "y"},
                              "params.yaml")
    assert edited == ("data:\n  path: data/raw/very-long-file-name.csv  # CSV or Parquet\n  target: y\n  positive_class: 'yes'\n"
                      "\nnext: 1  # kept\n")
    assert set_block_values(text, "data", {"path": "b.csv"}, "params.yaml").splitlines()[1] == "  path: b.csv        # CSV or Parquet"


def test_the_examples_own_outputs_rerun_elsewhere_do_not_count_as_changes(clone: Path, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture) -> None:
    """A `dvc repro` of the example on another CPU rewrites dvc.lock and metrics: init removes them anyway."""
    with (clone / "dvc.lock").open("a") as lock:
        lock.write("# rewritten\n")
    (clone / "metrics/gates.json").write_text("{}\n")
    assert main(["init", "--table", str(labelled(tmp_path / "table.csv", ["yes", "no"] * 30)), "--target", "y"]) == 0
    assert not (clone / "dvc.lock").exists() and not (clone / "metrics/gates.json").exists()
    assert "removed the bundled example" in capsys.readouterr().out


def test_init_help_shows_the_flags_and_an_example(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["init", "--help"])
    assert exit_info.value.code == 0
    shown = capsys.readouterr().out
    assert "usage: tabular-mlops init" in shown and "--positive-class LABEL" in shown
    assert "tabular-mlops init --table ~/admissions.csv --target readmitted --name readmissions" in shown


def test_the_projects_workflow_runs_the_check_instead_of_the_templates_tests_and_actionlint_accepts_it(tmp_path: Path) -> None:
    from tabular_mlops.project.ci import project_workflow
    from tests.test_workflows import actionlint

    workflow = tmp_path / ".github/workflows/pull-request.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(project_workflow((ROOT / WORKFLOW).read_text()))
    result = actionlint(workflow)
    assert result.returncode == 0, result.stdout + result.stderr
    steps = [step.get("run", "") for job in yaml.safe_load(workflow.read_text())["jobs"].values() for step in job["steps"]]
    assert "dvc repro --force" in steps and CHECKS[1] in steps and not [run for run in steps if "pytest" in run]


def test_a_text_edit_that_cannot_find_its_block_names_the_file() -> None:
    from tabular_mlops.project.yaml_text import set_block_values, set_first_entry

    with pytest.raises(StageError, match=r"^params.yaml: expected one top-level 'data:' block; found 0$"):
        set_block_values("seed: 1\n", "data", {"path": "a.csv"}, "params.yaml")
    with pytest.raises(StageError, match=r"^dvc.yaml: 'artifacts:' has no entry to rename$"):
        set_first_entry("artifacts:\n# none yet\n", "artifacts", "model", {"type": "model"}, "dvc.yaml")

"""Bad input: one clear line, exit 2, no traceback, nothing half-written.

Every case breaks one thing and runs, in-process, the stage `dvc repro` would run first on
that change (its `main()` through `run_stage`, as `python -m stages.X` does) in a temporary
copy of the project: it must exit 2 with one `error:` line naming the culprit and leave every
file as it was. A few representative cases (a table, a param, a missing file, a
`dvc exp run -S` value) go through the real `dvc` on a copy of the small reproduced
repository: it fails naming the culprit, prints no traceback, leaves dvc.lock as it was,
and every output still on disk is the locked version (DVC removes a failing stage's outputs
before it runs; `dvc checkout` brings them back from the cache).
"""
from __future__ import annotations

import hashlib
import importlib
import shutil
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest

from tabular_mlops.errors import EXIT_EXPECTED_FAILURE, run_stage
from tests.dvc_repo import copy_project, dvc, lock_bytes, locked_outputs, md5_of

ROOT = Path(__file__).resolve().parents[1]
RAW = "data/raw/credit.csv"


def edit_table(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], None]:
    def apply(repo: Path) -> None:
        table = pd.read_csv(repo / RAW, dtype=object, keep_default_na=False)
        change(table).to_csv(repo / RAW, index=False)

    return apply


def write_raw(text: str) -> Callable[[Path], None]:
    return lambda repo: (repo / RAW).write_text(text)


def replace_in(name: str, old: str, new: str) -> Callable[[Path], None]:
    def apply(repo: Path) -> None:
        text = (repo / name).read_text()
        assert old in text, f"{name} has no {old!r}"
        (repo / name).write_text(text.replace(old, new, 1))

    return apply


def set_cell(column: str, row: int, value: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(table: pd.DataFrame) -> pd.DataFrame:
        table.loc[row, column] = value
        return table

    return change


HEADER = "Status,Seniority,Home,Time,Age,Marital,Records,Job,Expenses,Income,Assets,Debt,Amount,Price\n"

# case: (the first stage `dvc repro` runs after this change, the break, what the error says).
# validate reads the table, the contract and data.*; a param that only later stages read is
# checked (with all of params.yaml, by load_params) when the first of them runs.
CASES = {
    "missing target column": ("validate", edit_table(lambda t: t.drop(columns="Status")), "column 'Status' is missing"),
    "text in a numeric column": ("validate", edit_table(set_cell("Income", 16, "abc")), "column 'Income' must be numeric, but line 18 holds 'abc'"),
    "category the contract forbids": ("validate", edit_table(set_cell("Home", 3, "castle")), "column 'Home' must be one of"),
    "value below the contract's minimum": ("validate", edit_table(set_cell("Age", 9, "-4")), "column 'Age' must be >= 0, but line 11 holds -4.0"),
    "empty file": ("validate", write_raw(""), f"{RAW}: file is empty"),
    "header-only file": ("validate", write_raw(HEADER), f"{RAW}: the table has no data rows"),
    "all-null column": ("validate", edit_table(lambda t: t.assign(Debt="")), "column 'Debt' must hold at least one value"),
    "duplicated column names": ("validate", write_raw(HEADER.replace("Debt", "Income") + "good,1,rent,60,30,married,no,fixed,73,129,0,0,800,846\n"), "'Income' appear more than once"),
    "column the contract does not list": ("validate", edit_table(lambda t: t.assign(Email="x@example.org")), "column 'Email' is not in the contract"),
    "short CSV row": ("validate", lambda repo: (repo / RAW).open("a").write("good,1,2,3\n"), "line 4456 has 4 fields but the header has 14"),
    "target with one class": ("validate", edit_table(lambda t: t.assign(Status="good")), "column 'Status' must hold at least two classes"),
    "unknown model name": ("train", replace_in("params.yaml", "model: auto", "model: xgboost"), "key 'train.model' must be 'auto', 'logistic_regression', 'linear_svm', 'linear_regression', 'ridge', 'random_forest', 'hist_gradient_boosting', 'lightgbm', 'mlp' or 'dummy'; got 'xgboost'"),
    "model of the other task": ("train", replace_in("params.yaml", "model: auto", "model: ridge"), "train.model must be 'auto' or a classification family: logistic_regression, linear_svm, random_forest, hist_gradient_boosting, lightgbm, mlp, dummy; got 'ridge'"),
    "unknown search hyperparameter": ("train", replace_in("params.yaml", "{C: [0.01, 0.1, 1.0, 10.0]}", "{Cee: [1.0]}"), "train.search.space.logistic_regression.Cee: 'Cee' is not a hyperparameter of logistic_regression"),
    "unknown gate metric": ("gate", replace_in("params.yaml", "metric: over_baseline.roc_auc,", "metric: over_baseline.auc,"), "gates.classification[0].metric must be one of test.roc_auc"),
    "segment column not in the contract": ("validate", replace_in("params.yaml", "segment_column: Marital", "segment_column: Gender"), "params.yaml: data.segment_column 'Gender' is not a column of data/contract.yaml that validate keeps"),
    "misspelt params key": ("prepare", replace_in("params.yaml", "test_size:", "tset_size:"), "unknown key 'prepare.tset_size' (did you mean 'test_size'?)"),
    "negative test size": ("prepare", replace_in("params.yaml", "test_size: 0.2", "test_size: -0.2"), "key 'prepare.test_size' must be greater than 0; got -0.2"),
    "text where a number is expected": ("prepare", replace_in("params.yaml", "cv_folds: 5", 'cv_folds: "5"'), "key 'train.search.cv_folds' must be a valid integer; got '5'"),
    "positive class that is not a class": ("validate", replace_in("params.yaml", "positive_class: bad", "positive_class: default"), "data.positive_class must be one of ['bad', 'good']"),
    "drop column the table lacks": ("validate", replace_in("params.yaml", "drop_columns: []", "drop_columns: [CustomerId]"), "data.drop_columns names ['CustomerId']"),
    "missing data file": ("validate", replace_in("params.yaml", f"path: {RAW}", "path: data/raw/nope.csv"), "data/raw/nope.csv"),
    "missing contract": ("validate", lambda repo: (repo / "data/contract.yaml").unlink(), "data/contract.yaml"),
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's files (params.yaml, the data, the contract, the committed metrics)."""
    folder = tmp_path_factory.mktemp("project") / "repo"
    copy_project(ROOT, folder)
    return folder


def snapshot(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): hashlib.md5(path.read_bytes()).hexdigest() for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_input_stops_its_stage_with_one_clear_line_and_writes_nothing(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    stage, break_it, expected = CASES[case]
    repo = tmp_path / "repo"
    shutil.copytree(project, repo)
    break_it(repo)
    before = snapshot(repo)
    main = importlib.import_module(f"stages.{stage}").main
    monkeypatch.chdir(repo)

    with pytest.raises(SystemExit) as exit_:
        run_stage(main)  # what `python -m stages.{stage}` runs

    assert exit_.value.code == EXIT_EXPECTED_FAILURE
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert expected in lines[0]
    assert "Traceback" not in captured.err + captured.out
    assert snapshot(repo) == before  # no output, no partial file, nothing left behind


# Through the real `dvc`: a broken table (validate fails), a broken param (a later stage
# fails), a missing data file (DVC refuses before any stage runs), a bad `-S` value.
THROUGH_DVC = {
    "text in a numeric column": ("repro",),
    "misspelt params key": ("repro",),
    "missing data file": ("repro",),
    "unknown model name given with -S": ("exp", "run", "-S", "train.model=xgboost"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", THROUGH_DVC, ids=list(THROUGH_DVC))
def test_bad_input_through_dvc_fails_with_one_clear_line_and_leaves_the_pipeline_intact(small_repo_copy: Path, case: str) -> None:
    arguments = THROUGH_DVC[case]
    if arguments == ("repro",):
        _, break_it, expected = CASES[case]
        break_it(small_repo_copy)
    else:
        _, _, expected = CASES["unknown model name"]
    lock_before = lock_bytes(small_repo_copy)

    result = dvc(small_repo_copy, *arguments)

    assert result.returncode != 0
    assert expected in result.output
    assert "Traceback" not in result.output
    own_lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(own_lines) <= 1, own_lines
    assert lock_bytes(small_repo_copy) == lock_before
    assert_no_partial_outputs(small_repo_copy)


def assert_no_partial_outputs(repo: Path) -> None:
    for path, md5 in locked_outputs(repo).items():
        output = repo / path
        if output.is_file():
            assert md5_of(output) == md5, f"{path} differs from its locked version"
    leftovers = [p for p in repo.rglob("*.tmp") if ".git" not in p.parts and ".dvc" not in p.parts]
    assert leftovers == []

"""Training on data.path's rows plus returned ones (data.extra_paths): each table checked against
the contract, each source split on its own, and `dvc repro` rerunning validate on a new export."""
from __future__ import annotations

import math
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tabular_mlops.config.params import load_params
from tabular_mlops.data.cleaning import split, split_sources
from tabular_mlops.data.contract import Contract
from tabular_mlops.data.extra_tables import validate_extra_table
from tabular_mlops.data.returned import append_rows
from tabular_mlops.errors import StageError
from tests.dvc_repo import commit, dvc, init_git_repo, ran_stages, small_credit_project, update_params

ROOT = Path(__file__).resolve().parents[1]


def params_with(tmp_path: Path, change) -> Path:
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    update_params(tmp_path, change)
    return tmp_path / "params.yaml"


@pytest.mark.parametrize("path", ["data/raw/extra.csv", "/data/returned/labels.parquet", "data/returned/../raw/credit.csv", "data/returned"])
def test_an_extra_path_outside_data_returned_is_refused_naming_the_key(tmp_path: Path, path: str) -> None:
    with pytest.raises(StageError, match=r"data\.extra_paths\[1\] must lie under data/returned/ \(validate depends on that folder"):
        load_params(params_with(tmp_path, lambda params: params["data"].update(extra_paths=["data/returned/a.csv", path])))


def test_extra_paths_with_the_dask_engine_are_refused(tmp_path: Path) -> None:
    def change(params: dict) -> None:
        params["data"]["extra_paths"] = ["data/returned/labels.parquet"]
        params["engine"]["name"] = "dask"

    with pytest.raises(StageError, match="data.extra_paths needs engine.name: pandas"):
        load_params(params_with(tmp_path, change))


CONTRACT = Contract.model_validate({"target": "y", "columns": {
    "y": {"type": "category", "nullable": True, "categories": ["a", "b"]},
    "x": {"type": "float", "nullable": False, "min": 0.0},
    "group": {"type": "category", "nullable": True, "categories": ["g", "h"], "protected": True}}})


def test_an_extra_table_needs_the_inputs_and_target_and_keeps_the_contract_naming_its_file() -> None:
    one_class = validate_extra_table(pd.DataFrame({"x": [1, 2], "y": ["a", "a"]}), CONTRACT, [], "data/returned/t.csv")
    assert list(one_class.columns) == ["x", "y"] and one_class["x"].dtype == "float64"  # one class is no violation here
    with pytest.raises(StageError, match=r"^data/returned/t.csv: column 'x' missing; a table of data.extra_paths must hold"):
        validate_extra_table(pd.DataFrame({"y": ["a"]}), CONTRACT, [], "data/returned/t.csv")
    with pytest.raises(StageError, match=r"^data/returned/t.csv: column 'x' must be >= 0, but line 3 holds -1"):
        validate_extra_table(pd.DataFrame({"x": [1.0, -1.0], "y": ["a", "b"]}), CONTRACT, [], "data/returned/t.csv")


def test_each_source_is_split_on_its_own_and_the_first_keeps_its_split(tmp_path: Path) -> None:
    params = load_params(ROOT / "params.yaml")
    data = params.data.model_copy(update={"target": "y", "drop_columns": []})
    base = pd.DataFrame({"x": [float(n) for n in range(40)], "y": ["a", "b"] * 20})
    extra = pd.DataFrame({"x": [100.0 + n for n in range(11)] + [0.0], "y": ["a"] * 6 + ["b"] * 5 + ["a"]})  # the last: a duplicate of base's first
    train, test, report = split_sources(pd.concat([base, extra], ignore_index=True), [40, 12], data, params.prepare)
    alone_train, alone_test = split(base, "y", params.prepare.test_size, params.prepare.split_seed)
    pd.testing.assert_frame_equal(train.iloc[:len(alone_train)], alone_train)
    pd.testing.assert_frame_equal(test.iloc[:len(alone_test)], alone_test)
    held_out = math.ceil(params.prepare.test_size * 11)  # as train_test_split counts the test rows of 11
    assert report["sources"][1] == {"rows_in": 12, "rows_out": 11, "train_rows": 11 - held_out, "test_rows": held_out}
    assert report["duplicate_rows_dropped"] == 1 and len(train) == 32 + 11 - held_out and len(test) == 8 + held_out
    assert set(test["x"].iloc[len(alone_test):]) | set(train["x"].iloc[len(alone_train):]) == {100.0 + n for n in range(11)}


def returned_rows(repo: Path, rows: int, seed: int) -> pd.DataFrame:
    """Rows like the credit table's, as export-labels writes them: no Marital (protected, not an
    input), an Amount no raw row holds, so none is a duplicate."""
    table = pd.read_csv(ROOT / "data/raw/credit.csv").sample(n=rows, random_state=seed).drop(columns=["Marital"])
    return table.assign(Amount=table["Amount"] + 100_000 * seed).astype({name: "float64" for name in table.columns if pd.api.types.is_numeric_dtype(table[name])})


def test_dvc_repro_trains_on_old_and_returned_rows_and_reruns_validate_only_on_a_new_export(tmp_path: Path) -> None:
    repo = small_credit_project(tmp_path / "repo", gates=None)
    init_git_repo(repo)
    assert (result := dvc(repo, "repro", "prepare")).returncode == 0, result.output
    before = {name: pd.read_parquet(repo / f"data/prepared/{name}.parquet") for name in ("train", "test")}
    assert yaml.safe_load((repo / "metrics/data/rows.json").read_text()) == {"train": len(before["train"]), "test": len(before["test"])}
    commit(repo, "prepared")
    labels = repo / "data/returned/labels.parquet"
    append_rows(labels, None, [], returned_rows(repo, 40, 1), [f"p{n}" for n in range(40)])
    assert dvc(repo, "add", "data/returned/labels.parquet").returncode == 0
    update_params(repo, lambda params: params["data"].update(extra_paths=["data/returned/labels.parquet"]))
    commit(repo, "returned labels")
    assert ran_stages((result := dvc(repo, "repro", "prepare")).output) == {"validate", "prepare"}, result.output
    after = {name: pd.read_parquet(repo / f"data/prepared/{name}.parquet") for name in ("train", "test")}
    for name in ("train", "test"):  # data.path's rows keep their split, in their order; the returned ones follow
        pd.testing.assert_frame_equal(after[name].iloc[:len(before[name])], before[name])
    held_out = math.ceil(0.2 * 40)
    assert yaml.safe_load((repo / "metrics/data/rows.json").read_text()) == {
        "train": len(before["train"]) + 40 - held_out, "test": len(before["test"]) + held_out}
    returned = yaml.safe_load((repo / "metrics/prepare.json").read_text())["sources"][1]
    assert (returned["train_rows"], returned["test_rows"]) == (40 - held_out, held_out)
    assert after["test"]["Amount"].iloc[len(before["test"]):].ge(100_000).all() and after["test"]["Marital"].iloc[-held_out:].isna().all()
    commit(repo, "reproduced")
    assert ran_stages((result := dvc(repo, "repro", "prepare")).output) == set(), result.output
    (repo / "data/returned/labels.rejects.csv").write_text("prediction_id,column,rule\n")  # a report beside the table: not data
    assert ran_stages((result := dvc(repo, "repro", "prepare")).output) == set(), result.output
    # A new export (a new version of the table, and of its .dvc file): validate and prepare rerun.
    old = pd.read_parquet(labels)
    append_rows(labels, old, [f"p{n}" for n in range(40)], returned_rows(repo, 10, 2), [f"q{n}" for n in range(10)])
    assert dvc(repo, "add", "data/returned/labels.parquet").returncode == 0
    assert ran_stages((result := dvc(repo, "repro", "prepare")).output) == {"validate", "prepare"}, result.output
    assert yaml.safe_load((repo / "metrics/prepare.json").read_text())["sources"][1]["test_rows"] == math.ceil(0.2 * 50)
    assert pd.read_parquet(repo / "data/prepared/test.parquet").iloc[:len(before["test"])].equals(before["test"])

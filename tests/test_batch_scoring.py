"""Batch scoring (`tabular-mlops score`, the `score` stage): bad rows set aside with their
reasons, good rows scored exactly as the bundle scores them in-process, in bounded memory.

The tests whose outputs go through the model run on both paths (tests/service.py RUNTIMES): the
bundle's compiled model, as `score` runs by default, and the pickled pipeline (`--runtime
scikit-learn`); one test compares the two paths' files with each other and with the pipeline."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

from tabular_mlops.cli import main
from tabular_mlops.compiled.compile import BOUND
from tabular_mlops.deployment.artifact import load_bundle
from tabular_mlops.deployment.batch import score_file
from tests.dvc_repo import dvc, environment, ran_stages, update_params
from tests.service import RUNTIMES

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow  # they score with small_repo's bundle

HOME_RULE = "must be one of ['ignore', 'other', 'owner', 'parents', 'priv', 'rent']"
# data row -> (columns, rules) of the rows planted below
EXPECTED_REJECTS = {
    3: ("Age", "must be >= 0"),
    5: ("Home", HOME_RULE),
    8: ("Seniority; Records; Expenses", "must be numeric; must be one of ['no', 'yes']; must not be empty"),
    11: ("Time", "must hold whole numbers"),
    14: ("Amount", "must not be empty"),
}


def on_path(directory: Path, path: str):
    """The bundle at `directory` loaded to score on `path` (one of RUNTIMES), as `score` loads it."""
    loaded = load_bundle(directory, runtime="auto" if path == "onnxruntime" else path)
    assert loaded.runtime["path"] == path  # the bundle has a compiled model: each path is the one asked for
    return loaded


@pytest.fixture(scope="module", params=RUNTIMES)
def bundle(small_repo: Path, request: pytest.FixtureRequest):
    """small_repo's bundle on each path in turn: the tests that take it run on both."""
    return on_path(small_repo / "models/bundle", request.param)


@pytest.fixture(scope="module")
def rows(small_repo: Path) -> pd.DataFrame:
    """30 rows of the test split, in the contract's types, with a label."""
    return pd.read_parquet(small_repo / "data/prepared/test.parquet").head(30).reset_index(drop=True)


def planted(rows: pd.DataFrame, folder: Path, suffix: str) -> Path:
    """The rows with every kind of violation planted, one row breaking three rules, and an unlabelled row."""
    table = rows.astype({"Seniority": "object"})
    table.loc[3, "Age"] = -5
    table.loc[5, "Home"] = "boat"
    table.loc[8, ["Seniority", "Records", "Expenses"]] = ["abc", "maybe", np.nan]
    table.loc[11, "Time"] = 36.5
    table.loc[14, "Amount"] = np.nan
    table.loc[20, "Status"] = None  # unlabelled: scored, not rejected
    path = folder / "planted.csv"
    table.to_csv(path, index=False)
    if suffix == ".parquet":  # read back as pandas reads the CSV: Seniority is text, as it would be in such a file
        pd.read_csv(path).to_parquet(path := folder / "planted.parquet", index=False)
    return path


def read(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, float_precision="round_trip")


@pytest.mark.parametrize(("source_suffix", "output_suffix"), [(".csv", ".parquet"), (".parquet", ".csv")])
def test_bad_rows_are_rejected_with_their_reasons_and_the_rest_scored_as_in_process(
        bundle, rows: pd.DataFrame, tmp_path: Path, source_suffix: str, output_suffix: str) -> None:
    source = planted(rows, tmp_path, source_suffix)
    output, rejects = tmp_path / f"scored{output_suffix}", tmp_path / "rejects.csv"
    counts = score_file(bundle, source, output, rejects, chunk_rows=7)
    assert (counts.read, counts.scored, counts.rejected) == (30, 25, 5)
    assert counts.line() == "scored 25 rows, rejected 5 rows (of 30 read)"
    assert counts.metrics()["rejected_by_rule"]["Seniority"] == {"must be numeric": 1}

    rejected = pd.read_csv(rejects)
    assert {row: (column, rule) for row, column, rule in rejected[["row", "column", "rule"]].itertuples(index=False)} == EXPECTED_REJECTS
    assert rejected.loc[rejected["row"] == 8, "Seniority"].item() == "abc"  # the row as given, to fix and resubmit

    good = [position for position in range(30) if position not in EXPECTED_REJECTS]
    expected = bundle.predict(rows.loc[good])
    scored = read(output)
    assert list(scored.columns) == [*rows.columns, "probability", "decision", "unseen_categories"]
    # Equal to the last bits only: BLAS picks its kernel by the number of rows multiplied at once.
    np.testing.assert_allclose(scored["probability"].to_numpy(), expected["probability"].to_numpy(), rtol=1e-12, atol=0)
    assert list(scored["decision"]) == list(expected["decision"])
    pipeline = bundle.model.predict_proba(rows.loc[good].drop(columns=["Status"]))[:, 1]  # the pickled pipeline itself
    assert np.max(np.abs(scored["probability"].to_numpy() - pipeline)) <= BOUND
    assert scored["Status"].isna().tolist() == [position == 20 for position in good]  # the label passes through
    pd.testing.assert_frame_equal(scored[["Age", "Income"]], rows.loc[good, ["Age", "Income"]].reset_index(drop=True))


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_seven_row_chunks_give_the_same_files_as_one_chunk(bundle, rows: pd.DataFrame, tmp_path: Path, suffix: str) -> None:
    source = planted(rows, tmp_path, ".csv")
    for chunk_rows in (7, 1000):
        score_file(bundle, source, tmp_path / f"{chunk_rows}{suffix}", tmp_path / f"{chunk_rows}.rejects.csv", chunk_rows)
    assert (tmp_path / "7.rejects.csv").read_bytes() == (tmp_path / "1000.rejects.csv").read_bytes()
    # The same rows, values and types; a probability may differ in its last bit (BLAS kernels depend on the rows per chunk).
    pd.testing.assert_frame_equal(read(tmp_path / f"7{suffix}"), read(tmp_path / f"1000{suffix}"), check_exact=False, rtol=1e-12)


@pytest.mark.parametrize("path", RUNTIMES)
def test_a_category_the_contract_allows_but_training_never_saw_is_scored_and_flagged(
        small_repo: Path, rows: pd.DataFrame, tmp_path: Path, path: str) -> None:
    # The manifest's contract is not covered by the model's sha256: widen it, as a reviewed contract may be.
    shutil.copytree(small_repo / "models/bundle", folder := tmp_path / "bundle")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["contract"]["columns"]["Home"]["categories"].append("boat")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    rows.head(3).assign(Home=["rent", "boat", "owner"]).to_parquet(source := tmp_path / "in.parquet", index=False)
    counts = score_file(on_path(folder, path), source, output := tmp_path / "out.parquet", tmp_path / "rejects.csv")
    assert counts.rejected == 0
    assert read(output)["unseen_categories"].tolist() == ["", "Home", ""]
    # scored as the pipeline scores it: exactly on its own path, within the bound on the compiled model
    expected = joblib.load(small_repo / "models/model.joblib").predict_proba(pd.read_parquet(source).drop(columns=["Status"]))[:, 1]
    assert np.max(np.abs(read(output)["probability"].to_numpy() - expected)) <= (0 if path == "scikit-learn" else BOUND)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_personal_columns_reach_the_output_and_the_rejects_only_as_pseudonyms(
        small_repo: Path, bundle, rows: pd.DataFrame, tmp_path: Path, suffix: str) -> None:
    from tabular_mlops.privacy.pseudonyms import pseudonym, pseudonym_key

    # A withheld personal column (Email), and a personal one the contract keeps as a model input (Seniority).
    shutil.copytree(small_repo / "models/bundle", folder := tmp_path / "bundle")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["contract"]["columns"]["Email"] = {"type": "text", "nullable": True, "personal": True}
    manifest["contract"]["columns"]["Seniority"].update(personal=True, model_input=True)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    emails = [f"person-{number}@example.org" if number != 4 else None for number in range(30)]
    source = planted(rows.assign(Email=emails), tmp_path, suffix)
    output, rejects, key_file = tmp_path / f"scored{suffix}", tmp_path / "rejects.csv", tmp_path / "pseudonym.key"
    counts = score_file(on_path(folder, bundle.runtime["path"]), source, output, rejects, chunk_rows=7, key_file=key_file)
    assert (counts.scored, counts.rejected) == (25, 5)

    key = pseudonym_key(key_file)
    good = [position for position in range(30) if position not in EXPECTED_REJECTS]
    scored, rejected = read(output), pd.read_csv(rejects)
    hashed = lambda values: [None if pd.isna(value) else value for value in values]  # noqa: E731
    # A missing value is nobody: it stays missing.
    assert hashed(scored["Email"]) == [None if emails[position] is None else pseudonym(emails[position], key) for position in good]
    assert scored["Seniority"].tolist() == [pseudonym(int(rows.loc[position, "Seniority"]), key) for position in good]
    # Scored on the values themselves: the probabilities are the model's.
    np.testing.assert_allclose(scored["probability"].to_numpy(), bundle.predict(rows.loc[good])["probability"].to_numpy(), rtol=1e-12)
    assert rejected.loc[rejected["row"] == 8, "Seniority"].item() == pseudonym("abc", key)
    assert hashed(rejected["Email"]) == [pseudonym(emails[row], key) for row in sorted(EXPECTED_REJECTS)]
    for path in (output, rejects):
        assert b"@example.org" not in path.read_bytes()


# In a fresh process, so that its peak resident memory is this scoring's own. VmHWM (the peak)
# belongs to the process image (ru_maxrss would keep pytest's from before exec); writing 5 to
# clear_refs resets it to the current resident size before each run.
MEASURE = """
import sys
from pathlib import Path
from tabular_mlops.deployment.artifact import load_bundle
from tabular_mlops.deployment.batch import score_file

def kilobytes(field):
    return next(int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines() if line.startswith(field))

bundle, source, folder = load_bundle(sys.argv[1]), sys.argv[2], sys.argv[3]
# Lazy imports, caches, and what reading in blocks and threads costs once: each run then holds only its chunks.
score_file(bundle, source, folder + "/warm.parquet", folder + "/warm.csv", 2_000)
for chunk_rows in (2_000, 1_000_000):
    Path("/proc/self/clear_refs").write_text("5")
    before = kilobytes("VmRSS:")
    score_file(bundle, source, folder + "/scored.parquet", folder + "/rejects.csv", chunk_rows)
    print(kilobytes("VmHWM:") - before)
"""


def test_memory_grows_with_the_chunk_not_with_the_file(small_repo: Path, rows: pd.DataFrame, tmp_path: Path) -> None:
    rows.sample(n=40_000, replace=True, random_state=0).to_csv(source := tmp_path / "big.csv", index=False)
    result = subprocess.run([sys.executable, "-c", MEASURE, str(small_repo / "models/bundle"), str(source), str(tmp_path)],
                            cwd=ROOT, env=environment(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    chunked, whole = (int(kilobytes) / 1024 for kilobytes in result.stdout.split())
    # Measured: 7 MB in chunks of 2,000 rows, 66 MB for the file as one chunk.
    assert chunked < whole / 4, f"peak memory grew by {chunked:.0f} MB in chunks of 2,000 rows, {whole:.0f} MB in one chunk"


@pytest.mark.parametrize("path", RUNTIMES)
def test_the_command_prints_the_counts_and_exits_0_with_rejects(small_repo: Path, rows: pd.DataFrame, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture, path: str) -> None:
    source = planted(rows, tmp_path, ".csv")
    runtime = [] if path == "onnxruntime" else ["--runtime", path]
    assert main(["score", str(source), "--output", str(tmp_path / "out.csv"), "--model", str(small_repo / "models/bundle"), *runtime]) == 0
    assert capsys.readouterr().out == "scored 25 rows, rejected 5 rows (of 30 read)\n"
    assert len(pd.read_csv(tmp_path / "out.rejects.csv")) == 5  # the default: OUTPUT with .rejects.csv
    # the rows the path scored: the pipeline's probabilities, to the bit on its own path
    good = [position for position in range(30) if position not in EXPECTED_REJECTS]
    expected = joblib.load(small_repo / "models/model.joblib").predict_proba(rows.loc[good].drop(columns=["Status"]))[:, 1]
    difference = np.max(np.abs(read(tmp_path / "out.csv")["probability"].to_numpy() - expected))
    assert difference <= (0 if path == "scikit-learn" else BOUND)


def test_both_paths_write_the_same_rejects_and_the_same_scored_rows_but_for_the_last_bits(
        small_repo: Path, rows: pd.DataFrame, tmp_path: Path) -> None:
    source = planted(rows, tmp_path, ".csv")
    for path in RUNTIMES:
        score_file(on_path(small_repo / "models/bundle", path), source, tmp_path / f"{path}.parquet", tmp_path / f"{path}.csv", chunk_rows=7)
    assert (tmp_path / "onnxruntime.csv").read_bytes() == (tmp_path / "scikit-learn.csv").read_bytes()
    compiled, pipeline = read(tmp_path / "onnxruntime.parquet"), read(tmp_path / "scikit-learn.parquet")
    pd.testing.assert_frame_equal(compiled.drop(columns=["probability"]), pipeline.drop(columns=["probability"]))
    assert np.max(np.abs(compiled["probability"].to_numpy() - pipeline["probability"].to_numpy())) <= BOUND
    model = joblib.load(small_repo / "models/model.joblib")
    good = [position for position in range(30) if position not in EXPECTED_REJECTS]
    # in chunks of 7 rows: equal to the last bits only (BLAS picks its kernel by the rows multiplied at once)
    expected = model.predict_proba(rows.loc[good].drop(columns=["Status"]))[:, 1]
    np.testing.assert_allclose(pipeline["probability"], expected, rtol=1e-12, atol=0)


def test_too_many_rejects_is_a_verdict_exit_1_after_writing_everything(small_repo: Path, rows: pd.DataFrame, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    source = planted(rows, tmp_path, ".csv")
    code = main(["score", str(source), "--output", str(tmp_path / "out.csv"), "--model", str(small_repo / "models/bundle"),
                 "--max-reject-rate", "0.1"])
    assert code == 1
    error = capsys.readouterr().err.strip()
    assert error == (f"verdict: {source}: 5 of 30 rows rejected (16.7%), more than --max-reject-rate 0.1; "
                     f"their reasons are in {tmp_path / 'out.rejects.csv'}")
    assert len(read(tmp_path / "out.csv")) == 25 and len(pd.read_csv(tmp_path / "out.rejects.csv")) == 5


def test_the_old_second_positional_output_still_scores_with_a_one_line_notice(small_repo: Path, rows: pd.DataFrame, tmp_path: Path,
                                                                              capsys: pytest.CaptureFixture) -> None:
    source = planted(rows, tmp_path, ".csv")
    assert main(["score", str(source), str(tmp_path / "out.csv"), "--model", str(small_repo / "models/bundle")]) == 0
    captured = capsys.readouterr()
    assert captured.out == "scored 25 rows, rejected 5 rows (of 30 read)\n" and len(read(tmp_path / "out.csv")) == 25
    assert captured.err == ("warning: the output is now --output OUTPUT (score INPUT --output OUTPUT); "
                            "the second positional will be removed\n")
    assert main(["score", str(source), str(tmp_path / "a.csv"), "--output", str(tmp_path / "b.csv")]) == 2
    assert capsys.readouterr().err == f"error: give the output once: --output {tmp_path / 'b.csv'} or {tmp_path / 'a.csv'}, not both\n"


def one_error_line(capsys: pytest.CaptureFixture) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    return lines[0]


def test_a_missing_file_a_missing_column_an_unknown_column_are_one_line_and_leave_no_output(
        small_repo: Path, rows: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    model = ["--model", str(small_repo / "models/bundle")]
    output = tmp_path / "out.csv"
    assert main(["score", str(tmp_path / "nowhere.csv"), "--output", str(output), *model]) == 2
    assert one_error_line(capsys) == f"error: {tmp_path / 'nowhere.csv'}: file not found"
    rows.drop(columns=["Income"]).to_csv(source := tmp_path / "no_income.csv", index=False)
    assert main(["score", str(source), "--output", str(output), *model]) == 2
    assert one_error_line(capsys).startswith(f"error: {source}: column 'Income' missing; the model needs Seniority, Home, ")
    rows.assign(Notes="x", Branch="y").to_csv(source := tmp_path / "extra.csv", index=False)
    assert main(["score", str(source), "--output", str(output), *model]) == 2
    assert one_error_line(capsys) == (f"error: {source}: columns 'Notes', 'Branch' not in the model's data contract; "
                                      "remove them from the table")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["extra.csv", "no_income.csv"]  # no half output, no temp file


def test_a_tampered_bundle_is_refused_in_one_line(small_repo: Path, rows: pd.DataFrame, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    shutil.copytree(small_repo / "models/bundle", bundle_copy := tmp_path / "bundle")
    (bundle_copy / "model.joblib").write_bytes((bundle_copy / "model.joblib").read_bytes() + b"\0")
    rows.to_csv(source := tmp_path / "in.csv", index=False)
    assert main(["score", str(source), "--output", str(tmp_path / "out.csv"), "--model", str(bundle_copy)]) == 2
    assert "model.joblib: sha256" in one_error_line(capsys)
    assert not (tmp_path / "out.csv").exists()


def test_a_tampered_compiled_model_is_refused_naming_it_and_scikit_learn_still_scores(
        small_repo: Path, rows: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TABULAR_MLOPS_RUNTIME", raising=False)  # the default runtime loads the compiled model
    shutil.copytree(small_repo / "models/bundle", bundle_copy := tmp_path / "bundle")
    compiled = bundle_copy / "model.onnx"
    compiled.write_bytes(compiled.read_bytes()[:-1] + bytes([compiled.read_bytes()[-1] ^ 0x01]))
    rows.to_csv(source := tmp_path / "in.csv", index=False)
    command = ["score", str(source), "--output", str(output := tmp_path / "out.csv"), "--model", str(bundle_copy)]
    assert main(command) == 2
    assert one_error_line(capsys).startswith(f"error: {compiled}: missing, or its sha256 does not match")
    assert not output.exists()
    monkeypatch.setenv("TABULAR_MLOPS_RUNTIME", "scikit-learn")  # the variable, as --runtime: the pickle is verified on its own
    assert main(command) == 0
    expected = joblib.load(small_repo / "models/model.joblib").predict_proba(rows.drop(columns=["Status"]))[:, 1]
    assert read(output)["probability"].tolist() == expected.tolist()


def test_score_stage_scores_the_params_named_table(small_repo_copy: Path, rows: pd.DataFrame) -> None:
    repo = small_repo_copy
    # The pipeline's own run scored the test split: every row, none rejected.
    metrics = json.loads((repo / "metrics/score.json").read_text())
    test_rows = len(pd.read_parquet(repo / "data/prepared/test.parquet"))
    assert metrics == {"rows_read": test_rows, "rows_scored": test_rows, "rows_rejected": 0, "rejected_by_rule": {}}
    assert len(pd.read_parquet(repo / "data/scored/batch.parquet")) == test_rows

    planted(rows, repo / "data", ".csv")
    update_params(repo, lambda params: params["score"].update(input="data/planted.csv", output="data/scored/planted.csv"))
    result = dvc(repo, "repro", "score")
    assert result.returncode == 0, result.output
    assert ran_stages(result.output) == {"score"}
    assert "scored 25 rows, rejected 5 rows (of 30 read)" in result.output
    metrics = json.loads((repo / "metrics/score.json").read_text())
    assert metrics["rows_read"] == metrics["rows_scored"] + metrics["rows_rejected"] == 30
    assert metrics["rejected_by_rule"]["Home"] == {HOME_RULE: 1}
    assert sum(count for rules in metrics["rejected_by_rule"].values() for count in rules.values()) == 7
    assert len(pd.read_csv(repo / "data/scored/planted.csv")) == 25
    assert len(pd.read_csv(repo / "data/scored/rejects.csv")) == 5

"""`tabular-mlops synth`: a table of any size drawn from the bundled one, the same for the same seed,
with the source's missing rates, category shares and class balance, and passing the contract."""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from tabular_mlops.cli import main
from tabular_mlops.data.contract import contract_yaml, infer_contract, read_contract
from tabular_mlops.data.synth import BLOCK_ROWS, CHUNK_ROWS, Sampler, synth_rows, synth_table, write_synth
from tabular_mlops.data.tables import read_table
from tabular_mlops.data.validation import validate_table

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "data/raw/credit.csv"
CATEGORIES = ["Status", "Home", "Marital", "Records", "Job"]
NUMBERS = ["Seniority", "Time", "Age", "Expenses", "Income", "Assets", "Debt", "Amount", "Price"]
ROWS = 20_000


@pytest.fixture(scope="module")
def contract():
    return read_contract(ROOT / "data/contract.yaml")


@pytest.fixture(scope="module")
def validated(contract) -> pd.DataFrame:
    return validate_table(read_table(SOURCE), contract, SOURCE)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """ROWS rows written by the command with params.yaml's seed, read back by pandas."""
    out = tmp_path_factory.mktemp("synth") / "table.parquet"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)  # params.yaml, the contract and the source are read; nothing is written here
        assert main(["synth", "--rows", str(ROWS), "--output", str(out)]) == 0
    return pd.read_parquet(out)


def synth(*arguments: str) -> int:
    return main(["synth", *arguments])


def test_the_same_seed_gives_the_same_rows_and_another_seed_others(validated, contract) -> None:
    first = synth_table(validated, contract, 2_000, seed=7)
    pd.testing.assert_frame_equal(first, synth_table(validated, contract, 2_000, seed=7))
    other = synth_table(validated, contract, 2_000, seed=8)
    assert (first["Price"] != other["Price"]).mean() > 0.9


def test_a_shorter_table_is_the_start_of_a_longer_one(validated, contract) -> None:
    sampler = Sampler.from_table(validated, contract)
    longer = synth_rows(sampler, 3, 0, BLOCK_ROWS + 500)
    pd.testing.assert_frame_equal(synth_rows(sampler, 3, 0, 300), longer.iloc[:300])
    middle = synth_rows(sampler, 3, BLOCK_ROWS - 100, BLOCK_ROWS + 100)  # across a block boundary
    pd.testing.assert_frame_equal(middle, longer.iloc[BLOCK_ROWS - 100:BLOCK_ROWS + 100].reset_index(drop=True))
    # and each block has draws of its own
    assert (longer["Price"].iloc[:500].to_numpy() != longer["Price"].iloc[BLOCK_ROWS:].to_numpy()).mean() > 0.9


def test_the_file_does_not_depend_on_the_chunk_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    rows = str(2 * BLOCK_ROWS + 10)
    assert synth("--rows", rows, "--output", str(tmp_path / "one.csv"), "--seed", "5", "--chunk-rows", "1_000_000") == 0
    assert synth("--rows", rows, "--output", str(tmp_path / "three.csv"), "--seed", "5", "--chunk-rows", str(BLOCK_ROWS)) == 0
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "three.csv").read_bytes()


def binomial_tolerance(share: float, rows: int) -> float:
    """Five standard errors of a share estimated from `rows` draws: a real gap, not sampling noise."""
    return 5 * math.sqrt(share * (1 - share) / rows)


def test_missing_rates_category_shares_and_class_balance_are_the_sources(written: pd.DataFrame) -> None:
    source = pd.read_csv(SOURCE)  # read apart from the command's own reading and checking
    for column in source.columns:
        expected = source[column].isna().mean()
        assert abs(written[column].isna().mean() - expected) <= binomial_tolerance(expected, ROWS), column
    for column in CATEGORIES:  # Status: the class balance
        expected = source[column].value_counts(normalize=True)
        found = written[column].value_counts(normalize=True).reindex(expected.index, fill_value=0.0)
        assert set(written[column].dropna()) <= set(expected.index), column
        for label, share in expected.items():
            assert abs(found[label] - share) <= binomial_tolerance(share, ROWS), (column, label)


def test_numbers_are_jittered_but_keep_their_zeros_and_their_mean(written: pd.DataFrame) -> None:
    source = pd.read_csv(SOURCE)
    copies = written.merge(source.drop_duplicates(), how="inner")  # rows equal to a source row in every column
    assert len(copies) < 0.01 * ROWS
    for column in NUMBERS:
        values, reference = written[column].dropna(), source[column].dropna()
        zeros = (reference == 0).mean()
        assert abs((values == 0).mean() - zeros) <= binomial_tolerance(zeros, len(values)), column
        # the noise has mean 1 as a factor, so the mean moves by sampling error only
        assert abs(values.mean() - reference.mean()) <= 5 * reference.std() / math.sqrt(len(values)), column


def test_integer_columns_are_written_as_integers_in_both_formats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert synth("--rows", "500", "--output", str(tmp_path / "t.parquet")) == 0
    assert synth("--rows", "500", "--out", str(tmp_path / "t.csv")) == 0  # the old name: argparse reads it as --output
    schema = pq.read_schema(tmp_path / "t.parquet")
    assert {str(schema.field(name).type) for name in NUMBERS} == {"int64"}
    assert ".0" not in (tmp_path / "t.csv").read_text()
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "t.csv"), pd.read_parquet(tmp_path / "t.parquet"), check_dtype=False)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_the_table_passes_a_contract_whose_ranges_end_at_the_sources_extremes(
        suffix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every maximum is the source's own: jitter pushes values past it, so only clipping keeps them in.
    source = pd.read_csv(SOURCE)
    raw = yaml.safe_load((ROOT / "data/contract.yaml").read_text())
    for column in NUMBERS:
        raw["columns"][column]["max"] = float(source[column].max())
    (tmp_path / "data").mkdir()
    (tmp_path / "data/contract.yaml").write_text(yaml.safe_dump(raw))
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    monkeypatch.chdir(tmp_path)
    out = tmp_path / f"synth{suffix}"
    assert synth("--rows", "5000", "--output", str(out), "--source", str(SOURCE)) == 0
    table = read_table(out)
    validate_table(table, read_contract("data/contract.yaml"), out)  # the validate stage's check; raises on a violation
    assert all((table[column] == raw["columns"][column]["max"]).any() for column in ("Age", "Price"))
    assert all((table[column].dropna() % 1 == 0).all() for column in NUMBERS)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize(("arguments", "message"), [
    (["--rows", "0"], "--rows must be a whole number >= 1; got '0'"),
    (["--rows", "1e6"], "--rows must be a whole number >= 1; got '1e6'"),
    (["--rows", "10", "--seed", "-1"], "--seed must be a whole number >= 0; got '-1'"),
    (["--rows", "10", "--chunk-rows", "0"], "--chunk-rows must be a whole number >= 1; got '0'"),
    (["--rows", "10", "--source", "missing.csv"], "missing.csv: file not found"),
    (["--rows", "10", "--source", "{bad}"], "{bad}: column 'Age' must be >= 0, but line 3 holds -4.0"),
])
def test_bad_arguments_are_one_error_line_and_no_output(
        arguments: list[str], message: str, suffix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "bad.csv"
    table = pd.read_csv(SOURCE).head(5)
    table.loc[1, "Age"] = -4
    table.to_csv(bad, index=False)
    monkeypatch.chdir(ROOT)
    out = tmp_path / f"out{suffix}"
    assert synth(*[part.replace("{bad}", str(bad)) for part in arguments], "--output", str(out)) == 2
    assert capsys.readouterr().err.splitlines() == [f"error: {message.replace('{bad}', str(bad))}"]
    assert list(tmp_path.iterdir()) == [bad]


@pytest.mark.parametrize(("name", "message"), [
    ("out.txt", "unsupported output type '.txt'; expected a file name ending in .csv or .parquet"),
    ("folder", "is a folder; expected a file name ending in .csv or .parquet"),
])
def test_an_output_that_is_not_a_csv_or_parquet_file_is_refused(
        name: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "folder").mkdir()
    monkeypatch.chdir(ROOT)
    assert synth("--rows", "10", "--output", str(tmp_path / name)) == 2
    assert capsys.readouterr().err.splitlines() == [f"error: {tmp_path / name}: {message}"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["folder"]


def test_the_help_states_the_block_and_chunk_sizes(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        main(["synth", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"multiple of {BLOCK_ROWS:,}" in text and f"(default: {CHUNK_ROWS:,})" in text



@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_float_and_datetime_columns_of_another_table_pass_its_contract(suffix: str, tmp_path: Path) -> None:
    # The credit table has neither: floats are jittered without rounding, dates resampled as they are.
    source = tmp_path / "source.csv"
    pd.DataFrame({"y": ["a", "b", "a", "b"], "when": ["2024-01-31", "2024-02-01T10:00:00", None, "2024-03-01"],
                  "share": [0.5, 1.0, None, 0.25]}).to_csv(source, index=False)
    contract = infer_contract(read_table(source), "y", source).model_copy(deep=True)
    contract.columns["share"] = contract.columns["share"].model_copy(update={"max": 1.0})
    (tmp_path / "contract.yaml").write_text(contract_yaml(contract, source))
    out = tmp_path / f"out{suffix}"
    write_synth(source, tmp_path / "contract.yaml", out, rows=2_000, seed=1)
    table = validate_table(read_table(out), contract, out)  # raises on a violation
    shares = table["share"].dropna()
    assert shares.max() == 1.0 and (shares[shares < 1] % 0.25 != 0).all()  # 1.0 and above clipped to the max
    assert set(table["when"].dropna().dt.strftime("%Y-%m-%d %H:%M")) == {"2024-01-31 00:00", "2024-02-01 10:00", "2024-03-01 00:00"}

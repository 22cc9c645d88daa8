"""Batch scoring's quick path: Arrow reads a CSV as pandas would, a file Arrow refuses is read
by pandas and its bad line named, and the unseen-category column is the bundle's."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tabular_mlops.deployment.artifact import join_unseen, load_bundle
from tabular_mlops.deployment.batch import score_file, unseen_column
from tabular_mlops.deployment.chunks import ArrowRefused, check_csv, read_chunks, read_header
from tabular_mlops.errors import StageError

# Every kind of field pandas and a CSV writer may disagree on: a byte-order mark, CRLF and LF
# line ends, blank lines, quoted commas, quotes and line breaks, each text pandas reads as
# missing (quoted too), spaces around values, a blank header name, no line end at the end.
MISSING = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A",
           "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]
NASTY = ("\ufeffname,amount,,note\r\n"
         '1,"12,5",x,"say ""hi"""\r\n'
         "\r\n"
         '2, 12 ,"",  \n'
         '3,"multi\nline",é€😀,nan \n'
         + "".join(f'{4 + number},{text},"{text}",{text}x\n' for number, text in enumerate(MISSING))
         + "\n"
         + "99,-0,0x10,last")


@pytest.fixture(scope="module")
def small_bundle(small_repo: Path):
    return load_bundle(small_repo / "models/bundle")


def pandas_chunks(path: Path, rows: int) -> list[pd.DataFrame]:
    return [chunk.reset_index(drop=True) for chunk in pd.read_csv(path, chunksize=rows, dtype="str")]


@pytest.mark.parametrize("rows", [1, 4, 1000])
def test_arrow_reads_every_field_as_pandas_reads_it(tmp_path: Path, rows: int) -> None:
    (path := tmp_path / "nasty.csv").write_text(NASTY, encoding="utf-8", newline="")
    header, _ = read_header(path)
    assert header == ["name", "amount", "Unnamed: 2", "note"]
    chunks = list(read_chunks(path, header, rows))
    expected = pandas_chunks(path, rows)
    assert [len(chunk) for chunk in chunks] == [len(chunk) for chunk in expected]
    assert sum(map(len, chunks)) == 4 + len(MISSING)
    for chunk, reference in zip(chunks, expected):
        pd.testing.assert_frame_equal(chunk.reset_index(drop=True), reference)
    whole = pd.concat(chunks, ignore_index=True)
    assert whole.loc[0, "note"] == 'say "hi"' and whole.loc[2, "amount"] == "multi\nline"
    assert whole.loc[1, "amount"] == " 12 " and whole["Unnamed: 2"].isna().sum() == len(MISSING) + 1


def test_a_header_only_file_gives_one_empty_chunk_with_its_columns(tmp_path: Path) -> None:
    (path := tmp_path / "empty.csv").write_text("a,b\n", encoding="utf-8")
    [chunk] = read_chunks(path, ["a", "b"], 10)
    assert list(chunk.columns) == ["a", "b"] and chunk.empty


@pytest.mark.parametrize(("text", "message"), [
    ("a,b\n1,2\n3\n4,5\n", "line 3 has 1 fields but the header has 2"),
    ("a,b\n1,2\n3,4,5\n", "line 3 has 3 fields but the header has 2"),
    ("a,b\n1,2\n3,\xff\n", "not a readable UTF-8 CSV"),
])
def test_arrow_refuses_a_short_or_long_row_or_bytes_not_utf8_and_the_line_check_names_them(tmp_path: Path, text: str,
                                                                                         message: str) -> None:
    (path := tmp_path / "bad.csv").write_bytes(text.encode("latin-1"))
    with pytest.raises((ArrowRefused, StageError)):  # (Python's decoder may stop first, reading the header)
        list(read_chunks(path, ["a", "b"], 10))
    with pytest.raises(StageError, match=f"bad.csv: {message}"):
        check_csv(path)


def test_a_short_row_stops_the_run_with_its_line_and_leaves_no_output(small_repo: Path, small_bundle, tmp_path: Path) -> None:
    rows = pd.read_parquet(small_repo / "data/prepared/test.parquet").head(5)
    lines = rows.to_csv(index=False).splitlines()
    lines.insert(3, ",".join(lines[1].split(",")[:-1]))  # line 4 (data row 2): a field short
    (path := tmp_path / "short.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    columns = len(rows.columns)
    with pytest.raises(StageError, match=f"short.csv: line 4 has {columns - 1} fields but the header has {columns}"):
        score_file(small_bundle, path, tmp_path / "out.parquet", tmp_path / "rejects.csv")
    assert [item.name for item in tmp_path.iterdir()] == ["short.csv"]  # no output, no temporary file


def test_a_value_longer_than_arrows_block_is_read_whole(small_repo: Path, small_bundle, tmp_path: Path) -> None:
    rows = pd.read_parquet(small_repo / "data/prepared/test.parquet").head(6).reset_index(drop=True)
    rows.loc[4, "Home"] = "x" * 100_000  # Arrow reads about two rows' bytes at a time here (64 KiB at least)
    rows.to_csv(path := tmp_path / "long.csv", index=False)
    for chunk, expected in zip(read_chunks(path, list(rows.columns), 2), pandas_chunks(path, 2)):
        pd.testing.assert_frame_equal(chunk, expected)
    counts = score_file(small_bundle, path, tmp_path / "out.parquet", rejects := tmp_path / "rejects.csv", chunk_rows=2)
    assert (counts.scored, counts.rejected) == (5, 1)
    rejected = pd.read_csv(rejects)
    assert rejected["row"].tolist() == [4] and rejected.loc[0, "Home"] == "x" * 100_000


def test_the_unseen_column_is_the_bundles_unseen_categories_joined(small_bundle) -> None:
    seen = small_bundle.seen_categories
    assert len(seen) >= 2
    first, second = list(seen)[:2]
    known = {column: sorted(values)[0] for column, values in seen.items()}
    rows = pd.DataFrame([known, known | {first: "never"}, known | {first: None, second: "nope"},
                         known | {first: "never", second: "nope"}, known | {second: np.nan}]).astype("str")
    expected = join_unseen(small_bundle.unseen_categories(rows))
    assert expected == ["", first, second, f"{first};{second}", ""]
    column = unseen_column(small_bundle, rows)
    assert column.tolist() == expected and column.dtype == "str"

"""Reading the user's table with errors that name the file; writing Parquet atomically."""
import pandas as pd
import pytest

from tabular_mlops.errors import StageError
from tabular_mlops.data.tables import read_table, require_columns, write_parquet

FRAME = pd.DataFrame({"Income": [100.0, None, 250.5], "Home": ["rent", "owner", None], "Age": [30, 41, 52]})


def write_csv(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_is_read_with_its_columns_and_missing_values(tmp_path):
    table = read_table(write_csv(tmp_path / "t.csv", "Income,Home,Age\n100,rent,30\n,owner,41\n"))
    assert list(table.columns) == ["Income", "Home", "Age"]
    assert table["Income"].isna().tolist() == [False, True]
    assert table["Age"].tolist() == [30, 41]


def test_parquet_round_trips_through_write_parquet(tmp_path):
    write_parquet(tmp_path / "t.parquet", FRAME)
    pd.testing.assert_frame_equal(read_table(tmp_path / "t.parquet"), FRAME)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(StageError, match=r"absent\.csv: file not found"):
        read_table(tmp_path / "absent.csv")


def test_empty_file_is_refused(tmp_path):
    with pytest.raises(StageError, match=r"empty\.csv: file is empty"):
        read_table(write_csv(tmp_path / "empty.csv", ""))


def test_header_only_csv_is_refused_naming_its_columns(tmp_path):
    with pytest.raises(StageError, match=r"the table has no data rows \(columns: Income, Age\)"):
        read_table(write_csv(tmp_path / "t.csv", "Income,Age\n"))


def test_repeated_column_name_in_csv_header_is_refused_not_renamed(tmp_path):
    with pytest.raises(StageError, match=r"column names must be unique, but 'Income' appear more than once"):
        read_table(write_csv(tmp_path / "t.csv", "Income,Age,Income\n1,2,3\n"))


def test_unsupported_suffix_is_refused_listing_the_supported_ones(tmp_path):
    with pytest.raises(StageError, match=r"unsupported file type '\.xlsx'; expected one of \.csv, \.parquet"):
        read_table(tmp_path / "t.xlsx")


def test_csv_row_with_more_fields_than_the_header_is_refused(tmp_path):
    with pytest.raises(StageError, match=r"t\.csv: line 3 has 4 fields but the header has 3"):
        read_table(write_csv(tmp_path / "t.csv", "a,b,c\n1,2,3\n4,5,6,7\n"))


def test_csv_row_with_fewer_fields_than_the_header_is_refused(tmp_path):
    # pandas pads a short row with NaN, so a shifted row would be read silently as missing values.
    with pytest.raises(StageError, match=r"t\.csv: line 3 has 2 fields but the header has 3"):
        read_table(write_csv(tmp_path / "t.csv", "a,b,c\n1,2,3\n4,5\n"))


def test_csv_that_is_not_utf8_is_refused_with_a_stage_error(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("Home,Age\ncafé,30\n".encode("latin-1"))
    with pytest.raises(StageError, match=r"t\.csv: not a readable UTF-8 CSV"):
        read_table(path)


def test_corrupt_parquet_is_refused(tmp_path):
    path = tmp_path / "t.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(StageError, match=r"t\.parquet: not a readable Parquet file"):
        read_table(path)


def test_write_parquet_gives_the_same_bytes_for_the_same_frame_and_leaves_no_temporary_files(tmp_path):
    first, second = tmp_path / "a" / "t.parquet", tmp_path / "b" / "t.parquet"
    write_parquet(first, FRAME)
    write_parquet(second, FRAME.copy())
    assert first.read_bytes() == second.read_bytes()
    assert [p.name for p in first.parent.iterdir()] == ["t.parquet"]


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "t.parquet"
    write_parquet(path, FRAME)
    before = path.read_bytes()
    unwritable = pd.DataFrame({"mixed": [1, "a", 2.5]})  # pyarrow cannot give this column one type
    with pytest.raises((TypeError, ValueError)):  # pyarrow.ArrowTypeError / ArrowInvalid
        write_parquet(path, unwritable)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]


def test_require_columns_names_the_key_and_the_missing_columns(tmp_path):
    with pytest.raises(StageError, match=r"data\.drop_columns names 'Id', which the table does not have"):
        require_columns("t.csv", FRAME, ["Age", "Id"], "data.drop_columns")

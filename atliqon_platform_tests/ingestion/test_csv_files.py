import pytest

from atliqon_platform.ingestion.csv_files import MissingColumnsError, parse_csv

COLUMNS = ("a", "b")


def test_rows_keep_their_line_numbers_and_column_order_does_not_matter():
    table = parse_csv(b'b,a\n2,1\n\n"x, y",3\n', "f.csv", COLUMNS)
    assert table.column("a").to_pylist() == ["1", "3"]
    assert table.column("b").to_pylist() == ["2", "x, y"]
    assert table.column("line_number").to_pylist() == [2, 4]


def test_wrong_field_count_and_bad_bytes_become_rows_with_reasons():
    table = parse_csv(b"a,b\n1,2,3\n1,\xff\xfe\n5,6\n", "f.csv", COLUMNS)
    assert table.column("parse_error").to_pylist() == [
        "line 2: expected 2 fields, found 3",
        "line 3, column 3: bytes that are not UTF-8",
        None,
    ]
    assert table.column("raw_line").to_pylist()[0] == "1,2,3"
    assert table.column("a").to_pylist() == [None, None, "5"]


def test_missing_header_column_names_file_and_columns():
    with pytest.raises(MissingColumnsError, match=r"f.csv, line 1: header lacks required column\(s\) b"):
        parse_csv(b"a,c\n1,2\n", "f.csv", COLUMNS)


def test_zero_byte_file_is_an_empty_table():
    assert parse_csv(b"", "f.csv", COLUMNS).num_rows == 0

import codecs
import csv
import io

import pyarrow as pa
import pytest

from atliqon_platform.ingestion.csv_files import (
    MissingColumnsError,
    parse_csv,
    read_line_by_line,
    read_well_formed,
)
from atliqon_platform.sample_data.synthetic import Scale, generate

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


def _both_readers(data: bytes) -> tuple[pa.Table | None, pa.Table]:
    text = data.removeprefix(codecs.BOM_UTF8).decode("utf-8", "surrogateescape")
    header = [name.strip() for name in next(csv.reader(io.StringIO(text, newline="")))]
    return read_well_formed(data.removeprefix(codecs.BOM_UTF8), header, header), read_line_by_line(
        text, header, header
    )


def test_fast_reader_gives_the_line_by_line_result_on_every_real_and_synthetic_file(reference_dataset):
    files = {str(path): path.read_bytes() for path in sorted(reference_dataset.rglob("*.csv"))}
    generate(files.__setitem__, Scale(days=3))
    for name, data in files.items():
        fast, line_by_line = _both_readers(data)
        assert fast is not None, f"{name} fell back to the line-by-line reader"
        assert fast.equals(line_by_line), name


@pytest.mark.parametrize(
    "data",
    [
        b"a,b\n1,2\n\n3,4\n",  # a blank line moves the line numbers
        b"a,b\n1,2\n3\n",  # a row of another width
        b'a,b\n"x\ny",2\n3,4\n',  # a quoted line break: one row over two lines
        b"a,b\n1,\xff\n",  # bytes that are not UTF-8
        b"a,b\r1,2\r",  # old Mac line ends
    ],
)
def test_files_that_are_not_one_row_per_line_go_line_by_line(data):
    fast, line_by_line = _both_readers(data)
    assert fast is None
    assert parse_csv(data, "f.csv", COLUMNS).equals(line_by_line)

import bz2
import codecs
import gzip
import io
import lzma
import zipfile

import pyarrow as pa
import pytest

from atliqon_platform.ingestion.csv_files import (
    FILE_REFUSED,
    SHOWN_HEADER_CHARACTERS,
    layout_of,
    parse_csv,
    read_line_by_line,
    read_well_formed,
)
from atliqon_platform.sample_data.synthetic import Scale, generate

COLUMNS = ("a", "b")
PLAIN = b"a,b\n1,x\n2,y\n"


def rows(data: bytes) -> list[tuple]:
    table = parse_csv(data, "f.csv", COLUMNS).table
    return list(zip(*(table.column(name).to_pylist() for name in (*COLUMNS, "line_number")), strict=True))


def test_rows_keep_their_line_numbers_and_column_order_does_not_matter():
    assert rows(b'b,a\n2,1\n\n"x, y",3\n') == [("1", "2", 2), ("3", "x, y", 4)]


def test_wrong_field_count_and_bad_bytes_become_rows_with_their_raw_text_and_reasons():
    table = parse_csv(b'a,b\n1,2,"3"\n1,\xff\xfe\n5,6\n', "f.csv", COLUMNS).table
    assert table.column("parse_error").to_pylist() == [
        "line 2: expected 2 fields, found 3",
        "line 3, column 2: bytes that are not UTF-8",
        None,
    ]
    assert table.column("raw_line").to_pylist() == ['1,2,"3"', "1,\ufffd\ufffd", None]
    assert table.column("a").to_pylist() == [None, None, "5"]


def zipped(data: bytes) -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as folder:
        folder.writestr("f.csv", data)
    return archive.getvalue()


READ_AS_PLAIN = {
    "columns in another order": b"b,a\nx,1\ny,2\n",
    "UTF-8 byte-order mark": codecs.BOM_UTF8 + PLAIN,
    "UTF-16 with its byte-order mark": PLAIN.decode().encode("utf-16"),
    "CRLF line ends": PLAIN.replace(b"\n", b"\r\n"),
    "CR line ends": PLAIN.replace(b"\n", b"\r"),
    "semicolon delimiter": PLAIN.replace(b",", b";"),
    "tab delimiter": PLAIN.replace(b",", b"\t"),
    "pipe delimiter": PLAIN.replace(b",", b"|"),
    "gzip-compressed": gzip.compress(PLAIN),
    "bzip2-compressed": bz2.compress(PLAIN),
    "xz-compressed": lzma.compress(PLAIN),
}


@pytest.mark.parametrize("data", READ_AS_PLAIN.values(), ids=READ_AS_PLAIN.keys())
def test_unambiguous_variants_read_exactly_as_the_plain_file(data):
    assert parse_csv(data, "f.csv", COLUMNS).table.equals(parse_csv(PLAIN, "f.csv", COLUMNS).table)


REFUSED = {
    "missing column": (b"a,c\n1,2\n\n3,4\n", "header lacks required column(s) b (found: a, c)", [1, 2, 4]),
    "not CSV (JSON lines)": (b'{"a": 1}\n{"b": 2}\n', "header lacks required column(s) a, b", [1, 2]),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00IHDR", "binary content", [1, 2, 3]),
    "zip archive": (zipped(PLAIN), "a zip archive", None),
    "broken gzip": (gzip.compress(PLAIN)[:-6], "gzip-compressed data that does not decompress", None),
    "broken UTF-16": (codecs.BOM_UTF16_LE + b"a\x00,\x00b", "UTF-16 text (by its byte-order mark)", None),
}


@pytest.mark.parametrize(("data", "why", "lines"), REFUSED.values(), ids=REFUSED.keys())
def test_a_file_that_is_not_the_contracts_csv_is_refused_line_by_line_with_its_reason(data, why, lines):
    parsed = parse_csv(data, "orders/x.csv", COLUMNS)
    assert why in parsed.refused
    table = parsed.table
    assert set(table.column("parse_error").to_pylist()) == {f"{FILE_REFUSED}: orders/x.csv: {parsed.refused}"}
    assert table.column("a").null_count == table.column("b").null_count == table.num_rows > 0
    if lines is not None:  # every non-blank line, the header included, with its raw text
        assert table.column("line_number").to_pylist() == lines
        text = data.decode("utf-8", "replace").splitlines()
        assert table.column("raw_line").to_pylist() == [text[number - 1] for number in lines]


def test_columns_beyond_the_contract_are_rescued_per_line_as_json():
    parsed = parse_csv(b'b,note,a,,b\nx,"hi, there",1,,dup\ny,,2,z,\n', "f.csv", COLUMNS)
    assert parsed.new_columns == ("note", "_c3", "_c4")
    assert parsed.table.column("rescued_data").to_pylist() == [
        '{"note": "hi, there", "_c3": "", "_c4": "dup"}',
        '{"note": "", "_c3": "z", "_c4": ""}',
    ]
    assert rows(b"b,note,a\nx,n,1\n") == [("1", "x", 2)]


def test_header_names_are_read_without_the_spaces_around_them():
    assert rows(b" a , b\n1,x\n") == [("1", "x", 2)]


def test_a_long_header_is_shown_cut_to_its_first_characters():
    names = [f"col{i:03d}" for i in range(60)]  # neither a nor b
    parsed = parse_csv(",".join(names).encode() + b"\n1\n", "f.csv", COLUMNS)
    assert parsed.refused.endswith(f"(found: {', '.join(names)[:SHOWN_HEADER_CHARACTERS]}...)")


def test_empty_and_header_only_files_have_no_rows():
    for data in (b"", b" \n", b"a,b\n", codecs.BOM_UTF8 + b"b,a\r\n"):
        parsed = parse_csv(data, "f.csv", COLUMNS)
        assert (parsed.table.num_rows, parsed.refused) == (0, None)


def _both_readers(data: bytes, columns: tuple[str, ...] | None = None) -> tuple[pa.Table | None, pa.Table]:
    columns = columns or COLUMNS
    data = data.removeprefix(codecs.BOM_UTF8)
    text = data.decode("utf-8", "surrogateescape")
    layout = layout_of(data, text, columns)
    return read_well_formed(data, columns, layout), read_line_by_line(text, columns, layout)


def test_fast_reader_gives_the_line_by_line_result_on_every_real_and_synthetic_file(reference_dataset):
    files = {str(path): path.read_bytes() for path in sorted(reference_dataset.rglob("*.csv"))}
    generate(files.__setitem__, Scale(days=3))
    for name, data in files.items():
        header = tuple(data.split(b"\n", 1)[0].decode().strip().split(","))
        fast, line_by_line = _both_readers(data, header)
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
        b'a,b\n"x\ny",1\r3,4\n',  # a quoted line break and a CR line end: the line count is even
    ],
)
def test_files_that_are_not_one_row_per_line_go_line_by_line(data):
    fast, line_by_line = _both_readers(data)
    assert fast is None
    assert parse_csv(data, "f.csv", COLUMNS).table.equals(line_by_line)


@pytest.mark.parametrize(
    "record",
    [b'2,"y', b'"2" ,"y', b'"2"x,"y'],
    ids=["the quote opens the field", "after a space past a closed quote", "after a closed quote's text"],
)
def test_a_quote_never_closed_keeps_the_rest_of_the_file_as_one_quarantined_record(record):
    """The lenient reader would close the field at the end of the file: one good row holding
    every later line in one value, those lines lost without a reason."""
    table = parse_csv(b"a,b\n1,x\n" + record + b"\n3,z\n4,w\n", "f.csv", COLUMNS).table
    assert table.column("a").to_pylist() == ["1", None]
    assert table.column("line_number").to_pylist() == [2, 3]
    assert table.column("parse_error").to_pylist() == [
        None,
        "line 3: a quoted field is not closed: lines 3 to 5, the end of the file, are one record",
    ]
    assert table.column("raw_line").to_pylist() == [None, record.decode() + "\n3,z\n4,w"]


def test_quoted_line_breaks_escaped_quotes_and_text_after_a_closed_quote_are_read_as_before():
    data = b'a,b\n"x\ny",1\n"say ""hi""",2\n"3" ,z\n"4"w,v\n5,"last\nline"'
    assert rows(data) == [
        ("x\ny", "1", 2),
        ('say "hi"', "2", 4),
        ("3 ", "z", 5),
        ("4w", "v", 6),
        ("5", "last\nline", 7),
    ]


def test_a_field_longer_than_the_csv_modules_limit_is_read_whole_by_both_readers():
    """At the csv module's default limit (128 KiB) the line-by-line reader (here, for a blank
    line) failed the record and read the lines quoted in the field as rows of their own."""
    long = b"x" * 200_000
    one_row_per_line = b'a,b\n1,"' + long + b'"\n3,z\n'
    with_a_blank_line = b'a,b\n\n1,"' + long + b'\n2,y"\n3,z\n'
    assert rows(one_row_per_line) == [("1", long.decode(), 2), ("3", "z", 3)]
    assert rows(with_a_blank_line) == [("1", long.decode() + "\n2,y", 3), ("3", "z", 5)]
    fast, line_by_line = _both_readers(one_row_per_line)
    assert fast is not None and fast.equals(line_by_line)

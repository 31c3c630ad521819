"""The CSV reader fuzzed (no Spark: ingestion is Python and Arrow). Whatever the bytes, parsing
never raises, and every line is accounted for: as a row with its values, or as a quarantined
line with its raw text and a reason naming it."""

from __future__ import annotations

import codecs
import csv
import io
import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atliqon_platform.ingestion.csv_files import (
    COMPRESSIONS,
    DELIMITERS,
    FILE_REFUSED,
    layout_of,
    parse_csv,
    read_line_by_line,
    read_well_formed,
)

COLUMNS = ("a", "b", "c")
LINE_BREAK = re.compile(r"\r\n|\r|\n")
FUZZ = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def physical_lines(text: str) -> list[str]:
    lines = LINE_BREAK.split(text)
    return lines[:-1] if lines and lines[-1] == "" else lines


def check_shape(table) -> list[dict]:
    """Every row is either a row of values, or a quarantined line with raw text and reason."""
    assert table.column_names == [*COLUMNS, "line_number", "parse_error", "raw_line", "rescued_data"]
    rows = table.to_pylist()
    for row in rows:
        if row["parse_error"] is None:
            assert row["raw_line"] is None and None not in [row[name] for name in COLUMNS]
        else:
            assert row["raw_line"] is not None and [row[name] for name in COLUMNS] == [None] * len(COLUMNS)
            assert row["rescued_data"] is None
    numbers = [row["line_number"] for row in rows]
    assert numbers == sorted(set(numbers)), "line numbers repeat or go back"
    return rows


def expected_records(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """(first line, fields) of each non-blank record after the header, by the csv module's own
    line count (the reader under test keeps its own)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    next(reader)
    records, previous = [], reader.line_num
    for fields in reader:
        if fields:
            records.append((previous + 1, fields))
        previous = reader.line_num
    return records


arbitrary = st.tuples(
    st.sampled_from([b"", b"a,b,c\n", b"c;a;x;b\r\n", b'"b",a,c,"x\ny"\n']),
    st.binary(max_size=600),
    st.lists(st.sampled_from([b",", b";", b'"', b"\n", b"\r", b"\r\n", b"\x00", b"\xff", b"x"]), max_size=40),
).map(lambda parts: parts[0] + parts[1] + b"".join(parts[2]))


@FUZZ
@given(arbitrary)
def test_arbitrary_bytes_never_raise_and_every_line_is_a_row_or_a_quarantined_line(data):
    compressed = data.startswith(tuple(COMPRESSIONS)) or data.startswith((codecs.BOM_UTF16_LE, b"\xfe\xff"))
    parsed = parse_csv(data, "f.csv", COLUMNS)
    rows = check_shape(parsed.table)
    if compressed:
        return  # its lines are those of the content; the shape is what can be checked
    text = data.removeprefix(codecs.BOM_UTF8).decode("utf-8", "surrogateescape")
    if not text.strip():
        assert rows == []
        return
    if parsed.refused:
        lines = physical_lines(text)
        numbered = [(number, line) for number, line in enumerate(lines, start=1) if line.strip()]
        assert [(row["line_number"], row["raw_line"]) for row in rows] == [
            (number, line.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
            for number, line in numbered
        ]
        assert {row["parse_error"] for row in rows} == {f"{FILE_REFUSED}: f.csv: {parsed.refused}"}
        return
    layout = layout_of(data.removeprefix(codecs.BOM_UTF8), text, COLUMNS)
    records = expected_records(text, layout.delimiter)
    assert [row["line_number"] for row in rows] == [first for first, _ in records]
    for row, (first, fields) in zip(rows, records, strict=True):
        if row["parse_error"] is None:
            assert [row[name] for name in COLUMNS] == [fields[position] for position in layout.positions]
        else:
            assert row["parse_error"].startswith(f"line {first}")


@st.composite
def csv_files(draw) -> tuple[bytes, list[tuple[int, dict[str, str] | None]], tuple[str, ...]]:
    """A file written the way a spreadsheet or a script would write it, and what it holds: the
    first line of each record with its fields by name, or None for a record that must be
    quarantined (wrong width, bytes that are not UTF-8); and the header's columns beyond the
    contract, in its order."""
    extras = draw(st.lists(st.sampled_from(["note", "channel", "x_1"]), unique=True, max_size=2))
    header = draw(st.permutations([*COLUMNS, *extras]))
    delimiter = draw(st.sampled_from(DELIMITERS))
    terminator = draw(st.sampled_from(["\n", "\r\n"]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    # Half the files are one row per line (Arrow's fast reader takes those), half anything goes.
    one_row_per_line = draw(st.booleans())
    alphabet = 'ab ,;|\t"\x00é€' if one_row_per_line else 'ab ,;|\t"\r\n\x00é€'
    values = st.text(alphabet=st.sampled_from(alphabet), max_size=6)
    kinds = ["row"] if one_row_per_line else ["row", "row", "row", "blank", "short", "latin-1"]

    def written(fields: list[str]) -> str:
        # Python's writer quotes only the line terminator's characters: a CR must be quoted by hand,
        # or the file is ambiguous for every reader.
        quote = csv.QUOTE_ALL if any("\r" in field for field in fields) else quoting
        out = io.StringIO()
        csv.writer(out, delimiter=delimiter, lineterminator=terminator, quoting=quote).writerow(fields)
        return out.getvalue()

    chunks = [written(header)]
    expected = []
    line = 1 + len(LINE_BREAK.findall(chunks[0]))
    for kind in draw(st.lists(st.sampled_from(kinds), max_size=12)):
        if kind == "blank":
            chunks.append(terminator)
            line += 1
            continue
        width = len(header) - 1 if kind == "short" else len(header)
        fields = draw(st.lists(values, min_size=width, max_size=width))
        if kind == "latin-1":
            fields[0] = "caf\udce9"  # a byte that is not UTF-8 (Latin-1 é), as surrogateescape keeps it
        text = written(fields)
        chunks.append(text)
        good = kind == "row"
        named = dict(zip(header, fields, strict=True)) if good else None
        expected.append((line, named))
        line += len(LINE_BREAK.findall(text))
    bom = codecs.BOM_UTF8 if draw(st.booleans()) else b""
    new_columns = tuple(name for name in header if name in extras)
    return bom + "".join(chunks).encode("utf-8", "surrogateescape"), expected, new_columns


@FUZZ
@given(csv_files())
def test_every_written_record_comes_back_as_its_row_or_quarantined_at_its_line(generated):
    data, expected, extras = generated
    parsed = parse_csv(data, "f.csv", COLUMNS)
    assert parsed.refused is None
    rows = check_shape(parsed.table)
    assert [row["line_number"] for row in rows] == [line for line, _ in expected]
    for row, (line, named) in zip(rows, expected, strict=True):
        if named is None:
            assert row["parse_error"].startswith(f"line {line}")
            continue
        assert row["parse_error"] is None
        assert {name: row[name] for name in COLUMNS} == {name: named[name] for name in COLUMNS}
        rescued = json.loads(row["rescued_data"]) if extras else None
        assert rescued == ({name: named[name] for name in extras} if extras else None)
    assert parsed.new_columns == extras
    plain = data.removeprefix(codecs.BOM_UTF8)
    text = plain.decode("utf-8", "surrogateescape")
    layout = layout_of(plain, text, COLUMNS)
    fast = read_well_formed(plain, COLUMNS, layout)
    assert fast is None or fast.equals(read_line_by_line(text, COLUMNS, layout)), "the two readers differ"

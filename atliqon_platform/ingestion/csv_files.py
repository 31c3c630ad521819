"""Turn a delivered file into an Arrow table of raw string columns, one row per line.

Bronze keeps data as delivered, so nothing is typed here, and nothing is dropped:
- a line that is not a well-formed row (wrong number of fields, bytes that are not UTF-8) is a
  row with its raw text and why, which silver quarantines with its line number;
- a file that cannot be read as the contract's CSV at all (its header lacks a column, it is not
  text, it does not decompress) is refused whole: each of its lines is a row carrying the file's
  reason, so that one bad file is quarantined and the rest of the run goes on;
- columns beyond the contract are kept per line, as JSON in ``rescued_data``.
What is unambiguous is read as meant: a byte-order mark (UTF-8, or UTF-16, re-encoded), CRLF or
CR line ends, ``;``, tab or ``|`` as delimiter when the header is written with it, columns in
any order, gzip, bzip2 or xz compression.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import io
import json
import lzma
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.csv as pacsv

LINE_NUMBER = "line_number"
PARSE_ERROR = "parse_error"
RAW_LINE = "raw_line"
RESCUED_DATA = "rescued_data"
FILE_REFUSED = "file refused"
"""How the parse error of every line of a refused file starts (and silver's reason for it)."""

DELIMITERS = (",", ";", "\t", "|")
COMPRESSIONS: dict[bytes, tuple[str, Callable[[bytes], bytes]]] = {
    b"\x1f\x8b": ("gzip", gzip.decompress),
    b"BZh": ("bzip2", bz2.decompress),
    b"\xfd7zXZ\x00": ("xz", lzma.decompress),
}
DECOMPRESSION_ERRORS = (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError)
SHOWN_HEADER_CHARACTERS = 200

# A field may be as long as its file, which is in memory whole already. At the csv module's
# default limit (128 KiB) a longer quoted field was an error, after which the reader went on
# inside the field and read the lines quoted in it as rows (Arrow's reader takes such a field).
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


class FileRefused(ValueError):
    """A file that cannot be read as the contract's CSV; the message says why."""


@dataclass(frozen=True)
class ParsedFile:
    """The rows of one file, and what bronze's checks report about the file as a whole."""

    table: pa.Table
    refused: str | None = None  # why the file was refused (every line), None when it was read
    new_columns: tuple[str, ...] = ()  # header columns outside the contract, kept in rescued_data


@dataclass(frozen=True)
class Layout:
    """How a file's header maps onto the contract: delimiter, header names, contract columns'
    positions, and the position and JSON key of every other column."""

    delimiter: str
    names: tuple[str, ...]
    positions: tuple[int, ...]
    extras: tuple[tuple[int, str], ...]

    @property
    def width(self) -> int:
        return len(self.names)


def _clean(value: str) -> str:
    """Text safe to store: bytes that were not UTF-8 (kept as lone surrogates) become U+FFFD."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _first_undecodable(fields: Sequence[str]) -> int | None:
    """Index of the first field holding a byte that was not UTF-8."""
    for index, field in enumerate(fields):
        if any("\udc80" <= char <= "\udcff" for char in field):
            return index
    return None


def _uncompressed(data: bytes) -> bytes:
    """The content of a gzip, bzip2 or xz file delivered under a .csv name; other data as is."""
    for magic, (name, decompress) in COMPRESSIONS.items():
        if data.startswith(magic):
            try:
                return decompress(data)
            except DECOMPRESSION_ERRORS as error:
                raise FileRefused(f"{name}-compressed data that does not decompress ({error})") from None
    return data


def _utf8(data: bytes) -> bytes:
    """UTF-8 without its byte-order mark; UTF-16, which announces itself with one, re-encoded."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16").encode("utf-8")
        except UnicodeError as error:
            raise FileRefused(f"UTF-16 text (by its byte-order mark) that does not decode: {error}") from None
    return data.removeprefix(codecs.BOM_UTF8)


def _records(text: str, delimiter: str) -> Iterator[tuple[int, str, list[str] | str]]:
    """(first line number, raw text, fields) of each CSV record, or the csv module's complaint
    instead of the fields. Line ends are \\n, \\r\\n or \\r, as the csv module counts them."""
    consumed: list[str] = []
    number = 0

    def lines() -> Iterator[str]:
        for line in io.StringIO(text, newline=""):
            consumed.append(line)
            yield line

    reader = csv.reader(lines(), delimiter=delimiter)
    while True:
        first = number + 1
        try:
            fields: list[str] | str = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            fields = str(error)
        number += len(consumed)
        raw = "".join(consumed)
        if not isinstance(fields, str) and '"' in raw and _runs_out_quoted(raw, delimiter):
            fields = (
                f"a quoted field is not closed: lines {first} to {number}, the end of the file, "
                "are one record"
            )
        yield first, raw.rstrip("\r\n"), fields
        consumed.clear()


# A line no delivered file holds (two Unicode noncharacters around a name).
_END_PROBE = "\uffffatliqon end of file probe\uffff"


def _runs_out_quoted(raw: str, delimiter: str) -> bool:
    """Whether a record ends inside a quoted field, which only the end of the file does: read
    again with a line after it, the field takes that line in.

    The reader closes such a field at the end of the file (Arrow's gives up on the file): the
    rest of the file would be one value of one row, its lines lost without a word."""
    ended = raw if raw.endswith(("\n", "\r")) else raw + "\n"
    try:
        record = next(csv.reader(io.StringIO(ended + _END_PROBE, newline=""), delimiter=delimiter))
    except csv.Error:
        return False
    return any(_END_PROBE in field for field in record)


def _header(text: str, delimiter: str) -> list[str]:
    for _, _, fields in _records(text, delimiter):
        return [name.strip() for name in fields] if isinstance(fields, list) else []
    return []


def _not_text(data: bytes, header_line: str) -> str | None:
    """Why a file whose header does not fit is not CSV text at all, if it is not."""
    if data.startswith(b"PK\x03\x04"):
        return "a zip archive (an Excel workbook is one), not CSV text"
    if "\x00" in header_line or _first_undecodable([header_line]) is not None:
        return "binary content (NUL bytes or bytes that are not UTF-8 in its first line), not CSV text"
    return None


def layout_of(data: bytes, text: str, columns: Sequence[str]) -> Layout:
    """The first delimiter whose header names every contract column; a file with none is refused."""
    for delimiter in DELIMITERS:
        header = _header(text, delimiter)
        if all(name in header for name in columns):
            names = tuple(map(_clean, header))
            positions = tuple(header.index(name) for name in columns)
            extras = tuple(
                (index, name if name and names.count(name) == 1 else f"_c{index}")
                for index, name in enumerate(names)
                if index not in positions
            )
            return Layout(delimiter, names, positions, extras)
    first_line = next(io.StringIO(text, newline=""), "")
    not_text = _not_text(data, first_line)
    if not_text:
        raise FileRefused(not_text)
    header = _header(text, ",")
    found = _clean(", ".join(header))
    if len(found) > SHOWN_HEADER_CHARACTERS:
        found = found[:SHOWN_HEADER_CHARACTERS] + "..."
    missing = ", ".join(name for name in columns if name not in header)
    raise FileRefused(f"header lacks required column(s) {missing} (found: {found or 'nothing'})")


Values = list[str | None] | pa.Array | pa.ChunkedArray


def _table(
    columns: Sequence[str],
    values: dict[str, Values],
    line_numbers: list[int] | pa.Array,
    errors: Values,
    raw_lines: Values,
    rescued: Values,
) -> pa.Table:
    """The bronze shape: the contract's columns, then line number, parse error, raw line, rescued data."""

    def typed(data: Values | list[int], kind: pa.DataType) -> pa.Array | pa.ChunkedArray:
        return data if isinstance(data, pa.Array | pa.ChunkedArray) else pa.array(data, kind)

    arrays = {name: typed(values[name], pa.string()) for name in columns}
    arrays[LINE_NUMBER] = typed(line_numbers, pa.int64())
    arrays[PARSE_ERROR] = typed(errors, pa.string())
    arrays[RAW_LINE] = typed(raw_lines, pa.string())
    arrays[RESCUED_DATA] = typed(rescued, pa.string())
    return pa.table(arrays)


def empty_table(columns: Sequence[str]) -> pa.Table:
    """The table of a file without rows."""
    return _table(columns, {name: [] for name in columns}, [], [], [], [])


def _rescued(pairs: Iterable[tuple[str, str]]) -> str:
    """A row's (column, value) beyond the contract, as a JSON object."""
    return json.dumps(dict(pairs))


def read_well_formed(data: bytes, columns: Sequence[str], layout: Layout) -> pa.Table | None:
    """Arrow's C++ reader, for a file whose every line is one row of the header's width.

    None when that is not so (bytes that are not UTF-8, a blank line, a row of another width,
    a quoted line break): the line-by-line reader then finds each such line and says why.
    On a 100,000-line order file this reader is about 14 times faster (BENCHMARKS.md).
    """
    if b"\n\n" in data or b"\n\r\n" in data or data.count(b"\r") != data.count(b"\r\n"):
        return None  # blank lines, or line ends other than \n and \r\n, which the line count misses
    try:
        data.decode("utf-8")  # Arrow's handler of a misfit row cannot show bytes that are not UTF-8
    except UnicodeDecodeError:
        return None
    misfits = []

    def note_misfit(row: pacsv.InvalidRow) -> str:
        misfits.append(row)
        return "skip"

    names = [f"c{index}" for index in range(layout.width)]
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            parse_options=pacsv.ParseOptions(
                delimiter=layout.delimiter, newlines_in_values=True, invalid_row_handler=note_misfit
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        return None
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if misfits or table.num_rows != lines - 1:
        return None
    rows = table.num_rows
    keys = [key for _, key in layout.extras]
    extra_rows = zip(*(table.column(index).to_pylist() for index, _ in layout.extras), strict=True)
    rescued = [_rescued(zip(keys, row, strict=True)) for row in extra_rows] if keys else [None] * rows
    return _table(
        columns,
        {name: table.column(position) for name, position in zip(columns, layout.positions, strict=True)},
        pa.array(range(2, rows + 2), pa.int64()),
        pa.nulls(rows, pa.string()),
        pa.nulls(rows, pa.string()),
        rescued,
    )


def read_line_by_line(text: str, columns: Sequence[str], layout: Layout) -> pa.Table:
    """Python's csv reader, record by record: keeps every record that is not a well-formed row as
    a row with its raw text and why, and counts blank lines and quoted line breaks in line numbers."""
    values: dict[str, list[str | None]] = {name: [] for name in columns}
    line_numbers: list[int] = []
    errors: list[str | None] = []
    raw_lines: list[str | None] = []
    rescued: list[str | None] = []
    records = _records(text, layout.delimiter)
    next(records)  # the header
    for line_number, raw, fields in records:
        if not fields:
            continue  # a blank line carries no row
        bad_field = None if isinstance(fields, str) else _first_undecodable(fields)
        if isinstance(fields, str):
            reason = f"line {line_number}: {fields}"
        elif bad_field is not None:
            reason = f"line {line_number}, column {bad_field + 1}: bytes that are not UTF-8"
        elif len(fields) != layout.width:
            reason = f"line {line_number}: expected {layout.width} fields, found {len(fields)}"
        else:
            reason = None
        line_numbers.append(line_number)
        errors.append(reason)
        raw_lines.append(None if reason is None else _clean(raw))
        row = fields if reason is None else None
        for name, position in zip(columns, layout.positions, strict=True):
            values[name].append(row[position] if row is not None else None)
        extras = None if row is None or not layout.extras else ((key, row[i]) for i, key in layout.extras)
        rescued.append(_rescued(extras) if extras else None)
    return _table(columns, values, line_numbers, errors, raw_lines, rescued)


def refused_table(text: str, columns: Sequence[str], reason: str) -> pa.Table:
    """Every non-blank line of a refused file as a row carrying the file's reason."""
    line_numbers, raw_lines = [], []
    for number, line in enumerate(io.StringIO(text, newline=""), start=1):
        if line.strip():
            line_numbers.append(number)
            raw_lines.append(_clean(line.rstrip("\r\n")))
    rows = len(line_numbers)
    nothing = [None] * rows
    return _table(columns, dict.fromkeys(columns, nothing), line_numbers, [reason] * rows, raw_lines, nothing)


def parse_csv(data: bytes, file_name: str, columns: Sequence[str]) -> ParsedFile:
    """Parse ``data`` into the contract's string columns plus line number, parse error, raw line
    and rescued data. Never raises for what is delivered: a file that cannot be read is refused
    line by line, with ``FILE_REFUSED``, the file name and why. Line numbers count from 1 with
    the header as line 1; blank lines carry no row.
    """
    try:
        data = _utf8(_uncompressed(data))
        text = data.decode("utf-8", "surrogateescape")
        if not text.strip():  # nothing delivered: no rows
            return ParsedFile(empty_table(columns))
        layout = layout_of(data, text, columns)
    except FileRefused as error:
        reason = f"{FILE_REFUSED}: {file_name}: {error}"
        text = data.decode("utf-8", "surrogateescape")
        return ParsedFile(refused_table(text, columns, reason), str(error))
    fast = read_well_formed(data, columns, layout)
    table = fast if fast is not None else read_line_by_line(text, columns, layout)
    return ParsedFile(table, new_columns=tuple(key for _, key in layout.extras))

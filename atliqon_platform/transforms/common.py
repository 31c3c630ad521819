"""Rule pieces several sources share: ids, blanks, dates, and how rejected rows are marked."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from atliqon_platform.ingestion.csv_files import FILE_REFUSED

UNKNOWN_ID = "999999"
REJECT_REASON = "reject_reason"
SOURCE_ORDER = ("file_name", "line_number")


def reject_kind() -> Column:
    """A quarantined row's reason without its variable part (values, lines): what it is counted by."""
    return F.regexp_extract(F.col(REJECT_REASON), r"^([^:]+)", 1)


def blank_to_null(column: str | Column) -> Column:
    """Trimmed text, or null when the field was empty: CSV has no other way to say null."""
    value = F.trim(F.col(column) if isinstance(column, str) else column)
    return F.when(value == "", None).otherwise(value)


def lookup(mapping: dict[str, str]) -> Column:
    """A literal map column, so a rule's table of values reads as the rules file writes it."""
    return F.create_map(*(F.lit(item) for pair in mapping.items() for item in pair))


def digits_or_unknown(column: str | Column) -> Column:
    """Keep an id made only of digits; anything else becomes the unknown id 999999."""
    value = F.trim(F.col(column) if isinstance(column, str) else column)
    return F.when(value.rlike("^[0-9]+$"), value).otherwise(F.lit(UNKNOWN_ID))


def date_shape(pattern: str) -> str:
    """A regex that every text ``pattern`` parses also matches: letters for month names, as many
    digits as letters for numbers (Spark parses dd, MM and yyyy at exactly that width), separators
    as written. Never stricter than the parser."""
    parts = []
    for token in re.finditer(r"([A-Za-z])\1*|.", pattern):
        text = token.group(0)
        if text[0] in "ME" and len(text) >= 3:
            parts.append("[A-Za-z]+")
        elif text[0].isalpha():
            parts.append("[0-9]+" if len(text) == 1 else f"[0-9]{{{len(text)}}}")
        else:
            parts.append(re.escape(text))
    return f"^{''.join(parts)}$"


def first_date_match(column: Column, formats: Sequence[str]) -> Column:
    """Parse with each format in turn; the first that fits wins (so rule order settles 01/07/2025).

    A format is only tried on text of its shape: a failed parse costs Spark an exception,
    which made date parsing most of the cost of silver.orders (BENCHMARKS.md).
    """
    return F.coalesce(
        *(F.when(column.rlike(date_shape(pattern)), F.try_to_date(column, pattern)) for pattern in formats)
    )


def positive_number_or_zero(column: str) -> Column:
    """Numbers made positive (a negative sign is a keying error); anything non-numeric is 0."""
    value = F.trim(F.col(column))
    number = F.when(value.rlike(r"^-?\d+(\.\d+)?$"), value.try_cast("double"))
    return F.coalesce(F.abs(number), F.lit(0.0))


def reason(*rules: tuple[Column, str | Column]) -> Column:
    """The first rule a row breaks, as its reject reason; null when it breaks none."""
    expression = None
    for condition, message in rules:
        text = message if isinstance(message, Column) else F.lit(message)
        expression = F.when(condition, text) if expression is None else expression.when(condition, text)
    return expression.otherwise(F.lit(None).cast("string"))


def parse_error_reason() -> tuple[Column, Column]:
    """Rows bronze could not split into fields are rejected with the parser's message; the lines
    of a refused file with the file's reason as it is ("file refused: <file>: <why>")."""
    error = F.col("parse_error")
    malformed = F.concat(F.lit("malformed row: "), error)
    return error.isNotNull(), F.when(error.startswith(FILE_REFUSED), error).otherwise(malformed)


def duplicate_rank(
    keys: Sequence[str | Column], eligible: Column, preferred: Sequence[Column] = ()
) -> Column:
    """1 for the first row of each key among eligible rows, 2+ after: in file and line order,
    after the ``preferred`` orderings."""
    window = Window.partitionBy(eligible, *keys).orderBy(*preferred, *SOURCE_ORDER)
    return F.row_number().over(window)


def mark_snapshot_rows(bronze: DataFrame, key: str, required: dict[str, Column]) -> DataFrame:
    """Reject malformed rows, rows missing a required value, and repeats of ``key`` (the first
    line in file order stays); ``key`` names one of the ``required`` columns."""
    usable = F.col("parse_error").isNull()
    for value in required.values():
        usable = usable & value.isNotNull()
    missing = [(value.isNull(), f"missing {name}") for name, value in required.items()]
    return (
        bronze.withColumn("_rank", duplicate_rank([required[key]], usable))
        .withColumn(
            REJECT_REASON,
            reason(parse_error_reason(), *missing, (F.col("_rank") > 1, f"duplicate {key}")),
        )
        .drop("_rank")
    )


def split_rejected(frame: DataFrame) -> tuple[DataFrame, DataFrame]:
    """Rows with no reject reason, and rows with one.

    Both sides come from one evaluation of the rules: the marked rows are kept by the session
    (a lazy local checkpoint) when the first side is computed, and the second side reads them.
    """
    marked = frame.localCheckpoint(eager=False)
    return (
        marked.where(F.col(REJECT_REASON).isNull()).drop(REJECT_REASON),
        marked.where(F.col(REJECT_REASON).isNotNull()),
    )

"""The Delta Lake storage layer: every table the platform writes or reads goes through here.

One engine everywhere (ARCHITECTURE.md §2): the Spark session reads and commits Delta itself
with delta-spark, on a laptop exactly as on Databricks, a Spark Connect server or S3. Tables
are read and written in the engine, never collected to the Python driver (only the lines that
bronze parses in Python go in, as Arrow: ``frame``); a partitioned write replaces its range with
``replaceWhere``. delta-rs only reads what needs no engine: counts, history, previews.

Layout: a table written by date range (the order tables) is partitioned by month, through a
column ``<date column>_month`` that this layer adds on write and drops on read. Daily
partitions made one file of a few hundred rows per day and table, against Delta's guidance,
and made a year's write three to five times slower (BENCHMARKS.md, "Table layout"); a day's
rerun still replaces only that day's rows, in one commit.

Contract: table ``<layer>.<name>`` lives at ``<lake>/<layer>/<name>`` and is readable there
with the ``deltalake`` package. Every write is one Delta commit: a failed write changes
nothing, and a write whose schema differs from the table's is refused before it starts.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
from dagster import ConfigurableResource, InitResourceContext
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError as DeltaRsTableNotFound
from py4j.protocol import Py4JJavaError
from pydantic import PrivateAttr
from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema
from pyspark.sql.types import StructType

from atliqon_platform.resources.session_checks import require_catalog, require_delta
from atliqon_platform.resources.spark import SparkSessionResource
from atliqon_platform.settings import ConfigurationError, Environment, Settings, s3a_options
from atliqon_platform.tables import Table

Data = DataFrame | pa.Table
PREVIEW_ROWS = 5
HISTORY_VERSIONS = 5  # the last commits a write reports, and the asset pages show

# What Spark and Delta say when a path or name holds no table.
NOT_A_TABLE = {
    "DELTA_MISSING_DELTA_TABLE",
    "DELTA_TABLE_NOT_FOUND",
    "DELTA_PATH_DOES_NOT_EXIST",
    "PATH_NOT_FOUND",
    "TABLE_OR_VIEW_NOT_FOUND",
}


class SchemaMismatchError(ValueError):
    """A write whose columns or types differ from the table's."""


class TableNotFoundError(LookupError):
    """A read of a table that has never been written (or a path that is not a Delta table)."""


def month_column(column: str) -> str:
    """The partition column of a table partitioned by the month of date column ``column``."""
    return f"{column}_month"


def _first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def rows_per_partition_key(dates: pa.Array | pa.ChunkedArray, monthly: bool = False) -> dict[str, int]:
    """How many of ``dates`` fall on each day (each month when ``monthly``), by partition key."""
    counts = pc.value_counts(pc.floor_temporal(dates, unit="month") if monthly else dates)
    days, rows = counts.field("values").to_pylist(), counts.field("counts").to_pylist()
    return {day.isoformat(): count for day, count in zip(days, rows, strict=True)}


def _local_dataset(uri: str) -> pads.Dataset:
    try:
        return DeltaTable(uri).to_pyarrow_dataset()
    except DeltaRsTableNotFound:
        raise TableNotFoundError(f"no Delta table at {uri}: materialise it first") from None


def range_filter(dataset: pads.Dataset, where: PartitionRange) -> pc.Expression:
    """The rows of ``where``'s range; the months too on a table partitioned by month, so that only
    their files are read."""
    column = pads.field(where.column)
    days = (column >= where.start) & (column <= where.end)
    if month_column(where.column) in dataset.schema.names:
        month = pads.field(month_column(where.column))
        days &= (month >= _first_of_month(where.start)) & (month <= _first_of_month(where.end))
    return days


@dataclass(frozen=True)
class PartitionRange:
    """An inclusive range of a date column: the rows a partitioned run owns."""

    column: str
    start: dt.date
    end: dt.date

    def sql(self, monthly: bool = False) -> str:
        """The range as a predicate; on a monthly-partitioned table it names the months too, so
        that Delta touches only their files."""
        days = f"{self.column} >= '{self.start.isoformat()}' AND {self.column} <= '{self.end.isoformat()}'"
        if not monthly:
            return days
        month = month_column(self.column)
        first, last = _first_of_month(self.start), _first_of_month(self.end)
        return f"{month} >= '{first.isoformat()}' AND {month} <= '{last.isoformat()}' AND {days}"


@dataclass(frozen=True)
class WriteResult:
    table: Table
    uri: str
    version: int
    rows: int  # rows written by this commit
    history: list[dict[str, Any]]  # the table's last commits, newest first (this one included)
    replaced: PartitionRange | None = None  # the range a partitioned write replaced; None: the table
    # The first rows written, where delta-rs cannot read the table itself (a Unity Catalog name).
    preview: list[dict[str, Any]] | None = None


def skipping_statistics(date_column: str | None) -> dict[str, str]:
    """The table properties that keep Delta's per-file statistics to the column reads filter on.

    By default Delta computes the minimum, maximum and null count of the first 32 columns of
    every file it writes, raw lines and rejection reasons included: that made a write of a
    million bronze lines take 25 s against 3 to 4 s without (BENCHMARKS.md, "Delta's
    statistics"). Reads here filter on a table's date column only (the range of a run); the row
    count of each file, which answers counts, is kept whatever these say. Set when a table is
    created."""
    if date_column is None:
        return {"delta.dataSkippingNumIndexedCols": "0"}
    return {"delta.dataSkippingStatsColumns": date_column}


def _columns(schema: StructType) -> dict[str, str]:
    return {field.name: field.dataType.simpleString() for field in schema.fields}


def check_schema(uri: str, existing: StructType, incoming: StructType) -> None:
    """Refuse a write whose columns or types differ from the table's, naming them."""
    have, want = _columns(existing), _columns(incoming)
    problems = [f"missing column {name} ({kind})" for name, kind in have.items() if name not in want]
    problems += [f"unexpected column {name} ({kind})" for name, kind in want.items() if name not in have]
    problems += [
        f"column {name} is {want[name]}, the table has {kind}"
        for name, kind in have.items()
        if name in want and want[name] != kind
    ]
    if problems:
        raise SchemaMismatchError(f"write to {uri} refused, schema differs: {'; '.join(problems)}")


def _condition(error: Exception) -> str:
    """Spark's error class (``DELTA_MISSING_DELTA_TABLE``, ...), also when it comes from the JVM
    as a plain Py4J error."""
    if isinstance(error, PySparkException) and error.getCondition():
        return error.getCondition()
    found = re.search(r"\[([A-Z][A-Z_]+)\]", str(error))
    return found.group(1) if found else ""


class DeltaTables:
    """Delta tables in one Spark session, by path or by Unity Catalog name (``by_name``).

    Reads and writes go through DataFrame and SQL calls that Spark Connect and Databricks Connect
    carry too. Only the counts and history of a table in a local folder come from delta-rs, which
    answers them from the log in milliseconds, where the session would run a Spark job.
    """

    def __init__(self, spark: SparkSession, by_name: bool = False) -> None:
        self._spark = spark
        self._by_name = by_name

    def _sql_name(self, table: str) -> str:
        return table if self._by_name else f"delta.`{table}`"

    def _table(self, uri: str) -> DataFrame | None:
        """The table as a DataFrame, or None where there is none; clear words for what this engine
        cannot read (a table written with Delta features it lacks)."""
        try:
            frame = self._spark.table(self._sql_name(uri))
            frame.schema  # noqa: B018 - resolving the schema reads the table's log
            return frame
        except (PySparkException, Py4JJavaError) as error:
            if _condition(error) in NOT_A_TABLE or "is not a Delta table" in str(error):
                return None
            if "UNSUPPORTED_FEATURES" in _condition(error) or "PROTOCOL" in _condition(error):
                raise ConfigurationError(
                    f"{uri} was written with Delta features this engine cannot read "
                    f"({_condition(error)}): upgrade delta-spark, or rewrite the table without them"
                ) from None
            raise

    def frame(self, data: Data) -> DataFrame:
        """``data`` as the session's DataFrame. A local session copies an Arrow table's rows into
        the engine here, so that its caller may free them before the write."""
        if isinstance(data, DataFrame):
            return data
        if data.num_rows == 0:  # Spark Connect cannot take its schema from an empty Arrow table
            return self._spark.createDataFrame([], from_arrow_schema(data.schema))
        return self._spark.createDataFrame(data)

    def _conformed(self, data: Data, uri: str, monthly_by: str | None = None) -> tuple[DataFrame, bool]:
        """``data`` in the table's column order after the schema check (with its month column when
        the table is partitioned by ``monthly_by``'s month); and whether the table exists."""
        frame = self.frame(data)
        if monthly_by:
            frame = frame.withColumn(month_column(monthly_by), F.trunc(monthly_by, "month"))
        existing = self._table(uri)
        if existing is None:
            return frame, False
        if monthly_by and month_column(monthly_by) not in existing.columns:
            raise SchemaMismatchError(
                f"write to {uri} refused: the table has the daily layout of an earlier version; "
                "delete the lake folder and run `atliqon backfill` to rebuild it"
            )
        check_schema(uri, existing.schema, frame.schema)
        return frame.select(*existing.columns), True

    def write(
        self,
        data: Data,
        uri: str,
        monthly_by: str | None,
        replace: PartitionRange | None,
    ) -> tuple[int, int, list[dict[str, Any]]]:
        """Write ``data``; a table partitioned by the month of date column ``monthly_by`` gets
        its month column here, and a ``replace`` range replaces only its days. Returns the new
        version, the rows written and the table's last commits."""
        frame, exists = self._conformed(data, uri, monthly_by)
        previous = int(self.history(uri, 1)[0]["version"]) if exists else None
        writer = frame.write.format("delta").mode("overwrite")
        if not exists:  # what a new table is created with
            writer = writer.options(**skipping_statistics(monthly_by))
            if monthly_by:
                writer = writer.partitionBy(month_column(monthly_by))
        elif replace is not None:
            writer = writer.option("replaceWhere", replace.sql(monthly=True))
        if self._by_name:
            self._spark.sql(f"CREATE SCHEMA IF NOT EXISTS {uri.rsplit('.', 1)[0]}")
            writer.saveAsTable(uri)
        else:
            writer.save(uri)
        return self._committed_since(uri, previous)

    def _on_this_machine(self, uri: str) -> bool:
        """A table in a local folder, whose log delta-rs reads in milliseconds; elsewhere (S3,
        catalogs) the session answers, with a Spark job."""
        return not self._by_name and _is_local_path(uri)

    def history(self, uri: str, versions: int) -> list[dict[str, Any]]:
        """The table's last commits, newest first. On this machine delta-rs reads them; elsewhere
        the session does (delta-rs lists an S3 log with a start-after that not every S3-compatible
        server answers)."""
        if self._on_this_machine(uri):
            return DeltaTable(uri).history(versions)
        statement = f"DESCRIBE HISTORY {self._sql_name(uri)} LIMIT {versions}"
        return [row.asDict(recursive=True) for row in self._spark.sql(statement).collect()]

    def _committed_since(self, uri: str, previous: int | None) -> tuple[int, int, list[dict[str, Any]]]:
        """The commit a write just made, the rows it wrote (from its own metrics) and the last
        commits. Delta makes no commit for a write that changes nothing (an empty replace of a
        range without rows): then no row was written."""
        commits = self.history(uri, HISTORY_VERSIONS)
        last = commits[0]
        rows = rows_written(last["operationMetrics"]) or 0
        version = int(last["version"])
        return version, 0 if version == previous else rows, commits

    def read(self, uri: str, where: PartitionRange | None) -> DataFrame:
        """The table's rows (of ``where``'s range), without the month column this layer adds."""
        frame = self._table(uri)
        if frame is None:
            raise TableNotFoundError(f"no Delta table at {uri}: materialise it first")
        months = [month_column(name) for name in frame.columns if month_column(name) in frame.columns]
        if where is not None:
            frame = frame.where(where.sql(monthly=month_column(where.column) in months))
        return frame.drop(*months)

    def count(self, uri: str, where: PartitionRange | None) -> int:
        """Locally from the files' footers with delta-rs (no Spark job); elsewhere by the session."""
        if not self._on_this_machine(uri):
            return self.read(uri, where).count()
        dataset = _local_dataset(uri)
        if where is None:
            return dataset.count_rows()
        return dataset.count_rows(filter=range_filter(dataset, where))

    def rows_per_partition(self, uri: str, where: PartitionRange, monthly: bool) -> dict[str, int]:
        """Rows of each day of ``where``'s range that holds any (each month when ``monthly``), by
        partition key: locally from the date column with delta-rs; elsewhere by the session."""
        if not self._on_this_machine(uri):
            column = F.col(where.column)
            key = F.trunc(column, "month") if monthly else column
            counted = self.read(uri, where).groupBy(key).count().collect()
            return {day.isoformat(): rows for day, rows in counted}
        dataset = _local_dataset(uri)
        dates = dataset.to_table(columns=[where.column], filter=range_filter(dataset, where)).column(0)
        return rows_per_partition_key(dates, monthly)

    def preview(self, uri: str, rows: int, where: PartitionRange | None) -> list[dict[str, Any]] | None:
        """The first rows (of ``where``'s range) of a table named in a catalog; paths are previewed
        by delta-rs instead."""
        if not self._by_name:
            return None
        return [row.asDict() for row in self.read(uri, where).limit(rows).collect()]

    def command(self, uri: str, statement: str) -> list[dict[str, Any]]:
        """A Delta SQL command (``{table}`` in ``statement`` names the table) and the rows it returns."""
        return [
            row.asDict(recursive=True)
            for row in self._spark.sql(statement.format(table=self._sql_name(uri))).collect()
        ]

    def version(self, uri: str) -> int | None:
        if self._table(uri) is None:
            return None
        return int(self.history(uri, 1)[0]["version"])


# What a run logs first: the engine it runs on (tests find the runs that shared one by it).
ENGINE_LOG_LINE = "Spark engine: "


def _is_local_path(uri: str) -> bool:
    """A folder on this machine, not a URI of a store (s3://...)."""
    return "://" not in uri


def rows_written(metrics: Mapping[str, Any] | None) -> int | None:
    """The rows a commit wrote, from its own metrics; None for one that writes none (OPTIMIZE,
    RESTORE...). A replaceWhere on days rewrites the month's files that hold them: the rows of the
    other days it copies into the new files are counted as output too, but were not written."""
    metrics = metrics or {}
    output = metrics.get("numOutputRows", metrics.get("numTargetRowsInserted"))
    if output is None:
        return None
    copied = metrics.get("numCopiedRows", metrics.get("numTargetRowsCopied", 0))  # a MERGE's copies
    return int(output) - int(copied)


class DeltaLakeResource(ConfigurableResource):
    """The tables of the catalogue (tables.py) in the session's Delta engine.

    Under one lake root (``<lake>/<layer>/<name>``: a folder, or S3 through S3A), or in a Unity
    Catalog catalog (``<catalog>.<layer>.<name>``) when ``catalog`` is set. The session is
    checked (reachable, has Delta, catalog) before the first table is touched.
    """

    lake_uri: str
    spark: SparkSessionResource
    catalog: str | None = None
    on_databricks: bool = False  # Databricks compute: Delta is native, whatever the session shows
    _tables: DeltaTables | None = PrivateAttr(default=None)
    _interrupted: bool = PrivateAttr(default=False)

    @classmethod
    def for_settings(cls, settings: Settings, spark: SparkSessionResource) -> DeltaLakeResource:
        return cls(
            lake_uri=settings.lake_uri,
            spark=spark,
            catalog=settings.catalog,
            on_databricks=settings.env is Environment.DATABRICKS,
        )

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Check the session (reachable, Delta, catalog) when a run starts, before any step, and
        say in the run's log which engine runs it."""
        self.tables  # noqa: B018 - starting the engine is the check
        if context.log is not None:
            context.log.info(f"{ENGINE_LOG_LINE}{self.spark.engine}")

    def interrupt_operations(self) -> None:
        """Cancel the engine calls in flight: the steps' Spark session is this resource's."""
        self._interrupted = True
        self.spark.interrupt_operations()

    @property
    def interrupted(self) -> bool:
        """Whether the run cancelled this resource's engine calls (it is being terminated): a call
        that failed since may have failed for that alone."""
        return self._interrupted

    @property
    def tables(self) -> DeltaTables:
        if self._tables is None:
            session = self.spark.spark_session
            if not self.on_databricks:
                require_delta(session)
            if self.catalog:
                require_catalog(session, self.catalog)
            if self.lake_uri.startswith("s3://") and not self.on_databricks:
                for key, value in s3a_options().items():
                    session.conf.set(key, value)
            self._tables = DeltaTables(session, by_name=self.catalog is not None)
        return self._tables

    def uri(self, table: Table) -> str:
        """Where ``table`` lives: its path, or its Unity Catalog name."""
        if self.catalog:
            return f"{self.catalog}.{table}"
        return table.location(self.lake_uri)

    @contextmanager
    def _one_writer(self, table: Table) -> Iterator[None]:
        """One writer at a time per table of a local lake, across processes on this machine.

        Delta's local log store commits by renaming a file into place, which two processes
        committing the same version at the same instant could both do. Object stores and
        catalogs arbitrate commits themselves (README, Concurrent writers).
        """
        if self.catalog or not _is_local_path(self.lake_uri):
            yield
            return
        lock_file = Path(self.lake_uri) / table.layer / f".{table.name}.lock"
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        with lock_file.open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def overwrite(self, data: Data, table: Table, replace: PartitionRange | None = None) -> WriteResult:
        """Replace the table, or only the rows of ``replace``'s range, in one commit.

        A partitioned table (its ``partition_column`` set) is laid out by the month of that column.
        """
        if replace is not None and replace.column != table.partition_column:
            raise ValueError(f"{table} is partitioned by {table.partition_column}, not {replace.column}")
        uri = self.uri(table)
        with self._one_writer(table):
            version, rows, commits = self.tables.write(data, uri, table.partition_column, replace)
        preview = self.tables.preview(uri, PREVIEW_ROWS, replace)
        return WriteResult(table, uri, version, rows, commits, replaced=replace, preview=preview)

    def read(self, table: Table, where: PartitionRange | None = None) -> DataFrame:
        return self.tables.read(self.uri(table), where)

    def frame(self, data: Data) -> DataFrame:
        return self.tables.frame(data)

    def count(self, table: Table, where: PartitionRange | None = None) -> int:
        return self.tables.count(self.uri(table), where)

    def rows_per_partition(
        self, table: Table, where: PartitionRange, monthly: bool = False
    ) -> dict[str, int]:
        return self.tables.rows_per_partition(self.uri(table), where, monthly)

    def version(self, table: Table) -> int | None:
        return self.tables.version(self.uri(table))

    def history(self, table: Table) -> list[dict[str, Any]]:
        """The table's last commits, newest first."""
        return self.tables.history(self.uri(table), HISTORY_VERSIONS)

    def command(self, table: Table, statement: str) -> list[dict[str, Any]]:
        """Delta's own SQL on ``table`` (DESCRIBE HISTORY, OPTIMIZE, VACUUM, RESTORE), under the
        table's writer lock; ``{table}`` in ``statement`` names the table."""
        with self._one_writer(table):
            return self.tables.command(self.uri(table), statement)

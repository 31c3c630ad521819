"""The Delta Lake storage layer: every table the platform writes or reads goes through here.

Two backends, chosen by the session (ARCHITECTURE.md §2):
- native delta-spark when the Spark session has Delta (Databricks, a cluster with the jars);
- delta-rs (the ``deltalake`` package) otherwise, with the data crossing as Arrow. Where
  Spark runs on this machine and the lake is a local folder, Spark reads the snapshot's
  Parquet files itself (delta-rs lists them): a table read as Arrow becomes one in-memory
  relation in the JVM, which at 10 M lines did not fit its heap (BENCHMARKS.md §3).
  Writes stream Arrow into delta-rs a piece of the replaced range at a time (ArrowStream),
  so neither side holds a long range at once.

Contract: table ``<layer>.<name>`` lives at ``<lake>/<layer>/<name>`` and is readable there
with the ``deltalake`` package. Every write is one Delta commit: a failed write changes
nothing, and a write whose schema differs from the table's is refused before it starts.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, Protocol

import pyarrow as pa
import pyarrow.dataset as pads
from dagster import ConfigurableResource, InitResourceContext
from deltalake import DeltaTable, Schema, write_deltalake
from deltalake.exceptions import TableNotFoundError as DeltaRsTableNotFound
from pydantic import PrivateAttr
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema
from pyspark.sql.types import StructType

from atliqon_platform.resources.session_checks import require_catalog, session_has_delta, session_is_local
from atliqon_platform.resources.spark import SparkSessionResource
from atliqon_platform.settings import Environment, Settings, delta_storage_options

Data = DataFrame | pa.Table
WriteMode = Literal["overwrite", "append"]


class SchemaMismatchError(ValueError):
    """A write whose columns or types differ from the table's."""


class TableNotFoundError(LookupError):
    """A read of a table that has never been written (or a path that is not a Delta table)."""


@dataclass(frozen=True)
class PartitionRange:
    """An inclusive range of a date column: the rows a partitioned run owns."""

    column: str
    start: dt.date
    end: dt.date

    def sql(self) -> str:
        return f"{self.column} >= '{self.start.isoformat()}' AND {self.column} <= '{self.end.isoformat()}'"

    def arrow_filter(self) -> pads.Expression:
        field = pads.field(self.column)
        return (field >= pa.scalar(self.start)) & (field <= pa.scalar(self.end))

    def outside_sql(self) -> str:
        return f"NOT ({self.sql()}) OR {self.column} IS NULL"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def split(self, days: int) -> tuple[PartitionRange, PartitionRange | None]:
        """The range's first ``days`` days, and the rest (None when nothing is left)."""
        if days >= self.days:
            return self, None
        cut = self.start + dt.timedelta(days=days)
        return (
            PartitionRange(self.column, self.start, cut - dt.timedelta(days=1)),
            PartitionRange(self.column, cut, self.end),
        )


@dataclass(frozen=True)
class WriteResult:
    uri: str
    version: int
    rows: int  # rows written by this commit


def _columns(schema: Schema) -> list[tuple[str, str]]:
    return [(field.name, getattr(field.type, "type", None) or str(field.type)) for field in schema.fields]


def check_schema(uri: str, existing: Schema, incoming: Schema) -> None:
    """Refuse a write whose columns or types differ from the table's, naming them."""
    have, want = dict(_columns(existing)), dict(_columns(incoming))
    problems = [f"missing column {name} ({kind})" for name, kind in have.items() if name not in want]
    problems += [f"unexpected column {name} ({kind})" for name, kind in want.items() if name not in have]
    problems += [
        f"column {name} is {want[name]}, the table has {kind}"
        for name, kind in have.items()
        if name in want and want[name] != kind
    ]
    if problems:
        raise SchemaMismatchError(f"write to {uri} refused, schema differs: {'; '.join(problems)}")


def merge_condition(keys: list[str]) -> str:
    """The match of a merge on ``keys``, between aliases ``target`` and ``source``."""
    return " AND ".join(f"target.{key} = source.{key}" for key in keys)


class DeltaBackend(Protocol):
    def write(
        self,
        data: Data,
        uri: str,
        mode: WriteMode,
        partition_by: list[str] | None,
        replace: PartitionRange | None,
    ) -> tuple[int, int]: ...

    def merge(self, data: Data, uri: str, keys: list[str]) -> tuple[int, int]: ...

    def read(self, uri: str, where: PartitionRange | None) -> DataFrame: ...

    def count(self, uri: str, where: PartitionRange | None) -> int: ...

    def version(self, uri: str) -> int | None: ...


def _nullable(schema: pa.Schema) -> pa.Schema:
    return pa.schema([field.with_nullable(True) for field in schema])


def arrow_schema(schema: StructType) -> pa.Schema:
    """A Spark schema as Arrow, without a Spark job (timestamps are UTC, as the sessions are)."""
    return to_arrow_schema(schema, timezone="UTC")


class ArrowStream:
    """``data`` as Arrow record batches in the table's schema, for one delta-rs commit.

    A DataFrame written over a long range is evaluated a piece of the range at a time (Spark
    prunes the other days' files), so memory holds one piece however long the range: the
    first piece is a month, and each next one is sized from the rows per day seen so far.
    Rows outside the range, if any, come last, for delta-rs to refuse the write as it
    refuses any row outside its predicate. The schema is checked before any row is evaluated.
    """

    FIRST_PIECE_DAYS = 31
    ROWS_PER_PIECE = 2_000_000  # about 200 MB of Arrow at the silver tables' width

    def __init__(
        self, data: Data, uri: str, table: DeltaTable | None, replace: PartitionRange | None
    ) -> None:
        incoming = arrow_schema(data.schema) if isinstance(data, DataFrame) else data.schema
        if table is None:
            self.schema = _nullable(incoming)
        else:
            check_schema(uri, table.schema(), Schema.from_arrow(incoming))
            self.schema = pa.schema(table.schema().to_arrow())
        self._data = data
        self._replace = replace
        self.rows = 0

    def _pieces(self) -> Iterator[pa.Table]:
        if not isinstance(self._data, DataFrame):
            yield self._data
            return
        if self._replace is None or self._replace.days <= self.FIRST_PIECE_DAYS:
            yield self._data.toArrow()
            return
        piece, rest = self._replace.split(self.FIRST_PIECE_DAYS)
        rows = days = 0
        while piece is not None:
            arrow = self._data.where(piece.sql()).toArrow()
            yield arrow
            rows, days = rows + arrow.num_rows, days + piece.days
            if rest is None:
                break
            piece, rest = rest.split(max(1, self.ROWS_PER_PIECE * days // max(rows, 1)))
        yield self._data.where(self._replace.outside_sql()).toArrow()

    def _batches(self) -> Iterator[pa.RecordBatch]:
        for piece in self._pieces():
            for batch in piece.select(self.schema.names).cast(self.schema).to_batches():
                self.rows += batch.num_rows
                yield batch

    def reader(self) -> pa.RecordBatchReader:
        return pa.RecordBatchReader.from_batches(self.schema, self._batches())


class DeltaRsBackend:
    """delta-rs: the deltalake package commits, and Spark's data crosses as Arrow; when
    ``spark_sees_files``, Spark reads the table's Parquet files itself."""

    def __init__(self, spark: SparkSession, storage_options: dict[str, str], spark_sees_files: bool) -> None:
        self._spark = spark
        self._options = storage_options or None
        self._spark_sees_files = spark_sees_files

    def _table(self, uri: str) -> DeltaTable | None:
        try:
            return DeltaTable(uri, storage_options=self._options)
        except DeltaRsTableNotFound:
            return None

    def write(self, data, uri, mode, partition_by, replace):
        table = self._table(uri)
        stream = ArrowStream(data, uri, table, replace)
        predicate = replace.sql() if replace is not None and table is not None else None
        write_deltalake(
            uri,
            stream.reader(),
            mode=mode,
            partition_by=partition_by if table is None else None,
            predicate=predicate,
            storage_options=self._options,
        )
        return self._require(uri).version(), stream.rows

    def merge(self, data, uri, keys):
        table = self._table(uri)
        if table is None:
            return self.write(data, uri, "overwrite", None, None)
        source = ArrowStream(data, uri, table, None).reader().read_all()
        (
            table.merge(
                source,
                predicate=merge_condition(keys),
                source_alias="source",
                target_alias="target",
            )
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute()
        )
        return table.version(), source.num_rows

    def _require(self, uri: str) -> DeltaTable:
        table = self._table(uri)
        if table is None:
            raise TableNotFoundError(f"no Delta table at {uri}: materialise it first")
        return table

    def read(self, uri, where):
        table = self._require(uri)
        if self._spark_sees_files and _plain_parquet(table):
            return self._read_files(table, uri, where)
        dataset = table.to_pyarrow_dataset()
        arrow = dataset.to_table(filter=where.arrow_filter() if where else None)
        if arrow.num_rows == 0:  # Spark Connect cannot take its schema from an empty Arrow table
            return self._spark.createDataFrame([], from_arrow_schema(arrow.schema))
        return self._spark.createDataFrame(arrow)

    def _read_files(self, table: DeltaTable, uri: str, where: PartitionRange | None) -> DataFrame:
        schema = from_arrow_schema(pa.schema(table.schema().to_arrow()), prefer_timestamp_ntz=True)
        # Exact on a partition column; on any other column, a superset that the filter below trims.
        files = table.file_uris(file_pruning_predicate=where.sql() if where is not None else None)
        if not files:
            return self._spark.createDataFrame([], schema)
        frame = (
            self._spark.read.schema(schema)
            .option("basePath", uri)
            .parquet(*files)
            .select(*schema.fieldNames())  # partition columns come last from a Parquet read
        )
        return frame.where(where.sql()) if where is not None else frame

    def count(self, uri, where):
        """From the Parquet footers: no Spark job, no data read."""
        return (
            self._require(uri).to_pyarrow_dataset().count_rows(filter=where.arrow_filter() if where else None)
        )

    def version(self, uri):
        table = self._table(uri)
        return None if table is None else table.version()


class SparkDeltaBackend:
    """delta-spark: the session reads and commits Delta itself (Databricks, Delta clusters).

    Tables are paths, or Unity Catalog names (``<catalog>.<layer>.<name>``) when ``by_name``.
    Everything goes through DataFrame and SQL calls that Spark Connect and Databricks
    Connect carry too, so no Delta client library is needed where the session runs.
    """

    def __init__(self, spark: SparkSession, by_name: bool = False) -> None:
        self._spark = spark
        self._by_name = by_name

    def _sql_name(self, table: str) -> str:
        return table if self._by_name else f"delta.`{table}`"

    def _frame(self, data: Data, table: str) -> DataFrame:
        frame = data if isinstance(data, DataFrame) else self._spark.createDataFrame(data)
        if self.version(table) is not None:
            existing = self._spark.table(self._sql_name(table)).schema
            check_schema(
                table,
                Schema.from_arrow(arrow_schema(existing)),
                Schema.from_arrow(arrow_schema(frame.schema)),
            )
            frame = frame.select(*existing.fieldNames())
        return frame

    def write(self, data, uri, mode, partition_by, replace):
        writer = self._frame(data, uri).write.format("delta").mode(mode)
        if replace is not None:
            writer = writer.option("replaceWhere", replace.sql())
        if partition_by:
            writer = writer.partitionBy(*partition_by)
        if self._by_name:
            self._spark.sql(f"CREATE SCHEMA IF NOT EXISTS {uri.rsplit('.', 1)[0]}")
            writer.saveAsTable(uri)
        else:
            writer.save(uri)
        return self._last_commit(uri)

    def merge(self, data, uri, keys):
        if self.version(uri) is None:
            return self.write(data, uri, "overwrite", None, None)
        source = f"atliqon_merge_source_{uuid.uuid4().hex}"
        self._frame(data, uri).createOrReplaceTempView(source)
        try:
            self._spark.sql(
                f"MERGE INTO {self._sql_name(uri)} AS target USING {source} AS source "
                f"ON {merge_condition(keys)} "
                "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
            )
        finally:
            self._spark.catalog.dropTempView(source)
        return self._last_commit(uri)

    def _last_commit(self, uri: str) -> tuple[int, int]:
        last = self._spark.sql(f"DESCRIBE HISTORY {self._sql_name(uri)} LIMIT 1").collect()[0]
        metrics = last["operationMetrics"] or {}
        rows = metrics.get("numOutputRows") or metrics.get("numTargetRowsInserted") or 0
        return int(last["version"]), int(rows)

    def read(self, uri, where):
        if self.version(uri) is None:
            raise TableNotFoundError(f"no Delta table {uri}: materialise it first")
        frame = self._spark.table(self._sql_name(uri))
        return frame.where(where.sql()) if where else frame

    def count(self, uri, where):
        return self.read(uri, where).count()

    def version(self, uri):
        try:
            history = self._spark.sql(f"DESCRIBE HISTORY {self._sql_name(uri)} LIMIT 1").collect()
        except Exception:  # noqa: BLE001 - any failure here means "not a Delta table"
            return None
        return int(history[0]["version"]) if history else None


def _plain_parquet(table: DeltaTable) -> bool:
    """A table whose files Spark can read as plain Parquet: no deletion vectors, no column
    mapping, nothing else a Delta reader must apply (reader version 1, as delta-rs writes)."""
    return table.protocol().min_reader_version == 1


def _is_local_path(uri: str) -> bool:
    return "://" not in uri


class DeltaLakeResource(ConfigurableResource):
    """Tables by ``(layer, name)``, on the backend the session supports.

    Under one lake root (``<lake>/<layer>/<name>``), or in a Unity Catalog catalog
    (``<catalog>.<layer>.<name>``) when ``catalog`` is set, which needs a session with Delta.
    The session is checked (catalog, Delta) before the first table is touched.
    """

    lake_uri: str
    spark: SparkSessionResource
    catalog: str | None = None
    on_databricks: bool = False  # Databricks compute: Delta is native, whatever the session shows
    _backend: DeltaBackend | None = PrivateAttr(default=None)

    @classmethod
    def for_settings(cls, settings: Settings, spark: SparkSessionResource) -> DeltaLakeResource:
        return cls(
            lake_uri=settings.lake_uri,
            spark=spark,
            catalog=settings.catalog,
            on_databricks=settings.env is Environment.DATABRICKS,
        )

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Check the session (reachable, catalog, Delta) when a run starts, before any step."""
        self.backend  # noqa: B018 - starting the backend is the check

    @property
    def backend(self) -> DeltaBackend:
        if self._backend is None:
            session = self.spark.spark_session
            native = self.on_databricks or session_has_delta(session)
            if self.catalog:
                require_catalog(session, self.catalog, has_delta=native)
            self._backend = (
                SparkDeltaBackend(session, by_name=self.catalog is not None)
                if native
                else DeltaRsBackend(
                    session,
                    delta_storage_options(self.lake_uri),
                    spark_sees_files=_is_local_path(self.lake_uri) and session_is_local(session),
                )
            )
        return self._backend

    def uri(self, layer: str, name: str) -> str:
        """Where table ``<layer>.<name>`` lives: its path, or its Unity Catalog name."""
        if self.catalog:
            return f"{self.catalog}.{layer}.{name}"
        return f"{self.lake_uri.rstrip('/')}/{layer}/{name}"

    def overwrite(
        self,
        data: Data,
        layer: str,
        name: str,
        partition_by: list[str] | None = None,
        replace: PartitionRange | None = None,
    ) -> WriteResult:
        """Replace the table, or only the rows of ``replace``'s range, in one commit."""
        uri = self.uri(layer, name)
        return WriteResult(uri, *self.backend.write(data, uri, "overwrite", partition_by, replace))

    def append(self, data: Data, layer: str, name: str) -> WriteResult:
        uri = self.uri(layer, name)
        return WriteResult(uri, *self.backend.write(data, uri, "append", None, None))

    def merge(self, data: Data, layer: str, name: str, keys: list[str]) -> WriteResult:
        """Upsert on ``keys``: matching rows are updated, new ones inserted."""
        uri = self.uri(layer, name)
        return WriteResult(uri, *self.backend.merge(data, uri, keys))

    def read(self, layer: str, name: str, where: PartitionRange | None = None) -> DataFrame:
        return self.backend.read(self.uri(layer, name), where)

    def count(self, layer: str, name: str, where: PartitionRange | None = None) -> int:
        """Rows of the table (of ``where``'s range), read from the table's metadata where it can."""
        return self.backend.count(self.uri(layer, name), where)

    def version(self, layer: str, name: str) -> int | None:
        return self.backend.version(self.uri(layer, name))

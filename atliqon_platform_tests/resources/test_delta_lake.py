"""The storage layer on real Delta tables: a local folder, and S3 through moto's server."""

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal

import pytest
from deltalake import DeltaTable
from pyspark.sql import functions as F

from atliqon_platform.assets.metadata import history_table, preview
from atliqon_platform.resources.delta_lake import (
    DeltaLakeResource,
    PartitionRange,
    SchemaMismatchError,
    TableNotFoundError,
    WriteResult,
)
from atliqon_platform.resources.spark_jars import DELTA_VERSION
from atliqon_platform.settings import ConfigurationError, delta_storage_options
from atliqon_platform.tables import Table

SCHEMA = "day date, amount decimal(12,2), ratio double, label string"
SAMPLE = Table("silver", "sample", "Rows by day, laid out by month.", partition_column="day")
WHOLE = Table("silver", "whole", "Rows rebuilt whole.")


@pytest.fixture(params=["local", "s3"])
def any_lake(request, tmp_path, spark_resource) -> DeltaLakeResource:
    if request.param == "local":
        return DeltaLakeResource(lake_uri=str(tmp_path / "lake"), spark=spark_resource)
    bucket = request.getfixturevalue("s3_bucket")
    return DeltaLakeResource(lake_uri=f"s3://{bucket}/lake", spark=spark_resource)


def rows(day: int, label: str):
    return [(dt.date(2025, 7, day), Decimal("12.50") * day, day / 4, f"{label}{day}")]


def frame(spark, *days: int, label: str = "v"):
    return spark.createDataFrame([row for day in days for row in rows(day, label)], SCHEMA)


def test_round_trip_keeps_types_and_is_readable_by_deltalake(spark, any_lake):
    any_lake.overwrite(frame(spark, 1, 2, 3), SAMPLE)
    back = any_lake.read(SAMPLE)
    assert back.schema.simpleString() == frame(spark, 1).schema.simpleString()
    assert sorted(back.collect()) == sorted(frame(spark, 1, 2, 3).collect())
    uri = any_lake.uri(SAMPLE)
    assert uri.endswith("/silver/sample")
    table = DeltaTable(uri, storage_options=delta_storage_options(uri) or None).to_pyarrow_table()
    assert table.num_rows == 3
    assert str(table.schema.field("amount").type) == "decimal128(12, 2)"


def test_new_tables_keep_statistics_of_their_date_column_only_and_every_files_row_count(spark, any_lake):
    any_lake.overwrite(frame(spark, 1, 2, 3), SAMPLE)
    any_lake.overwrite(frame(spark, 1, 2), WHOLE)
    for table, statistics, properties in (
        (SAMPLE, {"min.day", "max.day", "null_count.day"}, {"delta.dataSkippingStatsColumns": "day"}),
        (WHOLE, set(), {"delta.dataSkippingNumIndexedCols": "0"}),
    ):
        [detail] = any_lake.command(table, "DESCRIBE DETAIL {table}")
        assert detail["properties"] == properties, table
        uri = any_lake.uri(table)
        delta = DeltaTable(uri, storage_options=delta_storage_options(uri) or None)
        files = delta.get_add_actions(flatten=True)
        kinds = ("min", "max", "null_count")
        collected = {name for name in files.column_names if name.split(".")[0] in kinds}
        assert collected == statistics, table
        assert sum(files["num_records"].to_pylist()) == any_lake.count(table), table


@pytest.fixture
def catalog_lake(spark, spark_resource) -> Iterator[DeltaLakeResource]:
    """Tables by name in the session's own catalog, as in Unity Catalog; dropped after the test."""
    yield DeltaLakeResource(lake_uri="unused", spark=spark_resource, catalog="spark_catalog")
    spark.sql(f"DROP SCHEMA IF EXISTS spark_catalog.{SAMPLE.layer} CASCADE")


def replace_two_days_of_four(spark, lake: DeltaLakeResource) -> WriteResult:
    # One file for the month: replacing two of its days rewrites it, copying days 1 and 4.
    lake.overwrite(frame(spark, 1, 2, 3, 4).coalesce(1), SAMPLE)
    only_2_and_3 = PartitionRange("day", dt.date(2025, 7, 2), dt.date(2025, 7, 3))
    result = lake.overwrite(frame(spark, 2, label="new"), SAMPLE, replace=only_2_and_3)
    assert {row.label for row in lake.read(SAMPLE).collect()} == {"v1", "new2", "v4"}
    assert result.rows == 1
    assert "new2" in preview(result) and "v1" not in preview(result)  # the rows written, not the table's
    return result


def test_a_catalog_tables_preview_shows_the_rows_of_the_range_replaced(spark, catalog_lake):
    result = replace_two_days_of_four(spark, catalog_lake)
    assert result.preview is not None  # read through the session: delta-rs cannot read a catalog
    assert catalog_lake.uri(SAMPLE) == "spark_catalog.silver.sample"


def test_partition_overwrite_replaces_only_its_range(spark, any_lake):
    result = replace_two_days_of_four(spark, any_lake)
    # and so says the UI's history of the table, where Delta's metrics count the copies as output
    [header, _, last_commit, *_] = history_table(result.history).value.splitlines()
    assert header.split("|")[4].strip() == "rows" and last_commit.split("|")[4].strip() == "1"
    ranged = any_lake.read(SAMPLE, PartitionRange("day", dt.date(2025, 7, 2), dt.date(2025, 7, 4)))
    assert {row.label for row in ranged.collect()} == {"new2", "v4"}


def test_wrong_schema_fails_clearly_and_leaves_version(spark, any_lake):
    any_lake.overwrite(frame(spark, 1), WHOLE)
    before = any_lake.version(WHOLE)
    wrong = frame(spark, 2).withColumn("ratio", F.col("ratio").cast("string")).drop("label")
    with pytest.raises(SchemaMismatchError) as error:
        any_lake.overwrite(wrong, WHOLE)
    assert "missing column label" in str(error.value)
    assert "column ratio is string, the table has double" in str(error.value)
    assert any_lake.version(WHOLE) == before


def test_reading_a_path_that_is_not_a_delta_table_says_so(tmp_path, lake):
    (tmp_path / "lake" / "gold" / "nothing").mkdir(parents=True)
    with pytest.raises(TableNotFoundError, match="no Delta table at .*gold/nothing"):
        lake.read(Table("gold", "nothing", "Never written."))


def test_every_write_is_one_commit_by_delta_spark_and_reads_scan_the_table(spark, any_lake):
    """Spark commits Delta itself and reads the table's files: no row passes through the driver."""
    june_30 = spark.createDataFrame([(dt.date(2025, 6, 30), Decimal("1.00"), 0.5, "june")], SCHEMA)
    any_lake.overwrite(frame(spark, 1, 2, 3).union(june_30), SAMPLE)
    july_2 = PartitionRange("day", dt.date(2025, 7, 2), dt.date(2025, 7, 2))
    result = any_lake.overwrite(frame(spark, 2, label="new"), SAMPLE, replace=july_2)
    uri = any_lake.uri(SAMPLE)
    history = spark.sql(f"DESCRIBE HISTORY delta.`{uri}`").collect()
    assert [commit.version for commit in history] == [1, 0]
    # What the asset page shows, as the write read it back (through Spark on S3).
    assert [(commit["version"], commit["operation"]) for commit in result.history] == [
        (1, "WRITE"),
        (0, "WRITE"),
    ]
    assert all(commit.engineInfo.endswith(f"Delta-Lake/{DELTA_VERSION}") for commit in history)
    read = any_lake.read(SAMPLE, july_2)
    plan = read._jdf.queryExecution().executedPlan().toString()
    assert "LocalTableScan" not in plan and "FileScan parquet" in plan
    scheme = "s3://" if uri.startswith("s3://") else "file:"
    assert all(path.startswith(scheme) and "day_month=2025-07-01" in path for path in read.inputFiles())
    assert [row.label for row in read.collect()] == ["new2"]


def test_rows_of_each_day_and_month_of_a_range_are_counted_from_the_date_column(spark, any_lake):
    """What a range run files under each of its partitions: locally counted by delta-rs, on S3 by
    the session (as on a catalog); days or months without rows are left out, as are rows
    outside the range."""
    june_30 = spark.createDataFrame([(dt.date(2025, 6, 30), Decimal("1.00"), 0.5, "june")], SCHEMA)
    august_1 = spark.createDataFrame([(dt.date(2025, 8, 1), Decimal("2.00"), 0.5, "august")], SCHEMA)
    any_lake.overwrite(frame(spark, 1, 3, 3).union(june_30).union(august_1), SAMPLE)
    july = PartitionRange("day", dt.date(2025, 7, 1), dt.date(2025, 7, 31))
    assert any_lake.rows_per_partition(SAMPLE, july) == {"2025-07-01": 1, "2025-07-03": 2}
    june_to_august = PartitionRange("day", dt.date(2025, 6, 1), dt.date(2025, 8, 31))
    assert any_lake.rows_per_partition(SAMPLE, june_to_august, monthly=True) == {
        "2025-06-01": 1,
        "2025-07-01": 3,
        "2025-08-01": 1,
    }


def test_a_table_written_by_range_is_partitioned_by_month_and_reads_without_that_column(
    spark, lake, tmp_path
):
    july = PartitionRange("day", dt.date(2025, 7, 1), dt.date(2025, 7, 31))
    lake.overwrite(frame(spark, 1, 2, 3), SAMPLE, replace=july)
    table = DeltaTable(lake.uri(SAMPLE))
    assert table.metadata().partition_columns == ["day_month"]
    assert set(table.to_pyarrow_table().column("day_month").to_pylist()) == {dt.date(2025, 7, 1)}
    assert lake.read(SAMPLE).columns == ["day", "amount", "ratio", "label"]
    assert lake.count(SAMPLE, PartitionRange("day", dt.date(2025, 7, 2), dt.date(2025, 7, 3))) == 2


def test_a_table_of_the_old_daily_layout_is_refused_with_what_to_do(spark, lake):
    daily = Table("silver", "daily", "Laid out by day, as an earlier version did.", partition_column="day")
    frame(spark, 1).write.format("delta").partitionBy("day").save(lake.uri(daily))
    july_1 = PartitionRange("day", dt.date(2025, 7, 1), dt.date(2025, 7, 1))
    with pytest.raises(SchemaMismatchError, match="daily layout of an earlier version.*atliqon backfill"):
        lake.overwrite(frame(spark, 1, label="new"), daily, replace=july_1)


def test_a_table_needing_features_this_engine_lacks_is_refused_in_one_line(spark, lake, tmp_path):
    log = tmp_path / "lake" / "silver" / "future" / "_delta_log"
    log.mkdir(parents=True)
    protocol = {"minReaderVersion": 3, "minWriterVersion": 7}
    protocol |= {"readerFeatures": ["timeTravelToTheFuture"], "writerFeatures": ["timeTravelToTheFuture"]}
    metadata = {
        "id": "0",
        "format": {"provider": "parquet", "options": {}},
        "schemaString": json.dumps(
            {"type": "struct", "fields": [{"name": "a", "type": "long", "nullable": True, "metadata": {}}]}
        ),
        "partitionColumns": [],
        "configuration": {},
    }
    (log / "00000000000000000000.json").write_text(
        json.dumps({"protocol": protocol}) + "\n" + json.dumps({"metaData": metadata}) + "\n"
    )
    future = Table("silver", "future", "Written by a newer Delta writer.")
    with pytest.raises(ConfigurationError, match="written with Delta features this engine cannot read"):
        lake.read(future)
    with pytest.raises(ConfigurationError, match="cannot read"):
        lake.overwrite(spark.range(1).withColumnRenamed("id", "a"), future)
    assert len(list(log.iterdir())) == 1


def test_replace_with_rows_outside_its_range_is_refused_and_changes_nothing(spark, any_lake):
    any_lake.overwrite(frame(spark, 1, 2), SAMPLE)
    before = sorted(any_lake.read(SAMPLE).collect())
    only_1 = PartitionRange("day", dt.date(2025, 7, 1), dt.date(2025, 7, 1))
    with pytest.raises(Exception, match="DELTA_REPLACE_WHERE_MISMATCH"):
        any_lake.overwrite(frame(spark, 1, 2, label="x"), SAMPLE, replace=only_1)
    assert any_lake.version(SAMPLE) == 0
    assert sorted(any_lake.read(SAMPLE).collect()) == before


def test_empty_writes_create_the_table_and_empty_a_range(spark, any_lake):
    empty = frame(spark, 1).limit(0)
    nothing = Table("silver", "empty", "No row yet.", partition_column="day")
    any_lake.overwrite(empty, nothing)
    assert any_lake.read(nothing).schema.simpleString() == empty.schema.simpleString()
    assert any_lake.count(nothing) == 0
    any_lake.overwrite(frame(spark, 1, 2), SAMPLE)
    july_2 = PartitionRange("day", dt.date(2025, 7, 2), dt.date(2025, 7, 2))
    result = any_lake.overwrite(empty, SAMPLE, replace=july_2)
    assert result.rows == 0
    assert [row.label for row in any_lake.read(SAMPLE).collect()] == ["v1"]
    # Nothing to replace and nothing to write: whether Delta commits or not, no row was written
    # (not the rows of the commit before, which once made silver see rows from nowhere).
    again = any_lake.overwrite(empty, SAMPLE, replace=july_2)
    assert again.rows == 0 and again.version >= result.version
    assert preview(again) == "_no rows_"  # not day 1's rows under day 2


def test_null_partition_values_round_trip(spark, any_lake):
    rows_with_null_day = frame(spark, 1).unionByName(
        frame(spark, 2).withColumn("day", F.lit(None).cast("date"))
    )
    any_lake.overwrite(rows_with_null_day, SAMPLE)
    back = {row.label: row.day for row in any_lake.read(SAMPLE).collect()}
    assert back == {"v1": dt.date(2025, 7, 1), "v2": None}


def test_a_range_of_another_column_than_the_tables_partition_column_is_refused(spark, lake):
    july_1 = PartitionRange("amount", dt.date(2025, 7, 1), dt.date(2025, 7, 1))
    with pytest.raises(ValueError, match="silver.sample is partitioned by day, not amount"):
        lake.overwrite(frame(spark, 1), SAMPLE, replace=july_1)


def test_the_local_engine_interprets_its_plans_instead_of_generating_code(lake, spark):
    """Generated code cost a build more than it saved (resources/spark.py): neither a query stage
    nor an expression of the local session is compiled, and a Delta round trip still holds."""
    table = Table("silver", "interpreted", "Rows written and aggregated without generated code.")
    lake.overwrite(frame(spark, 1, 2, 3), table)
    totals = lake.read(table).groupBy().agg(F.sum("amount").alias("amount"), F.max("label").alias("label"))
    assert totals.collect()[0].asDict() == {"amount": Decimal("75.00"), "label": "v3"}
    plan = totals._jdf.queryExecution().executedPlan().toString()  # as run: adaptive plans settle then
    assert "isFinalPlan=true" in plan and "WholeStageCodegen" not in plan and "*(" not in plan, plan
    assert spark.conf.get("spark.sql.codegen.factoryMode") == "NO_CODEGEN"

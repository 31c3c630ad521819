"""The real dataset through the whole graph, in one backfill: the figures of REFERENCE_RULES.md §4
on its rows before December, and December added to the daily and monthly facts."""

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from dagster import AssetCheckSeverity
from deltalake import DeltaTable

from atliqon_platform.resources.spark_jars import DELTA_VERSION
from atliqon_platform.tables import SILVER_TABLES, rejected
from atliqon_platform_tests.expected_graph import ASSETS, CHECK_KEYS, REAL_DATA_WARNINGS
from atliqon_platform_tests.real_platform import DECEMBER, REAL_TABLES, read_delta


def test_orders_figures(real_platform):
    tables = real_platform["full_load"]
    assert tables["bronze/orders"].num_rows == 51_810
    rejected = tables["silver/orders_rejected"]
    reasons = pc.value_counts(rejected["reject_reason"]).to_pylist()
    by_reason = {item["values"]: item["counts"] for item in reasons}
    null_quantity = by_reason.get("null quantity", 0)
    assert 51_810 - null_quantity == 49_203
    assert 49_203 - by_reason.get("duplicate line", 0) == 45_587
    assert tables["silver/orders"].num_rows == 40_811
    assert tables["gold/sb_fact_orders"].num_rows == 40_811
    assert tables["silver/orders"].num_rows + rejected.num_rows == 51_810


def test_dimension_figures(real_platform):
    tables = real_platform["full_load"]
    assert tables["silver/customers"].num_rows == 35
    assert tables["silver/products"].num_rows == 18
    assert tables["silver/gross_price"].num_rows == 90
    assert tables["gold/sb_dim_gross_price"].num_rows == 17
    customers = tables["gold/dim_customers"]
    assert customers.num_rows == 18 + 35 + 1
    unknown = customers.filter(pc.equal(customers["customer_code"], "999999")).to_pylist()
    assert unknown == [
        {
            "customer_code": "999999",
            "customer": "Unknown customer",
            "market": "India",
            "platform": "Sports Bar",
            "channel": "Unknown",
        }
    ]


def test_fact_orders_has_parent_rows_and_612_child_rows_a_month(real_platform):
    facts = real_platform["full_load"]["gold/fact_orders"]
    child = facts.filter(pc.equal(pc.utf8_length(facts["product_code"]), 64))
    assert facts.num_rows - child.num_rows == 93_055
    assert child.num_rows == 3_060
    months = {item["values"]: item["counts"] for item in pc.value_counts(child["date"]).to_pylist()}
    assert months == {dt.date(2025, month, 1): 612 for month in range(7, 12)}


def unpriced_fact_rows(facts: pa.Table, prices: pa.Table) -> int:
    """Fact rows whose (product_code, year of date) has no row in the yearly prices."""
    keyed = facts.append_column("year", pc.year(facts["date"]))
    price_keys = prices.select(["product_code"]).append_column("year", pc.cast(prices["year"], pa.int64()))
    return keyed.join(price_keys, keys=["product_code", "year"], join_type="left anti").num_rows


def test_view_has_one_row_per_fact_and_amount_is_quantity_times_price(real_platform):
    tables = real_platform["full_load"]
    view, facts = tables["gold/vw_fact_orders_enriched"], tables["gold/fact_orders"]
    assert view.num_rows == facts.num_rows
    assert pc.sum(view["sold_quantity"]).as_py() == pc.sum(facts["sold_quantity"]).as_py()
    # Every (product, year) sold has a price in the source files: the parent's price list covers
    # each product it sold in 2024 and 2025, and the 17 child products that join have 2025 prices.
    no_price = pc.is_null(view["price_inr"])
    assert unpriced_fact_rows(facts, tables["gold/dim_gross_price"]) == 0
    assert pc.sum(no_price).as_py() == 0
    priced = view.filter(pc.invert(no_price))
    expected = pc.multiply(priced["sold_quantity"], priced["price_inr"])
    assert pc.all(pc.equal(priced["total_amount_inr"], expected), skip_nulls=False).as_py() is True
    assert view.column_names[:3] == ["date", "product_code", "customer_code"]
    assert pc.sum(pc.is_null(view["channel"])).as_py() == 0


def test_december_is_added_to_the_daily_and_monthly_facts(real_platform):
    home = real_platform["home"]
    after = {table: read_delta(home, table) for table in ("gold/sb_fact_orders", "gold/fact_orders")}
    daily = after["gold/sb_fact_orders"]
    daily = daily.filter(pc.greater_equal(daily["date"], DECEMBER))
    monthly = after["gold/fact_orders"]
    december_child = monthly.filter(
        pc.and_(
            pc.equal(monthly["date"], DECEMBER),
            pc.equal(pc.utf8_length(monthly["product_code"]), 64),
        )
    )
    assert daily.num_rows > 0
    assert pc.sum(december_child["sold_quantity"]).as_py() == pc.sum(daily["sold_quantity"]).as_py()
    december_parent = monthly.filter(
        pc.and_(
            pc.equal(monthly["date"], DECEMBER),
            pc.not_equal(pc.utf8_length(monthly["product_code"]), 64),
        )
    )
    assert december_parent.num_rows == 4_485


def test_each_silver_write_accounts_for_every_row_read_with_the_reasons_of_its_quarantine(real_platform):
    """The last backfill wrote every silver table whole (all days in one range), so its reasons
    and counts must match the quarantine as written: the whole table's, or for the orders, the
    day it recorded last (each day of a range run has its own)."""
    home, metadata = real_platform["home"], real_platform["metadata"]
    for table in SILVER_TABLES:
        quarantine, kept = (read_delta(home, f"silver/{name}") for name in (rejected(table).name, table.name))
        rows = metadata[f"silver/{table.name}"]
        day = real_platform["partitions"][f"silver/{table.name}"]
        if day is not None:
            column = table.partition_column
            quarantine, kept = (
                data.filter(pc.equal(data[column], dt.date.fromisoformat(day))) for data in (quarantine, kept)
            )
        kind = pc.struct_field(pc.extract_regex(quarantine["reject_reason"], r"^(?P<kind>[^:]+)"), "kind")
        written = {item["values"]: item["counts"] for item in pc.value_counts(kind).to_pylist()}
        assert rows["rejected_by_reason"].value == written, table
        assert (rows["rows_rejected"].value, rows["rows_kept"].value) == (
            quarantine.num_rows,
            kept.num_rows,
        ), table
        assert rows["rows_read"].value == kept.num_rows + quarantine.num_rows > 0, table


def test_no_table_has_duplicate_rows(real_platform):
    home = real_platform["home"]
    for table in (
        "gold/fact_orders",
        "gold/vw_fact_orders_enriched",
        "gold/dim_customers",
        "gold/dim_products",
    ):
        data = read_delta(home, table)
        assert data.group_by(data.column_names).aggregate([]).num_rows == data.num_rows, table


def test_every_asset_and_check_ran_and_every_check_passed_except_warnings_about_real_defects(
    real_platform, reference_dataset
):
    assert real_platform["assets"] == ASSETS
    checks = real_platform["checks"]
    assert set(checks) == CHECK_KEYS
    assert {key for key, evaluation in checks.items() if not evaluation.passed} == REAL_DATA_WARNINGS
    assert {checks[key].severity for key in REAL_DATA_WARNINGS} == {AssetCheckSeverity.WARN}
    assert "no order lines on 2025-08-31, 2025-10-31" in checks[("bronze/orders", "not_empty")].description
    conflicts = checks[("silver/orders", "conflicting_lines")].metadata["offending_rows"].value
    unsold = checks[("gold/vw_fact_orders_enriched", "priced_products_have_sales")].metadata["offending_rows"]
    assert (conflicts, unsold.value) == (16, 8)
    # each conflicting line's example leads to its line in the file delivered
    examples = checks[("silver/orders", "conflicting_lines")].metadata["examples"].value
    header, _, *lines = examples.splitlines()
    names = [name.strip() for name in header.strip("|").split("|")]
    assert lines
    for line in lines:
        row = dict(zip(names, (value.strip() for value in line.strip("|").split("|")), strict=True))
        [delivered] = reference_dataset.rglob(Path(row["file_name"]).name)
        text = delivered.read_text().splitlines()[int(row["line_number"]) - 1]
        assert text.startswith(f"{row['order_id']},"), (row, text)


def test_every_table_is_committed_by_delta_spark_and_read_by_deltalake(real_platform, spark):
    """The lake's contract: Spark's own Delta engine writes, and delta-rs reads every table."""
    lake = real_platform["home"] / "lake"
    tables = sorted(
        f"{layer.name}/{table.name}"
        for layer in lake.iterdir()
        if layer.name in ("bronze", "silver", "gold")
        for table in layer.iterdir()
        if (table / "_delta_log").is_dir()
    )
    assert set(REAL_TABLES) <= set(tables)
    for table in tables:
        delta = DeltaTable(str(lake / table))
        assert delta.history(1)[0]["engineInfo"].endswith(f"Delta-Lake/{DELTA_VERSION}"), table
        protocol = delta.protocol()
        assert (protocol.min_reader_version, protocol.min_writer_version) == (1, 2), table
        spark_rows = spark.read.format("delta").load(str(lake / table)).count()
        assert delta.to_pyarrow_table().num_rows == spark_rows, table

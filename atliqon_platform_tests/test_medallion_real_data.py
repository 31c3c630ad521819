"""The real dataset through the whole graph: the figures of REFERENCE_RULES.md §4, December
added without touching earlier months, and a second backfill changing nothing."""

import datetime as dt
import shutil

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from dagster import instance_for_test
from deltalake import DeltaTable

from atliqon_platform.automation.backfill import backfill_everything
from atliqon_platform.resources.landing_zone import LandingZoneResource
from atliqon_platform.sample_data.reference_dataset import copy_reference_dataset
from atliqon_platform.settings import load_settings

TABLES = [
    "bronze/orders",
    "silver/orders",
    "silver/orders_rejected",
    "gold/sb_fact_orders",
    "gold/fact_orders",
    "silver/customers",
    "silver/products",
    "silver/gross_price",
    "gold/sb_dim_customers",
    "gold/sb_dim_products",
    "gold/sb_dim_gross_price",
    "gold/dim_customers",
    "gold/dim_products",
    "gold/dim_gross_price",
    "gold/dim_date",
    "gold/vw_fact_orders_enriched",
]


def read(home, table: str) -> pa.Table:
    return DeltaTable(str(home / "lake" / table)).to_pyarrow_table()


def content(home, table: str) -> pa.Table:
    """A table's rows in a fixed order, without the ingestion time (which a rerun renews)."""
    data = read(home, table)
    data = data.drop_columns([name for name in data.column_names if name == "ingested_at"])
    return data.sort_by([(name, "ascending") for name in data.column_names])


@pytest.fixture(scope="module")
def built(reference_dataset, tmp_path_factory):
    """The full load seeded and backfilled, then snapshots after a second identical backfill."""
    home = tmp_path_factory.mktemp("real")
    settings = load_settings({"ATLIQON_HOME": str(home), "ATLIQON_SPARK_MASTER": "local[2]"})
    landing = LandingZoneResource(uri=settings.landing_uri)
    copy_reference_dataset(reference_dataset, landing, until=dt.date(2025, 11, 30))
    with instance_for_test() as instance:
        assert backfill_everything(settings, instance=instance)
        first = {table: content(home, table) for table in TABLES}
        assert backfill_everything(settings, instance=instance)
        second = {table: content(home, table) for table in TABLES}
        full_load = {table: read(home, table) for table in TABLES}
        copy_reference_dataset(reference_dataset, landing, parent_increment=True)
        assert backfill_everything(settings, instance=instance)
    yield {"home": home, "first": first, "second": second, "full_load": full_load}
    shutil.rmtree(home, ignore_errors=True)


def test_orders_figures(built):
    tables = built["full_load"]
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


def test_dimension_figures(built):
    tables = built["full_load"]
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


def test_fact_orders_has_parent_rows_and_612_child_rows_a_month(built):
    facts = built["full_load"]["gold/fact_orders"]
    child = facts.filter(pc.equal(pc.utf8_length(facts["product_code"]), 64))
    assert facts.num_rows - child.num_rows == 93_055
    assert child.num_rows == 3_060
    months = {item["values"]: item["counts"] for item in pc.value_counts(child["date"]).to_pylist()}
    assert months == {dt.date(2025, month, 1): 612 for month in range(7, 12)}


def test_view_has_one_row_per_fact_and_amount_is_quantity_times_price(built):
    view, facts = built["full_load"]["gold/vw_fact_orders_enriched"], built["full_load"]["gold/fact_orders"]
    assert view.num_rows == facts.num_rows
    assert pc.sum(view["sold_quantity"]).as_py() == pc.sum(facts["sold_quantity"]).as_py()
    expected = pc.multiply(view["sold_quantity"], view["price_inr"])
    assert pc.all(pc.equal(view["total_amount_inr"], expected).fill_null(True)).as_py()
    assert view.column_names[:3] == ["date", "product_code", "customer_code"]
    assert pc.sum(pc.is_null(view["channel"])).as_py() == 0


def test_second_backfill_changes_nothing(built):
    for table in TABLES:
        assert built["first"][table].equals(built["second"][table]), table


def test_december_is_added_without_changing_earlier_months(built):
    home, before = built["home"], built["full_load"]
    after = {table: read(home, table) for table in ("gold/sb_fact_orders", "gold/fact_orders")}
    for table, column in (("gold/sb_fact_orders", "date"), ("gold/fact_orders", "date")):
        old = before[table].filter(pc.less_equal(before[table][column], dt.date(2025, 11, 30)))
        kept = after[table].filter(pc.less_equal(after[table][column], dt.date(2025, 11, 30)))
        key = [(name, "ascending") for name in old.column_names]
        assert old.sort_by(key).equals(kept.sort_by(key)), table
    daily = after["gold/sb_fact_orders"].filter(
        pc.greater_equal(after["gold/sb_fact_orders"]["date"], dt.date(2025, 12, 1))
    )
    monthly = after["gold/fact_orders"]
    december_child = monthly.filter(
        pc.and_(
            pc.equal(monthly["date"], dt.date(2025, 12, 1)),
            pc.equal(pc.utf8_length(monthly["product_code"]), 64),
        )
    )
    assert daily.num_rows > 0
    assert pc.sum(december_child["sold_quantity"]).as_py() == pc.sum(daily["sold_quantity"]).as_py()
    december_parent = monthly.filter(
        pc.and_(
            pc.equal(monthly["date"], dt.date(2025, 12, 1)),
            pc.not_equal(pc.utf8_length(monthly["product_code"]), 64),
        )
    )
    assert december_parent.num_rows == 4_485


def test_no_table_has_duplicate_rows(built):
    home = built["home"]
    for table in (
        "gold/fact_orders",
        "gold/vw_fact_orders_enriched",
        "gold/dim_customers",
        "gold/dim_products",
    ):
        data = read(home, table)
        assert data.group_by(data.column_names).aggregate([]).num_rows == data.num_rows, table

"""Bronze on real files: bad headers fail their partition and its expected_columns check clearly,
other partitions untouched."""

import datetime as dt

from dagster import DagsterInstance, materialize
from deltalake import DeltaTable

from atliqon_platform.assets.bronze import bronze_orders, read_files
from atliqon_platform.resources.landing_zone import LandingZoneResource
from atliqon_platform.sources import ORDERS

HEADER = b"order_id,order_placement_date,customer_id,product_id,order_qty\n"
GOOD = HEADER + b"A,2025/07/01,1,2,3.0\nB,2025/07/01,1,2\n"


def test_bad_header_fails_its_partition_naming_file_and_columns(tmp_path, lake):
    landing = LandingZoneResource(uri=str(tmp_path / "landing"))
    landing.write("orders/landing/orders_2025_07_01.csv", GOOD)
    landing.write("orders/landing/orders_2025_07_02.csv", b"order_id,customer_id,product_id\nA,1,2\n")
    landing.write("orders/landing/orders_2025_02_30.csv", GOOD)  # not a date: skipped with a warning
    resources = {"landing": landing, "lake": lake}
    instance = DagsterInstance.ephemeral()
    assert materialize(
        [bronze_orders], partition_key="2025-07-01", resources=resources, instance=instance
    ).success
    failed = materialize(
        [bronze_orders],
        partition_key="2025-07-02",
        resources=resources,
        instance=instance,
        raise_on_error=False,
    )
    assert not failed.success
    message = str(failed.get_step_failure_events()[0].event_specific_data.error.message)
    assert "orders/landing/orders_2025_07_02.csv, line 1" in message
    assert "order_placement_date, order_qty" in message
    [check] = failed.get_asset_check_evaluations()
    assert (check.check_name, check.passed) == ("expected_columns", False)
    assert "orders/landing/orders_2025_07_02.csv, line 1" in check.description
    table = DeltaTable(lake.uri("bronze", "orders")).to_pyarrow_table()
    assert set(table.column("landing_date").to_pylist()) == {dt.date(2025, 7, 1)}
    assert table.column("parse_error").to_pylist() == [None, "line 3: expected 5 fields, found 4"]
    assert table.column("file_name").to_pylist() == ["orders/landing/orders_2025_07_01.csv"] * 2


def test_files_gone_or_empty_when_read_are_set_aside_with_the_reason(tmp_path):
    landing = LandingZoneResource(uri=str(tmp_path / "landing"))
    keys = [f"orders/landing/orders_2025_07_0{day}.csv" for day in (1, 2, 3)]
    landing.write(keys[0], GOOD)
    landing.write(keys[1], b"")
    landing.write(keys[2], GOOD)
    listed = [item.key for item in landing.list(ORDERS.prefix)]
    (tmp_path / "landing" / keys[2]).unlink()  # deleted between the listing and the read
    loaded = read_files(landing, ORDERS, listed)
    assert loaded.table.num_rows == 2 and loaded.wrong_header == []
    assert loaded.skipped == [
        f"{keys[1]}: zero bytes (an upload not finished, or an empty delivery)",
        f"{keys[2]}: listed, then gone before it could be read",
    ]

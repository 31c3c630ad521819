"""Bad input. One bad file quarantines itself, not the run: a range run over days that each hold
one kind of whole-file defect succeeds, every good day reaches gold, every line of a refused file
is in the quarantine with the file and why, and the file re-delivered fixed reruns its day through
the sensor, replacing that day's quarantine. In process, on a copy of the tiny home (real Spark
and Delta)."""

from __future__ import annotations

import codecs
import gzip
import io
import json
import zipfile

import pyarrow.compute as pc
import pytest
from dagster import AssetKey, AssetMaterialization, build_sensor_context
from deltalake import DeltaTable

from atliqon_platform.assets.bronze import read_files
from atliqon_platform.assets.jobs import DIMENSIONS
from atliqon_platform.automation.landing_sensors import (
    FULL_SCAN_EVERY,
    ORDER_SENSOR,
    LandingCursor,
    build_landing_sensors,
    changed_objects,
)
from atliqon_platform.backfill import load_days
from atliqon_platform.definitions import build_definitions
from atliqon_platform.resources.landing_zone import LandingZoneResource
from atliqon_platform.sources import ORDERS, order_file_key
from atliqon_platform_tests.instances import home_settings, platform_instance, run_as_launched
from atliqon_platform_tests.real_platform import latest_check_results
from atliqon_platform_tests.tiny import copy_home, day

HEADER = "order_id,order_placement_date,customer_id,product_id,order_qty"


def lines(offset: int) -> list[str]:
    """Three clean order lines of a day, of known customers and products."""
    when = day(offset)
    return [f"D{offset:02d}-{n},{when:%Y/%m/%d},78900{n},2589000{n},{10 * n}.0" for n in (1, 2, 3)]


def csv_text(header: str, rows: list[str], sep: str = ",", end: str = "\n") -> bytes:
    return "".join(f"{line.replace(',', sep)}{end}" for line in [header, *rows]).encode()


def zipped(data: bytes) -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as folder:
        folder.writestr("orders.csv", data)
    return archive.getvalue()


def with_columns(offset: int, order: list[int]) -> bytes:
    """The day's file with only the columns of ``order``, in that order."""

    def pick(text: str) -> str:
        return ",".join(text.split(",")[index] for index in order)

    return csv_text(pick(HEADER), [pick(row) for row in lines(offset)])


# Day offset -> (kind, file), after the tiny home's two days. "read" days must give exactly the
# three lines of the day.
DELIVERIES = {
    2: ("plain", lambda o: csv_text(HEADER, lines(o))),
    3: ("missing columns", lambda o: with_columns(o, [0, 2, 3])),
    4: ("extra columns", lambda o: csv_text(HEADER + ",channel", [f"{r},web" for r in lines(o)])),
    5: ("columns in another order", lambda o: with_columns(o, [4, 0, 3, 1, 2])),
    6: ("byte-order mark", lambda o: codecs.BOM_UTF8 + csv_text(HEADER, lines(o))),
    7: ("CRLF line ends", lambda o: csv_text(HEADER, lines(o), end="\r\n")),
    8: ("semicolon delimiter", lambda o: csv_text(HEADER, lines(o), sep=";")),
    9: ("bytes that are not UTF-8", lambda o: csv_text(HEADER, lines(o)).replace(b"D09-2", b"D09-\xe92")),
    10: ("gzip-compressed", lambda o: gzip.compress(csv_text(HEADER, lines(o)))),
    11: ("not CSV (a zip archive)", lambda o: zipped(csv_text(HEADER, lines(o)))),
    12: ("header only", lambda o: csv_text(HEADER, [])),
    13: ("empty", lambda o: b""),
}
READ = [2, 4, 5, 6, 7, 8, 10]
MISSING, EXTRA, NOT_UTF8, ZIP, HEADER_ONLY, EMPTY = 3, 4, 9, 11, 12, 13
REFUSED = [MISSING, ZIP]
INVALID_NAME = f"{ORDERS.prefix}orders_2025_02_30.csv"


def test_files_gone_or_empty_when_read_are_set_aside_with_the_reason(tmp_path):
    landing = LandingZoneResource(uri=str(tmp_path / "landing"))
    keys = [order_file_key(day(offset)) for offset in (0, 1, 2)]
    landing.write(keys[0], csv_text(HEADER, lines(0)))
    landing.write(keys[1], b"")
    landing.write(keys[2], csv_text(HEADER, lines(2)))
    listed = [item.key for item in landing.list(ORDERS.prefix)]
    (tmp_path / "landing" / keys[2]).unlink()  # deleted between the listing and the read
    loaded = read_files(landing, ORDERS, listed)
    assert (loaded.table.num_rows, loaded.readable_rows, loaded.refused) == (3, {keys[0]: 3}, {})
    assert loaded.skipped == [
        f"{keys[1]}: zero bytes (an upload not finished, or an empty delivery)",
        f"{keys[2]}: listed, then gone before it could be read",
    ]


def day_rows(home, table: str, column: str, offset: int) -> list[dict]:
    data = DeltaTable(str(home / "lake" / table)).to_pyarrow_table()
    order = "line_number" if "line_number" in data.column_names else "order_id"
    return data.filter(pc.equal(data[column], day(offset))).sort_by(order).to_pylist()


def child_quantity(home) -> float:
    """SportsBar's quantity in gold.fact_orders (its product codes are SHA-256 digests)."""
    facts = DeltaTable(str(home / "lake" / "gold" / "fact_orders")).to_pyarrow_table()
    return pc.sum(facts.filter(pc.equal(pc.utf8_length(facts["product_code"]), 64))["sold_quantity"]).as_py()


@pytest.fixture(scope="module")
def delivered(tiny_history, tmp_path_factory):
    """The tiny home, then a day of each kind loaded in one range run, as a backfill of them would."""
    home = copy_home(tiny_history.before, tmp_path_factory.mktemp("bad-input"))
    settings = home_settings(home)
    landing = LandingZoneResource(uri=settings.landing_uri)
    for offset, (_, make) in DELIVERIES.items():
        landing.write(order_file_key(day(offset)), make(offset))
    landing.write(INVALID_NAME, csv_text(HEADER, lines(0)))
    before = child_quantity(home)
    with platform_instance() as instance:
        succeeded = load_days(settings, [day(offset) for offset in DELIVERIES], instance=instance)
        yield {
            "home": home,
            "landing": landing,
            "settings": settings,
            "instance": instance,
            "ok": succeeded,
            "child_quantity_before": before,
        }


def test_a_range_run_with_bad_files_succeeds_and_every_readable_day_reaches_gold(delivered):
    assert delivered["ok"], "one bad file failed the run"
    home = delivered["home"]
    for offset in READ:
        kept = day_rows(home, "silver/orders", "landing_date", offset)
        assert [row["order_id"] for row in kept] == [line.split(",")[0] for line in lines(offset)], offset
        assert [row["order_qty"] for row in kept] == [10.0, 20.0, 30.0]
        assert len(day_rows(home, "gold/sb_fact_orders", "date", offset)) == 3
    latin = day_rows(home, "silver/orders", "landing_date", NOT_UTF8)
    assert [row["order_id"] for row in latin] == ["D09-1", "D09-3"]
    # the days read, and the day of bytes that are not UTF-8 less its line 2 (20.0)
    added = child_quantity(home) - delivered["child_quantity_before"]
    assert added == 60.0 * len(READ) + 40.0


def test_every_line_of_a_refused_file_is_quarantined_with_the_file_and_why(delivered):
    home = delivered["home"]
    for offset in REFUSED:
        key = order_file_key(day(offset))
        rejected = day_rows(home, "silver/orders_rejected", "landing_date", offset)
        assert rejected, DELIVERIES[offset][0]
        assert day_rows(home, "silver/orders", "landing_date", offset) == []
        assert {row["file_name"] for row in rejected} == {key}
        assert all(row["reject_reason"].startswith(f"file refused: {key}: ") for row in rejected)
    missing = day_rows(home, "silver/orders_rejected", "landing_date", MISSING)
    assert [row["line_number"] for row in missing] == [1, 2, 3, 4]  # the header and the three lines
    assert missing[0]["reject_reason"] == (
        f"file refused: {order_file_key(day(MISSING))}: header lacks required column(s) "
        "order_placement_date, order_qty (found: order_id, customer_id, product_id)"
    )
    assert [row["raw_line"] for row in missing] == with_columns(MISSING, [0, 2, 3]).decode().splitlines()
    [latin] = day_rows(home, "silver/orders_rejected", "landing_date", NOT_UTF8)
    assert (latin["line_number"], latin["reject_reason"]) == (
        3,
        "malformed row: line 3, column 1: bytes that are not UTF-8",
    )


def test_checks_name_the_refused_files_the_new_columns_and_the_days_without_lines(delivered):
    checks = latest_check_results(delivered["instance"])
    readable = checks[("bronze/orders", "files_readable")]
    assert not readable.passed
    assert f"2 of {len(DELIVERIES)} file(s) refused" in readable.description
    assert f"{order_file_key(day(MISSING))}: header lacks required column(s)" in readable.description
    assert f"{order_file_key(day(ZIP))}: a zip archive" in readable.description
    new_columns = checks[("bronze/orders", "new_columns")]
    assert (new_columns.passed, new_columns.severity.value) == (False, "WARN")
    assert f"{order_file_key(day(EXTRA))}: channel" in new_columns.description
    not_empty = checks[("bronze/orders", "not_empty")]
    assert not_empty.description.endswith(
        "no order lines on " + ", ".join(day(o).isoformat() for o in (MISSING, ZIP, HEADER_ONLY, EMPTY))
    )
    share = checks[("silver/orders", "rejected_share")]
    quarantined = [day_rows(delivered["home"], "silver/orders_rejected", "landing_date", o) for o in REFUSED]
    refused_lines = sum(map(len, quarantined))
    assert share.passed and share.metadata["rows_of_refused_files"].value == refused_lines
    bronze = DeltaTable(str(delivered["home"] / "lake" / "bronze" / "orders")).to_pyarrow_table()
    extra = bronze.filter(pc.equal(bronze["landing_date"], day(EXTRA)))["rescued_data"].to_pylist()
    assert [json.loads(text) for text in extra] == [{"channel": "web"}] * 3
    metadata = delivered["instance"].get_latest_materialization_event(AssetKey(["bronze", "orders"]))
    skipped = metadata.asset_materialization.metadata["files_skipped"].value
    assert f"{INVALID_NAME}: the date in the file name is not a valid date" in skipped
    assert any(item.startswith(f"{order_file_key(day(EMPTY))}: zero bytes") for item in skipped)


def test_a_refused_file_re_delivered_fixed_reruns_its_day_and_replaces_its_quarantine(delivered):
    instance, landing, settings = delivered["instance"], delivered["landing"], delivered["settings"]
    [sensor] = [item for item in build_landing_sensors(settings) if item.name == ORDER_SENSOR]

    def tick(cursor: str | None):
        return sensor(build_sensor_context(instance=instance, cursor=cursor, resources={"landing": landing}))

    # As after the run: the sensor has seen every file, and the home's dimensions were loaded
    # (by the tiny home's own instance, which this copy does not carry).
    seen = LandingCursor()
    changed_objects(landing.list(ORDERS.prefix), seen)
    for dimension in DIMENSIONS:
        instance.report_runless_asset_event(AssetMaterialization(dimension))
    landing.write(order_file_key(day(MISSING)), csv_text(HEADER, lines(MISSING)))
    seen.ticks_since_full_scan = FULL_SCAN_EVERY - 1  # the tick that lists the whole prefix again
    result = tick(seen.dump())
    assert [request.partition_key for request in result.run_requests] == [day(MISSING).isoformat()]
    job = build_definitions(settings).resolve_job_def("daily_orders_job")
    assert run_as_launched(job, instance, day(MISSING).isoformat()).success
    home = delivered["home"]
    assert day_rows(home, "silver/orders_rejected", "landing_date", MISSING) == []
    assert [row["order_id"] for row in day_rows(home, "silver/orders", "landing_date", MISSING)] == [
        line.split(",")[0] for line in lines(MISSING)
    ]
    assert len(day_rows(home, "gold/sb_fact_orders", "date", MISSING)) == 3

"""Delta operations as jobs on the real tables of the small platform: a restore gives back an older
version's rows and the view follows by declarative automation; maintenance compacts files and keeps
every row and last week's versions; what cannot be done is refused before any table is touched."""

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from dagster import AssetKey, evaluate_automation_conditions
from deltalake import DeltaTable

from atliqon_platform.partitions import range_tags
from atliqon_platform.sources import order_file_key
from atliqon_platform_tests.instances import run_as_launched
from atliqon_platform_tests.ui import browser_page, screenshot

LATE_DAY = dt.date(2025, 7, 6)  # after the days the checks' tests add
JULY = LATE_DAY.replace(day=1)
FACTS, VIEW = AssetKey(["gold", "fact_orders"]), AssetKey(["gold", "vw_fact_orders_enriched"])
DIM_DATE, BRONZE = AssetKey(["gold", "dim_date"]), AssetKey(["bronze", "orders"])


@pytest.fixture(scope="module")
def platform(small_platform, reference_dataset):
    """The small platform, then a later day of the real data loaded to gold.fact_orders (not yet to
    the view): the table has a version without the day and a later one with it."""
    key = order_file_key(LATE_DAY)
    delivered = reference_dataset / "2_child_company" / "full_load" / "orders" / "landing"
    small_platform["landing"].write(key, (delivered / key.rsplit("/", 1)[1]).read_bytes())
    before = delta(small_platform, FACTS).version()
    instance = small_platform["instance"]
    loads = (("daily_orders_job", LATE_DAY, None), ("monthly_facts_job", JULY, [FACTS]))
    for job, partition, selection in loads:
        job_def = small_platform["defs"].resolve_job_def(job)
        loaded = run_as_launched(job_def, instance, partition.isoformat(), asset_selection=selection)
        assert loaded.success
    return {**small_platform, "before": before}


def delta(platform, key: AssetKey, version: int | None = None) -> DeltaTable:
    return DeltaTable(str(platform["home"] / "lake" / "/".join(key.path)), version=version)


def table(platform, key: AssetKey, version: int | None = None) -> pa.Table:
    data = delta(platform, key, version).to_pyarrow_table()
    return data.sort_by([(name, "ascending") for name in data.column_names])


def tables(platform) -> list[AssetKey]:
    return [spec.key for spec in platform["defs"].resolve_all_asset_specs()]


def run(platform, job: str, config: dict, raise_on_error: bool = True):
    return (
        platform["defs"]
        .resolve_job_def(job)
        .execute_in_process(run_config=config, instance=platform["instance"], raise_on_error=raise_on_error)
    )


def restore_config(**config) -> dict:
    return {"ops": {"restore": {"config": config}}}


def failure(result) -> str:
    [step_failure] = [event for event in result.all_events if event.is_step_failure]
    return step_failure.step_failure_data.user_failure_data.description


def test_a_restore_gives_the_older_versions_rows_and_the_view_follows(platform):
    instance, defs, before = platform["instance"], platform["defs"], platform["before"]
    older, latest = table(platform, FACTS, before), table(platform, FACTS)
    assert not older.equals(latest)  # the later day is in July's rows
    cursor = evaluate_automation_conditions(defs, instance).cursor

    restored = run(platform, "restore_table", restore_config(table="gold.fact_orders", version=before))
    assert table(platform, FACTS).equals(older)
    materialized = [event.materialization for event in restored.get_asset_materialization_events()]
    assert {m.partition for m in materialized} == instance.get_materialized_partitions(FACTS)
    assert JULY.isoformat() in {m.partition for m in materialized}
    for materialization in materialized:
        assert materialization.asset_key == FACTS
        assert materialization.metadata["restored_to"].value == f"VERSION AS OF {before}"
        assert materialization.metadata["table_rows"].value == older.num_rows
        assert "| RESTORE |" in materialization.metadata["delta_history"].value

    automation = evaluate_automation_conditions(defs, instance, cursor=cursor)
    requested = {key for key in tables(platform) if automation.get_num_requested(key)}
    assert requested == {DIM_DATE, VIEW}
    months = sorted(automation.get_requested_partitions(VIEW))
    assert months == sorted(instance.get_materialized_partitions(FACTS))
    assert sorted(automation.get_requested_partitions(DIM_DATE)) == months
    monthly = defs.resolve_job_def("monthly_facts_job")
    followed = run_as_launched(
        monthly, instance, asset_selection=[DIM_DATE, VIEW], tags=range_tags(months[0], months[-1])
    )
    assert followed.success
    view = table(platform, VIEW)
    assert view.num_rows == older.num_rows
    assert pc.sum(view["sold_quantity"]).as_py() == pc.sum(older["sold_quantity"]).as_py()

    with browser_page() as page:
        page.goto(f"{platform['url']}/runs/{restored.run_id}")
        screenshot(
            page, [f"gold.fact_orders restored to VERSION AS OF {before}", "RUN_SUCCESS"], "restore-run"
        )


def test_a_restore_refuses_a_table_or_a_version_that_does_not_exist(platform):
    version = delta(platform, FACTS).version()
    unknown = run(platform, "restore_table", restore_config(table="gold.no_such_table", version=0), False)
    assert not unknown.success
    assert failure(unknown).startswith("restore_table: there is no table gold.no_such_table; the tables: ")
    too_new = run(platform, "restore_table", restore_config(table="gold.fact_orders", version=999), False)
    assert not too_new.success
    assert failure(too_new).startswith("restore_table: gold.fact_orders has no VERSION AS OF 999: ")
    # A time with its offset is that moment: India's 03:00 is the day before's 21:30 in UTC.
    too_old = run(
        platform,
        "restore_table",
        restore_config(table="gold.fact_orders", timestamp="2020-01-01T03:00+05:30"),
        False,
    )
    assert failure(too_old).startswith(
        "restore_table: gold.fact_orders has no TIMESTAMP AS OF '2019-12-31 21:30:00': "
    )
    negative = run(platform, "restore_table", restore_config(table="gold.fact_orders", version=-1), False)
    assert failure(negative) == "restore_table: versions count from 0, not -1"
    assert delta(platform, FACTS).version() == version


def test_a_restore_to_the_version_a_table_is_at_changes_nothing_and_says_so(platform):
    version = delta(platform, FACTS).version()
    result = run(platform, "restore_table", restore_config(table="gold.fact_orders", version=version))
    assert result.get_asset_materialization_events() == []
    assert delta(platform, FACTS).version() == version
    said = {entry.user_message for entry in platform["instance"].all_logs(result.run_id)}
    target = f"VERSION AS OF {version} (version {version})"
    assert f"gold.fact_orders is already at {target}: nothing to restore" in said


def test_maintenance_compacts_a_table_and_keeps_its_rows_and_last_weeks_versions(platform):
    """On bronze.orders, written a few files a day (the job's default is every table: the same, longer)."""
    files, rows = len(delta(platform, BRONZE).file_uris()), table(platform, BRONZE)

    config = {"ops": {"optimize_and_vacuum": {"config": {"tables": ["bronze.orders"]}}}}
    result = run(platform, "table_maintenance", config)
    [event] = result.get_asset_observation_events()
    observed = event.asset_observation_data.asset_observation
    assert observed.asset_key == BRONZE
    compacted, written = observed.metadata["files_compacted"].value, observed.metadata["files_written"].value
    assert compacted > written > 0
    assert len(delta(platform, BRONZE).file_uris()) == files - compacted + written
    assert "| OPTIMIZE |" in observed.metadata["delta_history"].value
    assert observed.metadata["files_deleted"].value == "0"  # every file is younger than 7 days
    assert table(platform, BRONZE).equals(rows)
    assert table(platform, BRONZE, 0).num_rows > 0  # time travel to the first version still works


def test_maintenance_refuses_a_retention_below_seven_days(platform):
    version = delta(platform, FACTS).version()
    config = {"ops": {"optimize_and_vacuum": {"config": {"retain_hours": 24}}}}
    result = run(platform, "table_maintenance", config, raise_on_error=False)
    assert not result.success
    assert failure(result) == (
        "table_maintenance: retain_hours 24 is under 168 (7 days, Delta's retention): a VACUUM would "
        "delete files that a reader still reading, or a restore, may need"
    )
    assert delta(platform, FACTS).version() == version

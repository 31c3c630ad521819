"""End to end on S3 (moto's server on 127.0.0.1): the tiny history of both companies (every
defect kind) backfilled, then the next month's files uploaded a few at a time; the sensor asks
for one run per new day, declarative automation for the month and the view, and gold ends up
exactly the sum of what landed. The secret access key shows nowhere: not in the runs' events,
their metadata, the instance's files, nor the resource configuration the UI shows."""

import datetime as dt
import json

import pyarrow as pa
import pyarrow.compute as pc
from dagster import (
    AssetKey,
    AutomationResult,
    EvaluateAutomationConditionsResult,
    evaluate_automation_conditions,
)
from deltalake import DeltaTable

from atliqon_platform.automation.landing_sensors import FULL_SCAN_EVERY
from atliqon_platform.backfill import backfill_everything
from atliqon_platform.definitions import build_definitions
from atliqon_platform.resources.landing_zone import LandingZoneResource
from atliqon_platform.sample_data.synthetic import generate
from atliqon_platform.settings import delta_storage_options, load_settings
from atliqon_platform_tests.automation.test_landing_sensors import Ticker
from atliqon_platform_tests.instances import platform_instance, run_as_launched
from atliqon_platform_tests.leaks import (
    event_log,
    instance_files_holding,
    materialisation_metadata,
    resources_in_graphql,
)
from atliqon_platform_tests.real_platform import rows_of_each_partition, shown_rows_of_each_partition
from atliqon_platform_tests.tiny import TINY, tiny_order_file

FACT_ORDERS, DIM_DATE = AssetKey(["gold", "fact_orders"]), AssetKey(["gold", "dim_date"])
VIEW = AssetKey(["gold", "vw_fact_orders_enriched"])
SB_FACT_ORDERS = AssetKey(["gold", "sb_fact_orders"])
SECRET = "atliqon-s3-secret-5c0f9e1d27b84a63"  # moto takes any key: one that cannot occur by chance


def read(settings, table: str) -> pa.Table:
    uri = f"{settings.lake_uri}/{table}"
    return DeltaTable(uri, storage_options=delta_storage_options(uri)).to_pyarrow_table()


NEW_MONTH = dt.date(2025, 8, 1)  # the month after the tiny history's days


def updated_inputs(automation: EvaluateAutomationConditionsResult, key: AssetKey) -> set[str]:
    """The partitions of ``key`` whose inputs a tick took as updated (its ``any_deps_updated``):
    an update by a run that also targeted ``key`` does not count, if the run named its targets."""

    def node(result: AutomationResult) -> AutomationResult | None:
        if result.condition.get_label() == "any_deps_updated":
            return result
        return next(filter(None, map(node, result.child_results)), None)

    [result] = [result for result in automation.results if result.key == key]
    return set(node(result).true_subset.expensively_compute_partition_keys())


def new_month_file(day: int) -> tuple[str, bytes]:
    return tiny_order_file(NEW_MONTH.replace(day=day))


def test_new_days_on_s3_flow_to_gold_one_run_per_day(s3_bucket, tmp_path, monkeypatch):
    for name, value in {
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "ATLIQON_ENV": "s3",
        "ATLIQON_HOME": str(tmp_path),
        "ATLIQON_LANDING_URI": f"s3://{s3_bucket}/landing",
        "ATLIQON_LAKE_URI": f"s3://{s3_bucket}/lake",
        "ATLIQON_SPARK_MASTER": "local[2]",
    }.items():
        monkeypatch.setenv(name, value)  # in the environment, as the code location reads it
    settings = load_settings()
    landing = LandingZoneResource.for_settings(settings)
    generate(landing.write, TINY)
    defs = build_definitions(settings)
    with platform_instance() as instance:
        assert backfill_everything(settings, instance=instance)
        # Its range run of the days counted each day's rows on S3 through the session, as on a
        # catalog (its run of the months is one month here).
        for table in ("silver/orders", "silver/orders_rejected", "gold/sb_fact_orders"):
            expected = rows_of_each_partition(read(settings, table), table, monthly=False)
            shown = shown_rows_of_each_partition(instance, table)
            assert len(shown) > 1 and shown == {key: expected.get(key, 0) for key in shown}, table
        sensor = Ticker("order_files_sensor", instance, landing)
        assert sensor.tick().run_requests == []  # the history is not news: it was backfilled...
        automation = evaluate_automation_conditions(defs, instance)  # ...and this sets the cursor

        def deliver_and_run(days: list[int]) -> list[str]:
            for day in days:
                landing.write(*new_month_file(day))
            requests = sensor.tick().run_requests
            for request in requests:  # as the daemon launches them
                run = run_as_launched(
                    defs.resolve_job_def(request.job_name or "daily_orders_job"),
                    instance,
                    partition_key=request.partition_key,
                    tags=request.tags,
                    asset_selection=request.asset_selection,
                )
                assert run.success
            return [request.partition_key for request in requests]

        assert deliver_and_run([1, 2]) == ["2025-08-01", "2025-08-02"]
        assert deliver_and_run([3]) == ["2025-08-03"]
        landing.write(*new_month_file(1))  # re-delivered, same content
        assert all(sensor.tick().run_requests == [] for _ in range(FULL_SCAN_EVERY))

        # the month is current and its later days are still missing: it is updated all the same
        automation = evaluate_automation_conditions(defs, instance, cursor=automation.cursor)
        # (the calendar's and the view's month with it, in the same run)
        for key in (FACT_ORDERS, DIM_DATE, VIEW):
            assert automation.get_requested_partitions(key) == {"2025-08-01"}
        assert automation.total_requested == 3
        # The last daily run's silver.orders is no news to gold.sb_fact_orders, which that run
        # wrote after it: a tick between the two writes requested it again (the run named no
        # targets). Dagster looks only at an asset's latest materialisation for this, so the
        # earlier days still count as updated; their own later writes settle them (no request).
        assert updated_inputs(automation, SB_FACT_ORDERS) == {"2025-08-01", "2025-08-02"}
        assert run_as_launched(defs.resolve_job_def("monthly_facts_job"), instance, "2025-08-01").success
        automation = evaluate_automation_conditions(defs, instance, cursor=automation.cursor)
        assert automation.total_requested == 0

        # Secrets never logged nor shown (README, Configuration). The searches read what there
        # is: the events and files name the bucket, the UI shows the lake's URI.
        logged = event_log(instance)
        assert s3_bucket in logged and SECRET not in logged
        metadata = materialisation_metadata(instance)
        assert ("gold/fact_orders", "2025-08-01") in metadata
        assert [key for key, text in metadata.items() if SECRET in text] == []
        assert instance_files_holding(instance, s3_bucket)
        assert instance_files_holding(instance, SECRET) == []
        resources = resources_in_graphql(instance)
        lake = {value["key"]: value["value"] for value in resources["lake"]["configuredValues"]}
        assert json.loads(lake["lake_uri"]) == settings.lake_uri
        assert {"lake", "landing", "spark", "dashboard"} <= set(resources)
        assert SECRET not in json.dumps(resources)

    daily = read(settings, "gold/sb_fact_orders")
    new_daily = daily.filter(pc.greater_equal(daily["date"], NEW_MONTH))
    facts = read(settings, "gold/fact_orders")
    month = facts.filter(pc.equal(facts["date"], NEW_MONTH))
    child = month.filter(pc.equal(pc.utf8_length(month["product_code"]), 64))
    assert sorted(set(new_daily["date"].to_pylist())) == [NEW_MONTH.replace(day=d) for d in (1, 2, 3)]
    assert pc.sum(child["sold_quantity"]).as_py() == pc.sum(new_daily["sold_quantity"]).as_py() > 0
    for table in ("gold/fact_orders", "gold/vw_fact_orders_enriched", "silver/orders"):
        data = read(settings, table)
        assert data.group_by(data.column_names).aggregate([]).num_rows == data.num_rows, table
    view = read(settings, "gold/vw_fact_orders_enriched")
    assert view.num_rows == facts.num_rows

"""The unknown_customer check compares a month with the counts gold.fact_orders recorded when it
wrote the earlier months (its materialisations' metadata), not with a reread of those months; a
month without such a record is read from the table. On a copy of the real days (July 2025) and a
fork of their instance, a month rebuilt with its checks."""

from __future__ import annotations

import pyarrow.compute as pc
from dagster import AssetKey, AssetMaterialization, MetadataValue
from deltalake import DeltaTable

from atliqon_platform.checks.gold import SPORTSBAR_MONTHS, UNKNOWN_CUSTOMER
from atliqon_platform.checks.results import latest_materializations
from atliqon_platform.definitions import build_definitions
from atliqon_platform.transforms.common import UNKNOWN_ID
from atliqon_platform_tests.instances import platform_instance, run_as_launched
from atliqon_platform_tests.tiny import forked_home

FACT_ORDERS = AssetKey(["gold", "fact_orders"])
CHECK = UNKNOWN_CUSTOMER.name
JUNE, JULY, AUGUST = "2025-06-01", "2025-07-01", "2025-08-01"


def unknown_customer(settings, instance, month: str):
    """A month of gold.fact_orders rebuilt, and its unknown_customer check's evaluation."""
    job = build_definitions(settings).resolve_job_def("monthly_facts_job")
    result = run_as_launched(job, instance, month, asset_selection=[FACT_ORDERS])
    [evaluation] = [item for item in result.get_asset_check_evaluations() if item.check_name == CHECK]
    return evaluation


def test_a_month_is_compared_with_the_counts_recorded_for_the_earlier_ones(real_days, tmp_path):
    with forked_home(real_days, tmp_path) as (settings, instance):
        facts = DeltaTable(str(settings.home / "lake" / "gold" / "fact_orders")).to_pyarrow_table()
        child = facts.filter(pc.equal(pc.utf8_length(facts["product_code"]), 64))  # SHA-256 codes
        unknown = pc.sum(pc.equal(child["customer_code"], UNKNOWN_ID)).as_py()
        assert unknown > 0
        july_share = round(unknown / child.num_rows, 5)
        # What the backfill's one run over the parent's months recorded is what the table holds:
        # July's SportsBar rows, and zeros for every other month.
        [record] = latest_materializations(instance, FACT_ORDERS, [JULY]).values()
        recorded = record.asset_materialization.metadata[SPORTSBAR_MONTHS].value
        assert recorded.pop(JULY) == {"rows": child.num_rows, "unknown_customer_rows": unknown}
        assert recorded
        assert all(counted == {"rows": 0, "unknown_customer_rows": 0} for counted in recorded.values())

        # August (the parent's rows only) against July as recorded.
        august = unknown_customer(settings, instance, AUGUST)
        assert august.passed, august.description
        assert august.metadata["earlier_share"].value == july_share

        # A June recorded with as many rows and none sold to the unknown customer: the table has no
        # such June, so only the record makes July's share a growth from 0 %.
        june = MetadataValue.json({JUNE: {"rows": child.num_rows, "unknown_customer_rows": 0}})
        instance.report_runless_asset_event(
            AssetMaterialization(FACT_ORDERS, partition=JUNE, metadata={SPORTSBAR_MONTHS: june})
        )
        july = unknown_customer(settings, instance, JULY)
        assert not july.passed
        assert july.metadata["earlier_share"].value == 0.0
        assert july.metadata["unknown_customer_rows"].value == unknown

        # An instance that recorded nothing (a Pipes process's own, a new home over an old lake):
        # July is read from the table, and gives August the same figures.
        with platform_instance() as new:
            read = unknown_customer(settings, new, AUGUST)
        assert read.metadata == august.metadata

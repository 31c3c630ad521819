"""Automation beside a range run (a backlog of days, the first start's 30 days) that writes a daily
table, then what follows it, then the latter's blocking check, all in one run.

Dagster tells that a run rewrote an asset with its input only for the input's latest partition, and
a partition stops being in progress as soon as the run writes it: a tick that read what was handled
before the run wrote its first days, and what was in progress after, requested those days again (on
a first start under load: an extra backfill of gold.sb_fact_orders, then of July's gold). The run's
blocking checks stay in progress until it ends, and hold the asset until then.
"""

import dagster as dg
from dagster import AssetKey, DagsterInstance, evaluate_automation_conditions

# Reporting a run's events by hand, and the moment of a tick at which they land, are Dagster's
# internals: the interleaving of a daemon's tick with a running step, made deterministic.
from dagster._core.asset_graph_view.asset_graph_view import AssetGraphView
from dagster._core.definitions.asset_checks.asset_check_evaluation import AssetCheckEvaluationPlanned
from dagster._core.events import (
    AssetMaterializationPlannedData,
    DagsterEvent,
    DagsterEventType,
    StepMaterializationData,
)
from dagster._core.storage.dagster_run import DagsterRunStatus
from dagster._core.test_utils import create_run_for_test

from atliqon_platform.automation.conditions import follows_upstream

DAYS = dg.DailyPartitionsDefinition(start_date="2025-07-01", end_date="2025-07-11")
KEYS = DAYS.get_partition_keys()
SILVER, GOLD = AssetKey(["silver", "orders"]), AssetKey(["gold", "sb_fact_orders"])


@dg.asset(key=SILVER, partitions_def=DAYS)
def silver() -> None: ...


@dg.asset(key=GOLD, partitions_def=DAYS, deps=[SILVER], automation_condition=follows_upstream())
def gold() -> None: ...


@dg.asset_check(asset=gold, blocking=True, partitions_def=DAYS)
def codes_resolve() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


def _report(instance: DagsterInstance, run_id: str, event_type: DagsterEventType, data) -> None:
    instance.report_dagster_event(
        DagsterEvent(event_type.value, "__ASSET_JOB", event_specific_data=data), run_id
    )


def _written(instance: DagsterInstance, run_id: str, key: AssetKey, days: list[str]) -> None:
    for day in days:
        materialization = dg.AssetMaterialization(key, partition=day)
        _report(
            instance, run_id, DagsterEventType.ASSET_MATERIALIZATION, StepMaterializationData(materialization)
        )


def test_a_tick_during_a_range_run_requests_none_of_its_days_again(monkeypatch):
    defs = dg.Definitions(assets=[silver, gold], asset_checks=[codes_resolve])
    with DagsterInstance.ephemeral() as instance:
        ticked = evaluate_automation_conditions(defs, instance)
        run = create_run_for_test(
            instance,
            job_name="__ASSET_JOB",
            status=DagsterRunStatus.STARTED,
            asset_selection=frozenset({SILVER, GOLD}),
        )
        planned = DagsterEventType.ASSET_MATERIALIZATION_PLANNED
        for key in (SILVER, GOLD):
            for day in KEYS:
                _report(instance, run.run_id, planned, AssetMaterializationPlannedData(key, partition=day))
        everything = DAYS.subset_with_partition_keys(KEYS).to_serializable_subset()
        checks_planned = AssetCheckEvaluationPlanned(
            asset_key=GOLD, check_name=codes_resolve.check_key.name, partitions_subset=everything
        )
        _report(instance, run.run_id, DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED, checks_planned)
        _written(instance, run.run_id, SILVER, KEYS)  # the range's silver step
        ticked = evaluate_automation_conditions(defs, instance, cursor=ticked.cursor)
        assert ticked.total_requested == 0

        # The next tick: gold's step writes its first days after the tick read what was handled,
        # before it reads what is in progress.
        in_progress = AssetGraphView._compute_run_in_progress_asset_subset
        written = []

        async def writes_meanwhile(self, key):
            if key == GOLD and not written:
                written.extend(KEYS[:5])
                _written(instance, run.run_id, GOLD, written)
            return await in_progress(self, key)

        monkeypatch.setattr(AssetGraphView, "_compute_run_in_progress_asset_subset", writes_meanwhile)
        ticked = evaluate_automation_conditions(defs, instance, cursor=ticked.cursor)
        assert written, "the tick did not read what is in progress: the race was not replayed"
        assert ticked.get_requested_partitions(GOLD) == set()

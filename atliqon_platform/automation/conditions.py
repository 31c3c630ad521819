"""When gold follows its inputs by itself: the declarative automation of the monthly facts and the view.

Dagster's ``eager()`` is close, but it only looks at the latest time window (a late file for an
old day must still update its month) and waits while any upstream partition is missing (the
current month's later days have not arrived yet, and some days never get a file). So: update
when any input was updated since this asset was last requested, except while an input is
being written, is still to be rebuilt from inputs of its own that changed, is still missing where
it must exist, or has a blocking check that failed, whose run failed, or that has not finished (a
month that does not add up is not published).

Waiting for an input still to be rebuilt matters where it is partitioned differently: Dagster runs
it in a run of its own, and would otherwise request the view on the same tick as the months of
``gold.fact_orders`` (when a dimension changed too, as a parent increment's run does), before
their checks could say that a month does not add up.
"""

from __future__ import annotations

from collections.abc import Sequence

from dagster import (
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    AssetSpec,
    AutomationCondition,
    map_asset_specs,
)

from atliqon_platform import tables


def follows_upstream(
    *partially_filled: AssetKey, rebuilt_inputs: tuple[AssetKey, ...] = ()
) -> AutomationCondition:
    """Eager for every partition; missing partitions of ``partially_filled`` inputs do not block;
    while one of ``rebuilt_inputs`` (inputs that follow their own inputs) is due, wait for it."""
    missing_inputs = AutomationCondition.any_deps_missing()
    if partially_filled:
        missing_inputs = missing_inputs.ignore(AssetSelection.assets(*partially_filled))
    # A check of a range of partitions (a single-run backfill) reports one result for the range,
    # which Dagster does not count as any partition's: the failed run marks each partition's
    # check "execution failed" instead, and that holds what is downstream too.
    unsettled_blocking_check = AutomationCondition.any_checks_match(
        AutomationCondition.check_failed()
        | AutomationCondition.execution_failed()
        | AutomationCondition.in_progress(),
        blocking_only=True,
    )
    condition = (
        AutomationCondition.any_deps_updated().since_last_handled()
        & ~missing_inputs
        & ~AutomationCondition.any_deps_in_progress()
        & ~AutomationCondition.any_deps_match(unsettled_blocking_check)
        & ~AutomationCondition.in_progress()
    )
    if rebuilt_inputs:
        due = AutomationCondition.any_deps_updated().since_last_handled().with_label("due")
        condition = condition & ~AutomationCondition.any_deps_match(due).allow(
            AssetSelection.assets(*rebuilt_inputs)
        )
    return condition.with_label("follows_upstream")


FOLLOWS_EVERY_INPUT = (*tables.DIMENSION_TABLES, tables.GOLD_SB_FACT_ORDERS)
FOLLOWS_THE_MONTHS = (tables.GOLD_DIM_DATE, tables.GOLD_VW_FACT_ORDERS_ENRICHED)


def gold_conditions() -> dict[AssetKey, AutomationCondition]:
    """How each gold table follows its inputs: the monthly facts whatever days of the month have
    arrived; the calendar and the view once the months due are rebuilt."""
    months = tables.GOLD_FACT_ORDERS.asset_key
    return {
        **{table.asset_key: follows_upstream() for table in FOLLOWS_EVERY_INPUT},
        months: follows_upstream(tables.GOLD_SB_FACT_ORDERS.asset_key),
        **{
            table.asset_key: follows_upstream(months, rebuilt_inputs=(months,))
            for table in FOLLOWS_THE_MONTHS
        },
    }


def with_gold_conditions(assets: Sequence[AssetsDefinition]) -> list[AssetsDefinition]:
    """``assets``, each gold table with the condition by which it follows its inputs."""
    conditions = gold_conditions()

    def conditioned(spec: AssetSpec) -> AssetSpec:
        if spec.key not in conditions:
            return spec
        return spec.replace_attributes(automation_condition=conditions[spec.key])

    return list(map_asset_specs(conditioned, assets))

"""When gold follows its inputs by itself: the declarative automation of the monthly facts and the view.

Dagster's ``eager()`` is close, but it only looks at the latest time window (a late file for an
old day must still update its month) and waits while any upstream partition is missing (the
current month's later days have not arrived yet, and some days never get a file). So: update
when any input was updated since this asset was last requested, except while an input is
being written, is still to be rebuilt from inputs of its own that changed, is still missing where
it must exist, or has a blocking check that failed, whose run failed, or that has not finished (a
month that does not add up is not published), and while a run is still checking the asset itself.

Waiting for an input still to be rebuilt matters where it is partitioned differently: Dagster runs
it in a run of its own, and would otherwise request what follows it on the same tick, before the
input is rewritten (and its checks could say that it is wrong). The calendar and the view are
partitioned by month like ``gold.fact_orders``: a month of the three is requested on the same
tick and goes in one run, in which the facts' blocking checks hold the view back. The view waits
only for the dimensions it joins, which are unpartitioned. The facts wait for the same dimensions,
which their blocking checks read: requested while a dimension run was still writing them, the
facts were checked against the dimensions of before (none, on a first start), and the view,
still waiting for them, followed on a later tick as a backfill of its own.
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
from atliqon_platform.assets.gold import VIEW_DIMENSIONS, VIEW_MONTHLY_INPUTS
from atliqon_platform.checks.gold import FACT_CHECK_DIMENSIONS


def follows_upstream(
    *partially_filled: AssetKey,
    rebuilt_inputs: tuple[AssetKey, ...] = (),
    rebuilt_together: tuple[AssetKey, ...] = (),
    checked_against: tuple[AssetKey, ...] = (),
) -> AutomationCondition:
    """Eager for every partition; missing partitions of ``partially_filled`` inputs do not block;
    while one of ``rebuilt_inputs`` (inputs that follow their own inputs) is due, wait for it.

    ``rebuilt_together`` are inputs partitioned alike, requested on the same tick into the same
    run: their failed blocking checks do not hold this asset back when they are requested again,
    since the new checks run first in that run and stop it there if they fail again.

    ``checked_against`` are inputs that only its blocking checks read: it waits for them as for
    any input, but their updates alone do not request it."""
    updated = AutomationCondition.any_deps_updated()
    if checked_against:
        updated = updated.ignore(AssetSelection.assets(*checked_against))
    missing_inputs = AutomationCondition.any_deps_missing()
    if partially_filled:
        missing_inputs = missing_inputs.ignore(AssetSelection.assets(*partially_filled))
    # A check of a range of partitions (a single-run backfill) reports one result for the range,
    # which Dagster does not count as any partition's: the failed run marks each partition's
    # check "execution failed" instead, and that holds what is downstream too.
    in_progress = AutomationCondition.in_progress()
    unsettled = AutomationCondition.any_checks_match(
        AutomationCondition.check_failed() | AutomationCondition.execution_failed() | in_progress,
        blocking_only=True,
    )
    unsettled_inputs = AutomationCondition.any_deps_match(unsettled)
    if rebuilt_together:
        together = AssetSelection.assets(*rebuilt_together)
        unsettled_inputs = unsettled_inputs.ignore(together) | AutomationCondition.any_deps_match(
            unsettled & ~AutomationCondition.will_be_requested()
        ).allow(together)
    # A run over a range stops being in progress for each partition as it writes it, and Dagster
    # tells that the run rewrote this asset with its input for the input's latest partition only:
    # a tick that read what was handled before the run wrote its first partitions, and what was in
    # progress after, requested them again. Its blocking checks are in progress until it ends.
    being_checked = AutomationCondition.any_checks_match(in_progress, blocking_only=True)
    condition = (
        updated.since_last_handled()
        & ~missing_inputs
        & ~AutomationCondition.any_deps_in_progress()
        & ~unsettled_inputs
        & ~in_progress
        & ~being_checked
    )
    if rebuilt_inputs:
        due = AutomationCondition.any_deps_updated().since_last_handled().with_label("due")
        condition = condition & ~AutomationCondition.any_deps_match(due).allow(
            AssetSelection.assets(*rebuilt_inputs)
        )
    return condition.with_label("follows_upstream")


FOLLOWS_EVERY_INPUT = (*tables.DIMENSION_TABLES, tables.GOLD_SB_FACT_ORDERS)


def gold_conditions() -> dict[AssetKey, AutomationCondition]:
    """How each gold table follows its inputs: the monthly facts whatever days of the month have
    arrived, once the dimensions their checks read are written; the calendar with its months; the
    view with its months and their calendar, once the dimensions due are rebuilt."""
    months = tables.GOLD_FACT_ORDERS.asset_key
    view_dimensions = tuple(table.asset_key for table in VIEW_DIMENSIONS)
    view_months = tuple(table.asset_key for table in VIEW_MONTHLY_INPUTS)
    return {
        **{table.asset_key: follows_upstream() for table in FOLLOWS_EVERY_INPUT},
        months: follows_upstream(
            tables.GOLD_SB_FACT_ORDERS.asset_key,
            checked_against=tuple(table.asset_key for table in FACT_CHECK_DIMENSIONS),
        ),
        tables.GOLD_DIM_DATE.asset_key: follows_upstream(rebuilt_together=(months,)),
        tables.GOLD_VW_FACT_ORDERS_ENRICHED.asset_key: follows_upstream(
            rebuilt_inputs=view_dimensions, rebuilt_together=view_months
        ),
    }


def with_gold_conditions(assets: Sequence[AssetsDefinition]) -> list[AssetsDefinition]:
    """``assets``, each gold table with the condition by which it follows its inputs."""
    conditions = gold_conditions()

    def conditioned(spec: AssetSpec) -> AssetSpec:
        if spec.key not in conditions:
            return spec
        return spec.replace_attributes(automation_condition=conditions[spec.key])

    return list(map_asset_specs(conditioned, assets))

"""When gold follows its inputs by itself: the declarative automation of the monthly facts and the view.

Dagster's ``eager()`` is close, but it only looks at the latest time window (a late file for an
old day must still update its month) and waits while any upstream partition is missing (the
current month's later days have not arrived yet, and some days never get a file). So: update
when any input was updated since this asset was last requested, except while an input is
being written, is still missing where it must exist, or has a blocking check that failed or
has not finished (a month that does not add up is not published).
"""

from __future__ import annotations

from dagster import AssetKey, AssetSelection, AutomationCondition


def follows_upstream(*partially_filled: AssetKey) -> AutomationCondition:
    """Eager for every partition; missing partitions of ``partially_filled`` inputs do not block."""
    missing_inputs = AutomationCondition.any_deps_missing()
    if partially_filled:
        missing_inputs = missing_inputs.ignore(AssetSelection.assets(*partially_filled))
    unsettled_blocking_check = AutomationCondition.any_checks_match(
        AutomationCondition.check_failed() | AutomationCondition.in_progress(), blocking_only=True
    )
    return (
        AutomationCondition.any_deps_updated().since_last_handled()
        & ~missing_inputs
        & ~AutomationCondition.any_deps_in_progress()
        & ~AutomationCondition.any_deps_match(unsettled_blocking_check)
        & ~AutomationCondition.in_progress()
    ).with_label("follows_upstream")

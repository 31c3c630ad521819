"""A rule's outcome over a range of partitions and in each of them, on small real Spark frames."""

import datetime as dt
import shutil

from dagster import AssetCheckResult, AssetKey

from atliqon_platform.checks.bronze import file_outcomes
from atliqon_platform.checks.results import (
    Offending,
    Outcome,
    Scope,
    Tally,
    counted_by_day,
    read_once,
    rule_results,
)
from atliqon_platform.checks.rules import Rule
from atliqon_platform.resources.delta_lake import PartitionRange
from atliqon_platform.tables import Table

KEY = AssetKey(["silver", "orders"])
RULE = Rule("keys_not_null", "every row has its identifying columns filled in")
DAYS = [dt.date(2025, 7, day) for day in (1, 2, 3)]
SCOPE = Scope(
    PartitionRange("landing_date", DAYS[0], DAYS[-1]),
    {day.isoformat(): PartitionRange("landing_date", day, day) for day in DAYS},
)


def test_a_rule_is_counted_and_exemplified_in_each_partition_of_a_range(spark):
    rows = spark.createDataFrame(
        [(DAYS[1], "a"), (DAYS[1], "b"), (None, "c")], "landing_date date, order_id string"
    )
    [outcome] = rule_results([Offending(KEY, RULE, rows, "landing_date")], SCOPE)
    assert not outcome.result.passed
    assert outcome.result.metadata["offending_rows"].value == 3
    assert outcome.result.description.startswith("2025-07-01 to 2025-07-03: 3 row(s) break the rule")
    counts = {key: result.metadata["offending_rows"].value for key, result in outcome.partitions.items()}
    # The row without a date cannot be placed: it counts against every day.
    assert counts == {"2025-07-01": 1, "2025-07-02": 3, "2025-07-03": 1}
    examples = outcome.partitions["2025-07-02"].metadata["examples"].value
    assert "| 2025-07-02 | a |" in examples and "| 2025-07-02 | b |" in examples
    assert "| 2025-07-02 |" not in outcome.partitions["2025-07-01"].metadata["examples"].value
    assert outcome.partitions["2025-07-03"].description.startswith("2025-07-03: 1 row(s)")

    [clean] = rule_results([Offending(KEY, RULE, rows.where("false"), "landing_date")], SCOPE)
    assert clean.result.passed and all(result.passed for result in clean.partitions.values())


def test_a_range_fails_when_one_of_its_partitions_does():
    def result(passed: bool, description: str) -> AssetCheckResult:
        return AssetCheckResult(asset_key=KEY, check_name="share", passed=passed, description=description)

    outcome = Outcome(
        result(True, "2025-07-01 to 2025-07-03: 12.0% of 50 rows quarantined"),
        {"2025-07-01": result(True, "fine"), "2025-07-02": result(False, "80.0%")},
    )
    assert not outcome.result.passed
    assert outcome.result.description.endswith("quarantined; fails on 2025-07-02")


def test_the_rules_and_the_tallies_of_a_step_are_counted_together_by_day(spark):
    rows = spark.createDataFrame(
        [(DAYS[0], "a"), (DAYS[1], "b"), (DAYS[1], "c")], "landing_date date, order_id string"
    )
    offending = Offending(KEY, RULE, rows.where("order_id = 'a'"), "landing_date")
    counts = counted_by_day([offending, Tally(rows, "landing_date"), Tally(rows.where("false"))], SCOPE)
    assert counts == [{DAYS[0]: 1}, {DAYS[0]: 1, DAYS[1]: 2}, {}]
    # Over a whole table (no scope) every row is counted under None.
    assert counted_by_day([Tally(rows, "landing_date")], None) == [{None: 3}]


def test_a_table_read_once_for_a_step_is_not_scanned_again(spark, lake, tmp_path):
    """The rows are kept by Spark when read: the rules that use them do not go back to the
    table's files (here deleted after the read, which a second scan could not survive)."""
    table = Table("silver", "kept", "Rows by day.", partition_column="landing_date")
    rows = spark.createDataFrame(
        [(DAYS[0], "a"), (DAYS[1], "b"), (DAYS[2], "c")], "landing_date date, order_id string"
    )
    lake.overwrite(rows, table)
    kept = read_once(lake, table, PartitionRange("landing_date", DAYS[1], DAYS[2]))
    shutil.rmtree(tmp_path / "lake" / "silver" / "kept")
    assert counted_by_day([Tally(kept, "landing_date"), Tally(kept.where("order_id = 'c'"))], SCOPE) == [
        {DAYS[1]: 1, DAYS[2]: 1},
        {None: 1},
    ]


def test_file_checks_say_what_became_of_a_bad_file_and_nothing_of_good_ones():
    """A day whose file was read said "none of 1 file(s) refused (every line quarantined)"."""
    files = {"orders/orders_2025_07_01.csv": DAYS[0], "orders/orders_2025_07_02.csv": DAYS[1]}
    refused = {"orders/orders_2025_07_02.csv": "a zip archive"}
    readable, _ = file_outcomes(KEY, files, refused, {}, SCOPE)
    said = {key: result.description for key, result in readable.partitions.items()}
    assert said == {
        "2025-07-01": "2025-07-01: none of 1 file(s) refused",
        "2025-07-02": "2025-07-02: 1 of 1 file(s) refused (every line quarantined): "
        "orders/orders_2025_07_02.csv: a zip archive",
        "2025-07-03": "2025-07-03: no file landed",
    }

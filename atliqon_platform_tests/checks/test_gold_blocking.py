"""Gold's blocking checks failing for real, and declarative automation holding back what is
downstream of a month that does not add up.

Everything after the history backfill goes as the daemon makes it go: a landed file or a parent
increment is loaded by the run its sensor requests, then declarative automation is evaluated
tick after tick and what each tick requests is run (a month range as one run, as the single-run
backfill policy has it), until a tick requests nothing.

A late order file for July (an old month: the current month is a later one) updates July of
gold.fact_orders, gold.dim_date and the view in one run. A crafted parent increment for July gives
gold.fact_orders a product that is in no dimension and a parent row on a SportsBar key (so the
child's month no longer adds up): the monthly run fails codes_resolve and
child_monthly_equals_daily with those rows as examples, and the calendar and the view are skipped
in that run; once the increment is mended, they follow. The view's own
blocking check, one_row_per_fact, is given a fanned-out view on Spark frames.

On a first start, the facts' months wait for the dimensions their blocking checks read, then go
on one tick with the calendar and the view.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pyarrow.compute as pc
import pytest
from dagster import AssetKey, DagsterInstance, Definitions, evaluate_automation_conditions
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from deltalake import DeltaTable

from atliqon_platform.checks.gold import ONE_ROW_PER_FACT
from atliqon_platform.checks.results import Offending, rule_results
from atliqon_platform.checks.rules import view_row_mismatch
from atliqon_platform.definitions import build_definitions
from atliqon_platform.partitions import BUSINESS_TIMEZONE
from atliqon_platform.resources.landing_zone import LandingZoneResource
from atliqon_platform.sources import order_file_key, parent_increment_key
from atliqon_platform.transforms.parent import FACT_KEY
from atliqon_platform_tests.checks.test_checks import checks_of
from atliqon_platform_tests.instances import home_settings, platform_instance, run_as_launched
from atliqon_platform_tests.remote_runs import UNTIL
from atliqon_platform_tests.tiny import forked_home, seed_tiny

JULY = dt.date(2025, 7, 1)
LATE_DAY = UNTIL + dt.timedelta(days=1)  # the next real day of July, landing after July was built
FACT_ORDERS, DIM_DATE = AssetKey(["gold", "fact_orders"]), AssetKey(["gold", "dim_date"])
VIEW = AssetKey(["gold", "vw_fact_orders_enriched"])
MONTHLY = (FACT_ORDERS, DIM_DATE, VIEW)  # monthly_facts_job's assets
PARENT_FACTS = [
    AssetKey(["bronze", "parent_fact_orders"]),
    AssetKey(["silver", "parent_fact_orders"]),
    AssetKey(["silver", "parent_fact_orders_rejected"]),
]
# What the dimension sensor's run updates when a parent increment lands, cut to the parent facts
# and one input of the view (the whole dimensions_job rebuilds every dimension).
DIMENSION_RUN = [*PARENT_FACTS, AssetKey(["gold", "dim_customers"])]
UNKNOWN_PRODUCT = "NOSUCH0001"
PARENT_PRODUCT, PARENT_CUSTOMER = "ARCHDDE20D", "70002017"  # in the parent's dimension files
# A SportsBar key with sales on 2025-07-01 (orders_2025_07_01.csv, line 2): product 25891203, whose
# code is the SHA-256 of its corrected name (REFERENCE_RULES.md §3), sold to customer 789320.
CHILD_PRODUCT = hashlib.sha256(b"SportsBar Protein Bar Peanut Crunch (65g)").hexdigest()
CHILD_CUSTOMER = "789320"


def every_month() -> list[str]:
    """The months of gold.fact_orders: from ATLIQON_FIRST_MONTH's default to the current one, in
    India (the partitions' calendar)."""
    current = dt.datetime.now(ZoneInfo(BUSINESS_TIMEZONE)).date().replace(day=1)
    months, month = [], dt.date(2024, 1, 1)
    while month <= current:
        months.append(month.isoformat())
        month = (month + dt.timedelta(days=31)).replace(day=1)
    return months


def parent_increment(rows: list[tuple[str, str, int]]) -> bytes:
    """A parent fact increment for July: (product_code, customer_code, sold_quantity) rows."""
    lines = [f"{JULY.isoformat()},{product},{customer},{quantity}" for product, customer, quantity in rows]
    return ("\n".join(["date,product_code,customer_code,sold_quantity", *lines]) + "\n").encode()


def run_requested(defs: Definitions, instance: DagsterInstance, requested: dict[str, set]) -> list:
    """The runs a tick's requests make, as Dagster groups them: the months requested of the facts,
    the calendar and the view in one run (a backfill of several months, with the single-run policy,
    is one run over their range)."""
    runs = []
    monthly = [key for key in MONTHLY if key.to_user_string() in requested]
    if monthly:
        months = sorted(set.union(*(requested[key.to_user_string()] for key in monthly)))
        tags = {}
        if len(months) > 1:
            tags = {ASSET_PARTITION_RANGE_START_TAG: months[0], ASSET_PARTITION_RANGE_END_TAG: months[-1]}
        runs.append(
            run_as_launched(
                defs.resolve_job_def("monthly_facts_job"),
                instance,
                partition_key=months[0] if len(months) == 1 else None,
                tags=tags,
                asset_selection=monthly,
            )
        )
    return runs


def requested_by_tick(defs: Definitions, instance: DagsterInstance, cursor=None) -> tuple[dict, object]:
    """A tick of declarative automation: the partitions it requested of the facts, the calendar
    and the view (asset: partitions; it requests nothing else), and its cursor."""
    automation = evaluate_automation_conditions(defs, instance, cursor=cursor)
    requested = {
        key.to_user_string(): set(automation.get_requested_partitions(key))
        for key in MONTHLY
        if automation.get_num_requested(key)
    }
    assert automation.total_requested == sum(len(partitions) for partitions in requested.values())
    return requested, automation.cursor


def follow(defs: Definitions, instance: DagsterInstance, cursor) -> tuple[list[dict], object]:
    """Ticks of declarative automation, each followed by the runs of what it requested, until a
    tick requests nothing: what each tick requested (asset: partitions) and the runs it made."""
    ticks = []
    for _ in range(4):
        requested, cursor = requested_by_tick(defs, instance, cursor)
        if not requested:
            return ticks, cursor
        ticks.append({"requested": requested, "runs": run_requested(defs, instance, requested)})
    raise AssertionError(f"automation still requests after 4 ticks: {[t['requested'] for t in ticks]}")


def july_quantities(lake) -> dict:
    """July's child quantity in the daily facts, the monthly facts and the view."""

    def child_july(table: str):
        data = DeltaTable(str(lake / table)).to_pyarrow_table()
        month = pc.and_(pc.greater_equal(data["date"], JULY), pc.less(data["date"], dt.date(2025, 8, 1)))
        return data.filter(pc.and_(month, pc.equal(pc.utf8_length(data["product_code"]), 64)))

    daily = child_july("gold/sb_fact_orders")
    return {
        "days": sorted(set(daily["date"].to_pylist())),
        "daily": pc.sum(daily["sold_quantity"]).as_py(),
        "monthly": pc.sum(child_july("gold/fact_orders")["sold_quantity"]).as_py(),
        "view": pc.sum(child_july("gold/vw_fact_orders_enriched")["sold_quantity"]).as_py(),
    }


def last_materialising_run(instance: DagsterInstance, key: AssetKey) -> str:
    return instance.get_latest_materialization_event(key).run_id


@pytest.fixture(scope="module")
def gold(real_days, reference_dataset, tmp_path_factory) -> Iterator[dict]:
    """The real days backfilled (a copy of the run's shared build); then the next day of July,
    landing late, loaded and followed by automation; then July's parent increment, broken and then
    mended, each loaded and followed."""
    phases = {}
    with forked_home(real_days, tmp_path_factory.mktemp("gold-blocking")) as (settings, instance):
        landing = LandingZoneResource(uri=settings.landing_uri)
        defs = build_definitions(settings)
        cursor = evaluate_automation_conditions(defs, instance).cursor  # nothing is news after it
        before = july_quantities(settings.home / "lake")
        late = reference_dataset / "2_child_company" / "full_load" / "orders" / "landing"
        key = order_file_key(LATE_DAY)
        landing.write(key, (late / key.rsplit("/", 1)[1]).read_bytes())
        loaded = run_as_launched(defs.resolve_job_def("daily_orders_job"), instance, LATE_DAY.isoformat())
        assert loaded.success
        ticks, cursor = follow(defs, instance, cursor)
        phases["late"] = {"ticks": ticks, "before": before, "after": july_quantities(settings.home / "lake")}
        increments = {
            "broken": [(UNKNOWN_PRODUCT, PARENT_CUSTOMER, 5), (CHILD_PRODUCT, CHILD_CUSTOMER, 7)],
            "mended": [(PARENT_PRODUCT, PARENT_CUSTOMER, 5)],
        }
        for name, rows in increments.items():
            view_before = last_materialising_run(instance, VIEW), last_materialising_run(instance, DIM_DATE)
            landing.write(parent_increment_key(JULY), parent_increment(rows))
            loaded = run_as_launched(
                defs.resolve_job_def("dimensions_job"), instance, asset_selection=DIMENSION_RUN
            )
            assert loaded.success
            ticks, cursor = follow(defs, instance, cursor)
            view_after = last_materialising_run(instance, VIEW), last_materialising_run(instance, DIM_DATE)
            phases[name] = {"ticks": ticks, "reporting_before": view_before, "reporting_after": view_after}
    return phases


def test_a_late_file_for_an_old_month_updates_its_month_and_the_view_in_one_run(gold):
    late = gold["late"]
    july = {JULY.isoformat()}
    assert [tick["requested"] for tick in late["ticks"]] == [
        {"gold/fact_orders": july, "gold/dim_date": july, "gold/vw_fact_orders_enriched": july}
    ]
    assert all(run.success for tick in late["ticks"] for run in tick["runs"])
    before, after = late["before"], late["after"]
    assert LATE_DAY not in before["days"] and LATE_DAY in after["days"]
    assert after["daily"] > before["daily"]
    assert after["monthly"] == after["view"] == after["daily"]


def broken_month_run(gold):
    [first_tick] = gold["broken"]["ticks"]
    [run] = first_tick["runs"]
    return run


def test_an_unknown_product_fails_codes_resolve_with_the_row(gold):
    run = broken_month_run(gold)
    assert not run.success
    codes = checks_of(run)[("gold/fact_orders", "codes_resolve")]
    assert not codes.passed
    assert codes.metadata["offending_rows"].value == 1
    assert UNKNOWN_PRODUCT in codes.metadata["examples"].value
    assert ": 1 row(s) break the rule" in codes.description
    assert codes.description.startswith(f"{every_month()[0]} to ")


def test_a_parent_row_on_a_child_key_fails_child_monthly_equals_daily_with_the_month(gold):
    totals = checks_of(broken_month_run(gold))[("gold/fact_orders", "child_monthly_equals_daily")]
    assert not totals.passed
    assert totals.metadata["offending_rows"].value == 1
    examples = totals.metadata["examples"].value
    assert "| date | daily | monthly |" in examples and "| 2025-07-01 |" in examples


def test_a_month_that_does_not_add_up_is_not_published_downstream(gold):
    broken = gold["broken"]
    # A parent load makes every month of the facts, the calendar and the view news: they go in one
    # run, in which the facts' failed blocking checks stop what follows them; the tick after that
    # run requests nothing.
    months = set(every_month())
    assert [tick["requested"] for tick in broken["ticks"]] == [
        {key.to_user_string(): months for key in MONTHLY}
    ]
    run = broken_month_run(gold)
    assert VIEW in run.dagster_run.asset_selection
    assert {event.asset_key for event in run.all_events if event.is_step_materialization} == {FACT_ORDERS}
    assert broken["reporting_after"] == broken["reporting_before"]  # view and dim_date not materialised


def test_once_the_month_adds_up_the_view_and_dim_date_follow(gold):
    mended = gold["mended"]
    months = set(every_month())
    assert [tick["requested"] for tick in mended["ticks"]] == [
        {key.to_user_string(): months for key in MONTHLY}
    ]
    [monthly] = (run for tick in mended["ticks"] for run in tick["runs"])
    assert monthly.success
    # Only the warning the real data always gives: 8 parent products priced and never sold.
    failed = {key for key, evaluation in checks_of(monthly).items() if not evaluation.passed}
    assert failed == {(VIEW.to_user_string(), "priced_products_have_sales")}
    assert mended["reporting_after"] == (monthly.run_id, monthly.run_id)


def test_a_fanned_out_view_fails_one_row_per_fact_with_the_doubled_fact(spark):
    schema = "date date, product_code string, customer_code string, sold_quantity double"
    facts = spark.createDataFrame([(JULY, "P1", "C1", 2.0), (JULY, "P2", "C1", 3.0)], schema)
    # A dimension with a code twice (here the product P1) doubles that fact in the view's join.
    view = facts.unionByName(facts.where("product_code = 'P1'"))
    fanned_out = Offending(VIEW, ONE_ROW_PER_FACT, view_row_mismatch(view, facts, FACT_KEY))
    [outcome] = rule_results([fanned_out], None)
    result = outcome.result
    assert not result.passed
    assert result.metadata["offending_rows"].value == 1
    assert "| 2025-07-01 | P1 | C1 | 1 | 2 |" in result.metadata["examples"].value
    one_to_one = Offending(VIEW, ONE_ROW_PER_FACT, view_row_mismatch(facts, facts, FACT_KEY))
    [clean] = rule_results([one_to_one], None)
    assert clean.result.passed


def test_on_a_first_start_the_facts_wait_for_the_dimensions_their_checks_read(tmp_path):
    """The dimension run writes the parent's facts before the dimensions: the facts' months used
    to be requested then, and the view's on a later tick (the dimensions still missing), each a
    backfill that Dagster's daemon launches on its 30 s loop. Now all three go on one tick, once
    the dimensions that codes_resolve and every_product_year_priced read are written."""
    seed_tiny(tmp_path)
    defs = build_definitions(home_settings(tmp_path))
    dimensions = defs.resolve_job_def("dimensions_job")
    with platform_instance() as instance:
        _, cursor = requested_by_tick(defs, instance)  # a first tick only sets the cursor
        assert run_as_launched(dimensions, instance, asset_selection=PARENT_FACTS).success
        requested, cursor = requested_by_tick(defs, instance, cursor)
        assert requested == {}  # the parent's facts are news, but gold's dimensions are missing
        assert run_as_launched(dimensions, instance).success
        requested, _ = requested_by_tick(defs, instance, cursor)
    assert requested == {key.to_user_string(): set(every_month()) for key in MONTHLY}

"""Gold's blocking checks failing for real.

A crafted parent increment for July gives gold.fact_orders a product that is in no dimension and
a parent row on a SportsBar key (so the child's month no longer adds up). The real monthly run
fails codes_resolve and child_monthly_equals_daily with those rows as examples, and declarative
automation holds back gold.dim_date and the view; once the increment is mended, they follow. The
view's own blocking check, one_row_per_fact, is given a fanned-out view on Spark frames.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator

import pytest
from dagster import AssetKey, evaluate_automation_conditions

from atliqon_platform.automation.backfill import backfill_everything
from atliqon_platform.checks.gold import ONE_ROW_PER_FACT
from atliqon_platform.checks.results import Offending, rule_results
from atliqon_platform.checks.rules import view_row_mismatch
from atliqon_platform.definitions import build_definitions
from atliqon_platform.resources.landing_zone import LandingZoneResource
from atliqon_platform.sources import parent_increment_key
from atliqon_platform.transforms.parent import FACT_KEY
from atliqon_platform_tests.checks.test_checks import checks_of
from atliqon_platform_tests.instances import platform_instance
from atliqon_platform_tests.remote_runs import seeded

JULY = dt.date(2025, 7, 1)
DIM_DATE, VIEW = AssetKey(["gold", "dim_date"]), AssetKey(["gold", "vw_fact_orders_enriched"])
PARENT_FACTS = [
    AssetKey(["bronze", "parent_fact_orders"]),
    AssetKey(["silver", "parent_fact_orders"]),
    AssetKey(["silver", "parent_fact_orders_rejected"]),
]
UNKNOWN_PRODUCT = "NOSUCH0001"
PARENT_PRODUCT, PARENT_CUSTOMER = "ARCHDDE20D", "70002017"  # in the parent's dimension files
# A SportsBar key with sales on 2025-07-01 (orders_2025_07_01.csv, line 2): product 25891203, whose
# code is the SHA-256 of its corrected name (REFERENCE_RULES.md §3), sold to customer 789320.
CHILD_PRODUCT = hashlib.sha256(b"SportsBar Protein Bar Peanut Crunch (65g)").hexdigest()
CHILD_CUSTOMER = "789320"


def parent_increment(rows: list[tuple[str, str, int]]) -> bytes:
    """A parent fact increment for July: (product_code, customer_code, sold_quantity) rows."""
    lines = [f"{JULY.isoformat()},{product},{customer},{quantity}" for product, customer, quantity in rows]
    return ("\n".join(["date,product_code,customer_code,sold_quantity", *lines]) + "\n").encode()


@pytest.fixture(scope="module")
def july(reference_dataset, tmp_path_factory) -> Iterator[dict]:
    """Three real days backfilled; then July's parent increment, broken and then mended, each time
    loaded, July's monthly run, and declarative automation evaluated after it."""
    settings = seeded(reference_dataset, tmp_path_factory.mktemp("gold-blocking"))
    landing = LandingZoneResource(uri=settings.landing_uri)
    defs = build_definitions(settings)
    outcomes = {}
    with platform_instance() as instance:
        assert backfill_everything(settings, instance=instance)
        cursor = evaluate_automation_conditions(defs, instance).cursor  # nothing is news after it
        increments = {
            "broken": [(UNKNOWN_PRODUCT, PARENT_CUSTOMER, 5), (CHILD_PRODUCT, CHILD_CUSTOMER, 7)],
            "mended": [(PARENT_PRODUCT, PARENT_CUSTOMER, 5)],
        }
        for name, rows in increments.items():
            landing.write(parent_increment_key(JULY), parent_increment(rows))
            loaded = defs.resolve_job_def("dimensions_job").execute_in_process(
                instance=instance, asset_selection=PARENT_FACTS
            )
            assert loaded.success
            run = defs.resolve_job_def("monthly_facts_job").execute_in_process(
                partition_key=JULY.isoformat(), instance=instance, raise_on_error=False
            )
            automation = evaluate_automation_conditions(defs, instance, cursor=cursor)
            cursor = automation.cursor
            outcomes[name] = {"run": run, "automation": automation}
    return outcomes


def test_an_unknown_product_fails_codes_resolve_with_the_row(july):
    run = july["broken"]["run"]
    assert not run.success
    codes = checks_of(run)[("gold/fact_orders", "codes_resolve")]
    assert not codes.passed
    assert codes.metadata["offending_rows"].value == 1
    assert UNKNOWN_PRODUCT in codes.metadata["examples"].value
    assert codes.description.startswith("2025-07-01 to 2025-07-31: 1 row(s) break the rule")


def test_a_parent_row_on_a_child_key_fails_child_monthly_equals_daily_with_the_month(july):
    totals = checks_of(july["broken"]["run"])[("gold/fact_orders", "child_monthly_equals_daily")]
    assert not totals.passed
    assert totals.metadata["offending_rows"].value == 1
    examples = totals.metadata["examples"].value
    assert "| date | daily | monthly |" in examples and "| 2025-07-01 |" in examples


def test_what_is_downstream_waits_for_the_month_to_add_up(july):
    held = july["broken"]["automation"]
    assert (held.get_num_requested(DIM_DATE), held.get_num_requested(VIEW)) == (0, 0)
    mended = july["mended"]
    assert mended["run"].success
    assert all(evaluation.passed for evaluation in checks_of(mended["run"]).values())
    follows = mended["automation"]
    assert (follows.get_num_requested(DIM_DATE), follows.get_num_requested(VIEW)) == (1, 1)


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

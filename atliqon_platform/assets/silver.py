"""Silver: cleaned, validated, standardised tables, each beside a quarantine of the rows it refused.

Every bronze row ends in exactly one of the two, so read = kept + rejected, per run and per
partition, and the materialisation metadata says so.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetOut,
    AssetsDefinition,
    BackfillPolicy,
    MaterializeResult,
    multi_asset,
)
from pyspark.sql import DataFrame

from atliqon_platform.assets.code_versions import code_version
from atliqon_platform.assets.metadata import OWNERS, accounting, table_metadata
from atliqon_platform.assets.partitions import DAILY, partition_range
from atliqon_platform.ingestion.csv_files import RESCUED_DATA
from atliqon_platform.resources.delta_lake import DeltaLakeResource, PartitionRange
from atliqon_platform.transforms import customers, gross_price, orders, parent, products

KINDS = {"spark", "delta"}
Transform = Callable[..., tuple[DataFrame, DataFrame]]


def read_bronze(lake: DeltaLakeResource, name: str, where: PartitionRange | None = None) -> DataFrame:
    """A bronze table as silver's rules take it: the columns rescued from beyond the contract
    stay in bronze, so silver and gold keep the contract's schema."""
    return lake.read("bronze", name, where).drop(RESCUED_DATA)


def write_kept_and_rejected(
    lake: DeltaLakeResource,
    name: str,
    bronze: tuple[str, PartitionRange | None],
    kept: DataFrame,
    rejected: DataFrame,
    replace: PartitionRange | None = None,
) -> Iterator[MaterializeResult]:
    """Write ``silver.<name>`` and ``silver.<name>_rejected``, and account for every row of
    ``bronze`` (the bronze table and the range read)."""
    kept_result = lake.overwrite(kept, "silver", name, replace=replace)
    rejected_result = lake.overwrite(rejected, "silver", f"{name}_rejected", replace=replace)
    read = lake.count("bronze", *bronze)
    # Reasons are counted on the quarantine as written, not by evaluating the rules a third time.
    written_rejections = lake.read("silver", f"{name}_rejected", replace)
    rows = accounting(read, kept_result.rows, written_rejections, rejected_result.rows)
    if read != kept_result.rows + rejected_result.rows:
        raise RuntimeError(
            f"silver.{name}: {read} rows read but {kept_result.rows} kept + "
            f"{rejected_result.rows} rejected; refusing to lose rows"
        )
    yield MaterializeResult(
        asset_key=AssetKey(["silver", name]), metadata=table_metadata(kept_result, kept, **rows)
    )
    yield MaterializeResult(
        asset_key=AssetKey(["silver", f"{name}_rejected"]),
        metadata=table_metadata(rejected_result, rejected, rows_rejected=rejected_result.rows),
    )


def _outs(name: str, description: str, rule: Transform) -> dict[str, AssetOut]:
    version = code_version(rule)
    return {
        name: AssetOut(
            key=["silver", name], description=description, code_version=version, kinds=KINDS, owners=OWNERS
        ),
        f"{name}_rejected": AssetOut(
            key=["silver", f"{name}_rejected"],
            description=f"Quarantine of silver.{name}: every bronze row that did not reach it, "
            "with its reason, source file and line.",
            code_version=version,
            kinds=KINDS,
            owners=OWNERS,
        ),
    }


@dataclass(frozen=True)
class SilverSnapshot:
    """A silver table rebuilt whole from one bronze snapshot (and silver lookups it joins)."""

    name: str
    bronze: str
    transform: Transform
    description: str
    lookups: tuple[str, ...] = ()


def _snapshot_asset(table: SilverSnapshot) -> AssetsDefinition:
    @multi_asset(
        name=f"silver_{table.name}",
        outs=_outs(table.name, table.description, table.transform),
        deps=[AssetKey(["bronze", table.bronze]), *(AssetKey(["silver", name]) for name in table.lookups)],
        group_name="silver",
    )
    def _silver(lake: DeltaLakeResource) -> Iterator[MaterializeResult]:
        raw = read_bronze(lake, table.bronze)
        kept, rejected = table.transform(raw, *(lake.read("silver", name) for name in table.lookups))
        yield from write_kept_and_rejected(lake, table.name, (table.bronze, None), kept, rejected)

    return _silver


# In dependency order: a lookup comes before the tables that join it.
SILVER_SNAPSHOTS = (
    SilverSnapshot(
        "customers",
        "customers",
        customers.clean_customers,
        "SportsBar customers, one per customer_id: names trimmed and title-cased, city typos "
        "fixed, blank cities filled as confirmed, market India, platform Sports Bar, channel Acquisition.",
    ),
    SilverSnapshot(
        "products",
        "products",
        products.clean_products,
        "SportsBar products, one per product_id: categories title-cased, 'Protien' corrected, "
        "division from category, variant from the name, product_code = SHA-256 of the name.",
    ),
    SilverSnapshot(
        "gross_price",
        "gross_price",
        gross_price.clean_gross_price,
        "SportsBar monthly prices of known products: month parsed (four formats), negative "
        "prices made positive, non-numeric prices 0.",
        lookups=("products",),
    ),
    SilverSnapshot(
        "parent_customers", "parent_customers", parent.parent_customers, "Atliqon's customers, typed."
    ),
    SilverSnapshot(
        "parent_products", "parent_products", parent.parent_products, "Atliqon's products, typed."
    ),
    SilverSnapshot(
        "parent_gross_price",
        "parent_gross_price",
        parent.parent_gross_price,
        "Atliqon's yearly prices, typed (price_inr double, year int).",
    ),
    SilverSnapshot(
        "parent_fact_orders",
        "parent_fact_orders",
        parent.parent_fact_orders,
        "Atliqon's monthly facts, typed; where an increment repeats a key, the later file wins.",
    ),
)
silver_snapshots = [_snapshot_asset(table) for table in SILVER_SNAPSHOTS]


@multi_asset(
    name="silver_orders",
    outs=_outs(
        "orders",
        "SportsBar order lines of each landing day: null quantities dropped, non-numeric customer "
        "ids made 999999, dates parsed (weekday stripped, four formats), duplicates removed, "
        "product_code joined from silver.products.",
        orders.clean_orders,
    ),
    deps=[AssetKey(["bronze", "orders"]), AssetKey(["silver", "products"])],
    partitions_def=DAILY,
    backfill_policy=BackfillPolicy.single_run(),
    group_name="silver",
)
def silver_orders(context: AssetExecutionContext, lake: DeltaLakeResource) -> Iterator[MaterializeResult]:
    days = partition_range(context, "landing_date")
    raw = read_bronze(lake, "orders", days)
    kept, rejected = orders.clean_orders(raw, lake.read("silver", "products"))
    yield from write_kept_and_rejected(lake, "orders", ("orders", days), kept, rejected, days)

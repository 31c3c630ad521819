"""The catalogue of tables: every Delta table of the lake, written down once, with its layer, name,
what it holds, the columns that identify a row and the date column its partitions select.

Asset keys, check keys, where a table lives in the lake, the jobs' selections, the sensors and the
dashboard all name tables through this module.
"""

from __future__ import annotations

from dataclasses import dataclass

from dagster import AssetKey

LANDING_DATE = "landing_date"
"""The order tables' partition column in bronze and silver: the landing day of the file."""
ORDER_DATE = "date"
"""The gold facts' partition column: the day (gold.sb_fact_orders) or month (gold.fact_orders)."""
FACT_KEY = ("date", "product_code", "customer_code")
"""One monthly fact per month, product and customer."""


@dataclass(frozen=True)
class Table:
    """A table ``<layer>.<name>``: the asset keyed ``[layer, name]``, at ``<lake>/<layer>/<name>``."""

    layer: str
    name: str
    description: str
    keys: tuple[str, ...] = ()  # one row per value of these columns
    required: tuple[str, ...] = ()  # columns that must be filled, besides the keys
    partition_column: str | None = None  # the date column a run's partitions select; None: rebuilt whole

    def __str__(self) -> str:
        return f"{self.layer}.{self.name}"

    @property
    def asset_key(self) -> AssetKey:
        return AssetKey([self.layer, self.name])

    def location(self, lake_uri: str) -> str:
        """Where the table lives under the lake's root (a folder or an s3:// prefix)."""
        return f"{lake_uri.rstrip('/')}/{self.layer}/{self.name}"


def rejected(table: Table) -> Table:
    """The quarantine beside a silver table: every bronze row that did not reach it, with why."""
    return Table(
        table.layer,
        f"{table.name}_rejected",
        f"Quarantine of {table}: every bronze row that did not reach it, with its reason, source file "
        "and line.",
        partition_column=table.partition_column,
    )


# Bronze: the files as delivered, one table per source (sources.py).
BRONZE_CUSTOMERS = Table(
    "bronze",
    "customers",
    "SportsBar customer master as delivered (customers/customers.csv), one row per line.",
)
BRONZE_PRODUCTS = Table(
    "bronze",
    "products",
    "SportsBar product master as delivered (products/products.csv), one row per line.",
)
BRONZE_GROSS_PRICE = Table(
    "bronze", "gross_price", "SportsBar monthly gross prices as delivered (gross_price/gross_price.csv)."
)
BRONZE_PARENT_CUSTOMERS = Table(
    "bronze", "parent_customers", "Atliqon's customer dimension export (parent/full_load/dim_customers.csv)."
)
BRONZE_PARENT_PRODUCTS = Table(
    "bronze", "parent_products", "Atliqon's product dimension export (parent/full_load/dim_products.csv)."
)
BRONZE_PARENT_GROSS_PRICE = Table(
    "bronze", "parent_gross_price", "Atliqon's yearly prices export (parent/full_load/dim_gross_price.csv)."
)
BRONZE_PARENT_FACT_ORDERS = Table(
    "bronze",
    "parent_fact_orders",
    "Atliqon's monthly order facts: the full load and every increment as delivered "
    "(parent/full_load/fact_orders.csv, parent/incremental_load/fact_orders_*.csv); "
    "rebuilt from all files, so reloading an increment never duplicates it.",
)
BRONZE_ORDERS = Table(
    "bronze",
    "orders",
    "SportsBar order lines as delivered (orders/landing/orders_YYYY_MM_DD.csv), one partition "
    "per landing day holding every file of that day. A day with no file is an empty partition.",
    partition_column=LANDING_DATE,
)

# Silver: cleaned tables, each beside its quarantine (``rejected``).
SILVER_CUSTOMERS = Table(
    "silver",
    "customers",
    "SportsBar customers, one per customer_id: names trimmed and title-cased, city typos "
    "fixed, blank cities filled as confirmed, market India, platform Sports Bar, channel Acquisition.",
    keys=("customer_id",),
)
SILVER_PRODUCTS = Table(
    "silver",
    "products",
    "SportsBar products, one per product_id: categories title-cased, 'Protien' corrected, "
    "division from category, variant from the name, product_code = SHA-256 of the name.",
    keys=("product_id",),
    required=("product_code",),
)
SILVER_GROSS_PRICE = Table(
    "silver",
    "gross_price",
    "SportsBar monthly prices of known products: month parsed (four formats), negative "
    "prices made positive, non-numeric prices 0.",
    keys=("product_id", "month"),
    required=("product_code",),
)
SILVER_PARENT_CUSTOMERS = Table(
    "silver", "parent_customers", "Atliqon's customers, typed.", keys=("customer_code",)
)
SILVER_PARENT_PRODUCTS = Table(
    "silver", "parent_products", "Atliqon's products, typed.", keys=("product_code",)
)
SILVER_PARENT_GROSS_PRICE = Table(
    "silver",
    "parent_gross_price",
    "Atliqon's yearly prices, typed (price_inr double, year int).",
    keys=("product_code", "year"),
)
SILVER_PARENT_FACT_ORDERS = Table(
    "silver",
    "parent_fact_orders",
    "Atliqon's monthly facts, typed; where an increment repeats a key, the later file wins.",
    keys=FACT_KEY,
)
SILVER_ORDERS = Table(
    "silver",
    "orders",
    "SportsBar order lines of each landing day: null quantities dropped, non-numeric customer "
    "ids made 999999, dates parsed (weekday stripped, four formats), duplicates removed, "
    "product_code joined from silver.products.",
    keys=("order_date", "order_id", "product_code", "customer_id"),
    partition_column=LANDING_DATE,
)
SILVER_ORDERS_REJECTED = rejected(SILVER_ORDERS)

# Gold: SportsBar's dims and daily facts, the unified model of both companies, the dashboard's view.
GOLD_SB_DIM_CUSTOMERS = Table(
    "gold",
    "sb_dim_customers",
    "SportsBar customer dimension (35 customers in the full load).",
    keys=("customer_id",),
)
GOLD_SB_DIM_PRODUCTS = Table(
    "gold",
    "sb_dim_products",
    "SportsBar product dimension (18 products in the full load), product_id kept.",
    keys=("product_code",),
)
GOLD_SB_DIM_GROSS_PRICE = Table(
    "gold",
    "sb_dim_gross_price",
    "SportsBar yearly price per (product_code, year): the latest non-zero month wins, else the latest month.",
    keys=("product_code", "year"),
)
GOLD_DIM_CUSTOMERS = Table(
    "gold",
    "dim_customers",
    "Unified customers of both companies, plus the unknown customer 999999 "
    "(channel Unknown) so that no fact has a null slice.",
    keys=("customer_code",),
)
GOLD_DIM_PRODUCTS = Table(
    "gold",
    "dim_products",
    "Unified products of both companies (the child's product_id not carried).",
    keys=("product_code",),
)
GOLD_DIM_GROSS_PRICE = Table(
    "gold",
    "dim_gross_price",
    "Unified yearly prices, keyed on (product_code, year).",
    keys=("product_code", "year"),
)
GOLD_SB_FACT_ORDERS = Table(
    "gold",
    "sb_fact_orders",
    "SportsBar daily order facts: order_id, date, customer_code, product_code, product_id, "
    "sold_quantity. Lines with the same business key and different quantities both kept.",
    partition_column=ORDER_DATE,
)
GOLD_FACT_ORDERS = Table(
    "gold",
    "fact_orders",
    "Unified monthly order facts: the parent's rows for the month plus the child's daily "
    "facts of that month summed by (month, product_code, customer_code), always recomputed "
    "from all of the month's days.",
    keys=FACT_KEY,
    partition_column=ORDER_DATE,
)
GOLD_DIM_DATE = Table(
    "gold",
    "dim_date",
    "One row per month start, for every month of gold.fact_orders (partitioned by month like it: "
    "a month's calendar row is written in the run of its facts).",
    keys=("month_start_date",),
    partition_column="month_start_date",
)
GOLD_VW_FACT_ORDERS_ENRICHED = Table(
    "gold",
    "vw_fact_orders_enriched",
    "The dashboard's denormalised view, materialised: every gold.fact_orders row once, with "
    "date, customer, product and yearly price attributes and total_amount_inr = "
    "sold_quantity x price_inr. Each materialisation also writes the dashboard's static "
    "snapshot (metadata `dashboard_snapshot`) and links the live dashboard (`dashboard`). "
    "Partitioned by month like gold.fact_orders: a new day rewrites only its month.",
    keys=FACT_KEY,
    partition_column=ORDER_DATE,
)

DIMENSION_TABLES = (
    GOLD_SB_DIM_CUSTOMERS,
    GOLD_SB_DIM_PRODUCTS,
    GOLD_SB_DIM_GROSS_PRICE,
    GOLD_DIM_CUSTOMERS,
    GOLD_DIM_PRODUCTS,
    GOLD_DIM_GROSS_PRICE,
)
"""The gold dims rebuilt whole from silver and from each other (gold.dim_date follows the months)."""
SILVER_TABLES = (
    SILVER_CUSTOMERS,
    SILVER_PRODUCTS,
    SILVER_GROSS_PRICE,
    SILVER_PARENT_CUSTOMERS,
    SILVER_PARENT_PRODUCTS,
    SILVER_PARENT_GROSS_PRICE,
    SILVER_PARENT_FACT_ORDERS,
    SILVER_ORDERS,
)
TABLES = (
    BRONZE_CUSTOMERS,
    BRONZE_PRODUCTS,
    BRONZE_GROSS_PRICE,
    BRONZE_PARENT_CUSTOMERS,
    BRONZE_PARENT_PRODUCTS,
    BRONZE_PARENT_GROSS_PRICE,
    BRONZE_PARENT_FACT_ORDERS,
    BRONZE_ORDERS,
    *(table for silver in SILVER_TABLES for table in (silver, rejected(silver))),
    *DIMENSION_TABLES,
    GOLD_SB_FACT_ORDERS,
    GOLD_FACT_ORDERS,
    GOLD_DIM_DATE,
    GOLD_VW_FACT_ORDERS_ENRICHED,
)
"""Every table, layer by layer."""


def table_named(name: str) -> Table | None:
    """The table ``<layer>.<name>`` (or ``<layer>/<name>``, as the UI writes asset keys); None if unknown."""
    return next((table for table in TABLES if str(table) == name.replace("/", ".")), None)

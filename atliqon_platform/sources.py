"""The landing zone layout (REFERENCE_RULES.md §1): which key holds which source, and its columns.

Sensors, bronze assets and the sample-data writers all name files through this module,
so the layout is written down once.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    """One delivered CSV source: where its files land and the columns they must carry."""

    name: str
    prefix: str
    columns: tuple[str, ...]
    pattern: re.Pattern[str]

    def matches(self, key: str) -> bool:
        return self.pattern.fullmatch(key) is not None


CUSTOMERS = Source(
    "customers",
    "customers/",
    ("customer_id", "customer_name", "city"),
    re.compile(r"customers/[^/]+\.csv"),
)
PRODUCTS = Source(
    "products",
    "products/",
    ("product_name", "product_id", "category"),
    re.compile(r"products/[^/]+\.csv"),
)
GROSS_PRICE = Source(
    "gross_price",
    "gross_price/",
    ("product_id", "month", "gross_price"),
    re.compile(r"gross_price/[^/]+\.csv"),
)
ORDERS = Source(
    "orders",
    "orders/landing/",
    ("order_id", "order_placement_date", "customer_id", "product_id", "order_qty"),
    re.compile(r"orders/landing/orders_(\d{4})_(\d{2})_(\d{2})(?:_[^/]*)?\.csv"),
)
PARENT_CUSTOMERS = Source(
    "parent_customers",
    "parent/full_load/",
    ("customer_code", "customer", "market", "platform", "channel"),
    re.compile(r"parent/full_load/dim_customers\.csv"),
)
PARENT_PRODUCTS = Source(
    "parent_products",
    "parent/full_load/",
    ("product_code", "division", "category", "product", "variant"),
    re.compile(r"parent/full_load/dim_products\.csv"),
)
PARENT_GROSS_PRICE = Source(
    "parent_gross_price",
    "parent/full_load/",
    ("product_code", "price_inr", "year"),
    re.compile(r"parent/full_load/dim_gross_price\.csv"),
)
PARENT_FACT_ORDERS = Source(
    "parent_fact_orders",
    "parent/",
    ("date", "product_code", "customer_code", "sold_quantity"),
    re.compile(r"parent/(full_load/fact_orders|incremental_load/fact_orders_[^/]+)\.csv"),
)

SNAPSHOT_SOURCES = (CUSTOMERS, PRODUCTS, GROSS_PRICE)
PARENT_DIMENSION_SOURCES = (PARENT_CUSTOMERS, PARENT_PRODUCTS, PARENT_GROSS_PRICE)
ALL_SOURCES = (*SNAPSHOT_SOURCES, ORDERS, *PARENT_DIMENSION_SOURCES, PARENT_FACT_ORDERS)


class InvalidOrderFileName(ValueError):
    """An order file whose name carries a date that does not exist."""


def order_file_key(day: dt.date) -> str:
    return f"{ORDERS.prefix}orders_{day:%Y_%m_%d}.csv"


def order_file_day(key: str) -> dt.date | None:
    """The landing day an order file belongs to, None when the key is not an order file."""
    match = ORDERS.pattern.fullmatch(key)
    if match is None:
        return None
    try:
        return dt.date(*(int(part) for part in match.groups()))
    except ValueError:
        raise InvalidOrderFileName(f"{key}: the date in the file name is not a valid date") from None


def parent_increment_key(first_day: dt.date) -> str:
    return f"parent/incremental_load/fact_orders_{first_day:%Y_%m_%d}.csv"


def source_of(key: str) -> Source | None:
    """The source a landing key belongs to, None for keys that match no known pattern."""
    return next((source for source in ALL_SOURCES if source.matches(key)), None)

"""What every silver and gold column means, and which silver (or gold) columns each gold column is
made of: written once, here, beside the rules that make them.

Each materialisation publishes them as the table's ``dagster/column_schema`` (a description per
column) and ``dagster/column_lineage``, so a reader of the Dagster UI finds what a column is and
where it comes from, as in Unity Catalog.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from atliqon_platform import tables
from atliqon_platform.tables import Table
from atliqon_platform.transforms import customers, gross_price, orders, products, unified
from atliqon_platform.transforms.common import REJECT_REASON

# What a column means, in every table that has it (unless MEANING_IN overrides it).
MEANING = {
    # SportsBar's masters
    "customer_id": "SportsBar's customer id, one row per id.",
    "customer_name": "Customer name, trimmed and capitalised word by word (Spark's initcap).",
    "city": "Bengaluru, Hyderabad or New Delhi, typos fixed and blanks filled as the business "
    "confirmed; empty when unknown.",
    "product_id": "SportsBar's product id: digits only, 999999 when the delivered one was not a number.",
    "product_code": "Product key of both companies: Atliqon's 10-character code, or for SportsBar the "
    "SHA-256 of the corrected product name.",
    "month": "First day of the month the gross price applies to (four source date formats parsed).",
    "gross_price": "Gross price in INR for the month: negatives made positive, non-numbers 0.",
    # the unified dimensions
    "customer_code": "Customer key of both companies: Atliqon's 8-digit code or SportsBar's customer_id; "
    "999999 is the unknown customer.",
    "customer": "Customer as the dashboard names it (SportsBar: name-city).",
    "market": "Country market of the customer (SportsBar: India).",
    "platform": "Platform the customer buys on (SportsBar: Sports Bar).",
    "channel": "Sales channel: Retailer, Direct, Distributor; Acquisition for SportsBar; Unknown for 999999.",
    "division": "Product division, from the category for SportsBar (Energy and Protein Bars are "
    "Nutrition Bars, ...; anything else Other).",
    "category": "Product category (SportsBar's title-cased, 'Protien' corrected to 'Protein').",
    "product": "Product name (SportsBar's with 'Protien' corrected to 'Protein').",
    "variant": "Pack variant, from the product name's parentheses (60g, 30 Sachets).",
    "price_inr": "Yearly gross price in INR of the product.",
    "year": "Year the price applies to.",
    # orders and facts
    "order_id": "SportsBar's order id, as delivered.",
    "order_date": "Day the order was placed: weekday stripped, four formats parsed; always the landing day.",
    "order_qty": "Quantity ordered (decimals as delivered: '150.0' is 150).",
    "sold_quantity": "Units sold.",
    "landing_date": "Landing day of the order file (from its name orders_YYYY_MM_DD.csv): the partition.",
    "date": "Day of the order.",
    # lineage of every silver row back to its source line
    "file_name": "Landing key of the delivered file the row came from.",
    "line_number": "Line of the row in that file (the header is line 1).",
    # the dashboard's calendar
    "month_start_date": "First day of the month.",
    "date_key": "Month as a number yyyyMM (202507).",
    "month_name": "Month's name (July).",
    "month_short_name": "Month's short name (Jul).",
    "quarter": "Quarter of the year (Q3).",
    "year_quarter": "Year and quarter (2025-Q3).",
    "total_amount_inr": "Revenue in INR: sold_quantity x price_inr (empty when the product has no price "
    "that year).",
}

# What the quarantines keep: the delivered line, as text, and why it was refused.
DELIVERED = {
    "customer_id": "Customer id as delivered (text).",
    "customer_name": "Customer name as delivered.",
    "city": "City as delivered, typos included.",
    "product_name": "Product name as delivered.",
    "product_id": "Product id as delivered (text).",
    "category": "Category as delivered.",
    "month": "Month as delivered (text, one of several date formats).",
    "gross_price": "Gross price as delivered (text).",
    "order_id": "Order id as delivered.",
    "order_placement_date": "Order date as delivered (text, one of several formats).",
    "order_qty": "Quantity as delivered (text).",
    "customer_code": "Customer code as delivered.",
    "customer": "Customer name as delivered.",
    "market": "Market as delivered.",
    "platform": "Platform as delivered.",
    "channel": "Channel as delivered.",
    "product_code": "Product code as delivered.",
    "division": "Division as delivered.",
    "product": "Product name as delivered.",
    "variant": "Variant as delivered.",
    "price_inr": "Price as delivered (text).",
    "year": "Year as delivered (text).",
    "date": "Month start date as delivered (text).",
    "sold_quantity": "Quantity as delivered (text).",
    "line_number": MEANING["line_number"],
    "file_name": MEANING["file_name"],
    "landing_date": MEANING["landing_date"],
    "parse_error": "Why the line could not be split into the header's fields; empty when it could.",
    "raw_line": "The line as delivered, when it could not be parsed.",
    "ingested_at": "When bronze read the file (UTC).",
    REJECT_REASON: "Why the row did not reach silver: the first rule it broke (malformed row, null "
    "quantity, unparseable date, duplicate line, unknown product_id, ...).",
}

# Where a column means something else than MEANING says.
MEANING_IN = {
    tables.SILVER_PARENT_FACT_ORDERS: {"date": "First day of the month of Atliqon's monthly facts."},
    tables.SILVER_ORDERS: {
        "customer_id": "Customer of the order: SportsBar's customer id, 999999 when the delivered one was "
        "not a number."
    },
    tables.GOLD_FACT_ORDERS: {
        "date": "First day of the month: Atliqon's monthly rows, SportsBar's days summed into their month."
    },
    tables.GOLD_VW_FACT_ORDERS_ENRICHED: {
        "date": "First day of the month of the fact.",
        "year": "Calendar year of the fact (the year its price is looked up for).",
    },
    tables.GOLD_SB_DIM_GROSS_PRICE: {
        "price_inr": "Yearly price: the latest month with a non-zero gross price, else the latest month."
    },
    tables.GOLD_DIM_DATE: {"year": "Calendar year."},
}


def description(table: Table, column: str) -> str | None:
    """What ``column`` of ``table`` means; None for a column not documented."""
    if table.name.endswith("_rejected"):
        return DELIVERED.get(column)
    return MEANING_IN.get(table, {}).get(column) or MEANING.get(column)


Lineage = dict[str, list[tuple[Table, str]]]  # gold column -> the (table, column) pairs it is made of


def _carried(table: Table, columns: Iterable[str], **renamed: str) -> Lineage:
    """Columns taken from ``table``, under the same name or ``renamed`` (new name = old name)."""
    return {column: [(table, renamed.get(column, column))] for column in columns}


def _both(*lineages: Lineage) -> Lineage:
    """A union of tables: each column is made of each table's."""
    merged: Lineage = {}
    for lineage in lineages:
        for column, sources in lineage.items():
            merged.setdefault(column, []).extend(sources)
    return merged


FACT = unified.FACT_COLUMNS
DATE_ATTRIBUTES = unified.ENRICHED_COLUMNS[3:9]  # date_key ... year_quarter
LINEAGE: Mapping[Table, Lineage] = {
    tables.GOLD_SB_DIM_CUSTOMERS: _carried(tables.SILVER_CUSTOMERS, customers.GOLD_COLUMNS),
    tables.GOLD_SB_DIM_PRODUCTS: _carried(tables.SILVER_PRODUCTS, products.GOLD_COLUMNS),
    tables.GOLD_SB_DIM_GROSS_PRICE: _carried(
        tables.SILVER_GROSS_PRICE, gross_price.YEARLY_COLUMNS, price_inr="gross_price", year="month"
    ),
    tables.GOLD_DIM_CUSTOMERS: _both(
        _carried(tables.SILVER_PARENT_CUSTOMERS, unified.CUSTOMER_COLUMNS),
        _carried(tables.GOLD_SB_DIM_CUSTOMERS, unified.CUSTOMER_COLUMNS, customer_code="customer_id"),
    ),
    tables.GOLD_DIM_PRODUCTS: _both(
        _carried(tables.SILVER_PARENT_PRODUCTS, unified.PRODUCT_COLUMNS),
        _carried(tables.GOLD_SB_DIM_PRODUCTS, unified.PRODUCT_COLUMNS),
    ),
    tables.GOLD_DIM_GROSS_PRICE: _both(
        _carried(tables.SILVER_PARENT_GROSS_PRICE, unified.PRICE_COLUMNS),
        _carried(tables.GOLD_SB_DIM_GROSS_PRICE, unified.PRICE_COLUMNS),
    ),
    tables.GOLD_SB_FACT_ORDERS: _carried(
        tables.SILVER_ORDERS,
        orders.GOLD_COLUMNS,
        date="order_date",
        customer_code="customer_id",
        sold_quantity="order_qty",
    ),
    tables.GOLD_FACT_ORDERS: _both(
        _carried(tables.SILVER_PARENT_FACT_ORDERS, FACT), _carried(tables.GOLD_SB_FACT_ORDERS, FACT)
    ),
    tables.GOLD_DIM_DATE: {
        column: [(tables.GOLD_FACT_ORDERS, "date")] for column in ("month_start_date", *DATE_ATTRIBUTES)
    },
    tables.GOLD_VW_FACT_ORDERS_ENRICHED: {
        **_carried(tables.GOLD_FACT_ORDERS, FACT),
        **_carried(tables.GOLD_DIM_DATE, DATE_ATTRIBUTES),
        **_carried(tables.GOLD_DIM_CUSTOMERS, unified.CUSTOMER_COLUMNS[1:]),
        **_carried(tables.GOLD_DIM_PRODUCTS, unified.PRODUCT_COLUMNS[1:]),
        "price_inr": [(tables.GOLD_DIM_GROSS_PRICE, "price_inr")],
        "total_amount_inr": [
            (tables.GOLD_FACT_ORDERS, "sold_quantity"),
            (tables.GOLD_DIM_GROSS_PRICE, "price_inr"),
        ],
    },
}

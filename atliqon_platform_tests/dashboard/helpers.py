"""Small enriched-view rows for the dashboard's tests, as Arrow (the view's types) or pandas."""

import datetime as dt

import pyarrow as pa

from atliqon_platform.dashboard.view import orders_frame

VIEW_SCHEMA = pa.schema(
    [
        ("date", pa.date32()),
        ("customer_code", pa.string()),
        ("year", pa.int32()),
        ("month_name", pa.string()),
        ("quarter", pa.string()),
        ("customer", pa.string()),
        ("channel", pa.string()),
        ("division", pa.string()),
        ("category", pa.string()),
        ("product", pa.string()),
        ("variant", pa.string()),
        ("sold_quantity", pa.float64()),
        ("price_inr", pa.float64()),
        ("total_amount_inr", pa.float64()),
    ]
)


def row(month: str, customer: str, channel: str, product: str, quantity: float, price: float | None, **other):
    """One view row for ``month`` (YYYY-MM); category and variant default from the product."""
    date = dt.date.fromisoformat(f"{month}-01")
    values = {
        "date": date,
        "customer_code": f"code-{customer}",
        "year": date.year,
        "month_name": date.strftime("%B"),
        "quarter": f"Q{(date.month - 1) // 3 + 1}",
        "customer": customer,
        "channel": channel,
        "division": other.pop("division", "Sports"),
        "category": other.pop("category", f"{product} category"),
        "product": product,
        "variant": other.pop("variant", f"{product} 60g"),
        "sold_quantity": quantity,
        "price_inr": price,
        "total_amount_inr": None if price is None else quantity * price,
    }
    assert not other, f"unknown columns {other}"
    return values


SAMPLE = [
    row("2024-01", "Alpha", "Retailer", "Bat", 10, 100.0, category="Cricket"),
    row("2025-01", "Alpha", "Retailer", "Bat", 5, 120.0, category="Cricket"),
    row("2024-02", "Beta", "Direct", "Ball", 100, 2.5, category="Cricket", variant="Small"),
    row("2025-07", "Gamma", "Acquisition", "Bar", 40, 50.0, category="Protein Bars"),
    row("2025-08", "Gamma", "Acquisition", "Bar", 2, None, category="Protein Bars"),
]


def view_table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=VIEW_SCHEMA)


def orders(rows: list[dict] = SAMPLE):
    return orders_frame(view_table(rows))

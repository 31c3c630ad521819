"""The dashboard's figures as pure functions of the view's rows: no I/O, no layout.

Definitions are REFERENCE_RULES.md §5: revenue is the sum of total_amount_inr, unique
customers the distinct customer_code, average selling price the plain mean of price_inr
over the rows (rows without a price are left out of the mean, as SQL's AVG does).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass

import pandas as pd

REVENUE = "total_amount_inr"
QUANTITY = "sold_quantity"
PRICE = "price_inr"
UNKNOWN_LABEL = "(none)"  # a slice whose attribute is null, named rather than dropped

# A filter's name -> the view column it selects on.
FILTER_COLUMNS = {
    "year": "year",
    "quarter": "quarter",
    "month": "month_name",
    "channel": "channel",
    "category": "category",
}
MONTHS = list(calendar.month_name)[1:]


@dataclass(frozen=True)
class Filters:
    """The slicers; None means "All"."""

    year: int | None = None
    quarter: str | None = None
    month: str | None = None
    channel: str | None = None
    category: str | None = None

    def apply(self, orders: pd.DataFrame) -> pd.DataFrame:
        """The rows that every set slicer selects."""
        keep = pd.Series(True, index=orders.index)
        for name, column in FILTER_COLUMNS.items():
            value = getattr(self, name)
            if value is not None:
                keep &= orders[column] == value
        return orders[keep]


@dataclass(frozen=True)
class Counters:
    total_revenue: float
    total_quantity: float
    unique_customers: int
    average_selling_price: float


def counters(orders: pd.DataFrame) -> Counters:
    """The four headline figures; all zero when there are no rows."""
    price = orders[PRICE].mean()
    return Counters(
        total_revenue=float(orders[REVENUE].sum()),
        total_quantity=float(orders[QUANTITY].sum()),
        unique_customers=int(orders["customer_code"].nunique()),
        average_selling_price=0.0 if pd.isna(price) else float(price),
    )


def filter_options(orders: pd.DataFrame) -> dict[str, list]:
    """The values each slicer offers, in their natural order (months in calendar order)."""
    options = {
        name: sorted(orders[column].dropna().unique().tolist()) for name, column in FILTER_COLUMNS.items()
    }
    options["month"] = [month for month in MONTHS if month in set(options["month"])]
    return options


def _revenue_by(orders: pd.DataFrame, column: str) -> pd.DataFrame:
    return (
        orders.assign(**{column: orders[column].fillna(UNKNOWN_LABEL)})
        .groupby(column, as_index=False)[REVENUE]
        .sum()
        .rename(columns={REVENUE: "revenue"})
    )


def top_by_revenue(orders: pd.DataFrame, column: str, count: int = 10) -> pd.DataFrame:
    """The ``count`` values of ``column`` with the most revenue, largest first (ties by name)."""
    return (
        _revenue_by(orders, column)
        .sort_values(["revenue", column], ascending=[False, True])
        .head(count)
        .reset_index(drop=True)
    )


def revenue_share_by_channel(orders: pd.DataFrame) -> pd.DataFrame:
    """Revenue and its share of the total per channel, largest first."""
    channels = top_by_revenue(orders, "channel", count=len(orders))
    total = channels["revenue"].sum()
    return channels.assign(share=channels["revenue"] / total if total else 0.0)


def monthly_revenue(orders: pd.DataFrame) -> pd.DataFrame:
    """Revenue per calendar month (year and month, not months of different years summed)."""
    return (
        orders.groupby("date", as_index=False)[REVENUE]
        .sum()
        .rename(columns={"date": "month", REVENUE: "revenue"})
        .sort_values("month")
        .reset_index(drop=True)
    )


def customers_by_revenue(orders: pd.DataFrame) -> pd.DataFrame:
    """Every customer with quantity and revenue, largest revenue first."""
    named = orders.assign(customer=orders["customer"].fillna(UNKNOWN_LABEL))
    return (
        named.groupby(["customer_code", "customer"], as_index=False)[[QUANTITY, REVENUE]]
        .sum()
        .rename(columns={QUANTITY: "quantity", REVENUE: "revenue"})
        .sort_values(["revenue", "customer"], ascending=[False, True])
        .reset_index(drop=True)
    )


def price_vs_quantity(orders: pd.DataFrame) -> pd.DataFrame:
    """One point per product: its average selling price (as the counter), quantity sold, revenue."""
    named = {column: orders[column].fillna(UNKNOWN_LABEL) for column in ("division", "category")}
    return (
        orders.dropna(subset=[PRICE])
        .assign(**named)
        .groupby(["product", "division", "category"], as_index=False)
        .agg(price=(PRICE, "mean"), quantity=(QUANTITY, "sum"), revenue=(REVENUE, "sum"))
        .sort_values(["division", "product"])
        .reset_index(drop=True)
    )


_UNITS = ((1e3, "K"), (1e6, "M"), (1e9, "B"), (1e12, "T"))


def compact_number(value: float) -> str:
    """Large figures the way the reference shows them: 105.34B, 34.13M, 7.50K; small ones as is."""
    magnitude = abs(value)
    for index, (unit, suffix) in reversed(list(enumerate(_UNITS))):
        if magnitude >= unit:
            scaled = round(magnitude / unit, 2)
            if scaled >= 1000 and index + 1 < len(_UNITS):  # 999.999M is 1.00B, not 1000.00M
                unit, suffix = _UNITS[index + 1]
                scaled = round(magnitude / unit, 2)
            return f"{'-' if value < 0 else ''}{scaled:.2f}{suffix}"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def formatted_counters(figures: Counters) -> dict[str, str]:
    """The counters' texts as the reference prints them: 105.34B, 34.13M, 54, 4043.16."""
    return {
        "total_revenue": compact_number(figures.total_revenue),
        "total_quantity": compact_number(figures.total_quantity),
        "unique_customers": str(figures.unique_customers),
        "average_selling_price": f"{figures.average_selling_price:.2f}",
    }

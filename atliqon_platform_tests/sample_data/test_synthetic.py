import csv
import io
import re

import pytest

from atliqon_platform.sample_data.synthetic import Scale, generate

SCALE = Scale(days=5, lines_per_day=400, customers=20)
MONTH_FORMATS = {
    "yyyy-MM-dd": r"\d{4}-\d{2}-\d{2}",
    "yyyy/MM/dd": r"\d{4}/\d{2}/\d{2}",
    "dd/MM/yyyy": r"\d{2}/\d{2}/\d{4}",
    "dd-MM-yyyy": r"\d{2}-\d{2}-\d{4}",
}
"""The four month formats of the real gross_price file (REFERENCE_RULES.md §2)."""


def files(seed: int, scale: Scale = SCALE) -> dict[str, bytes]:
    written: dict[str, bytes] = {}
    generate(written.__setitem__, scale, seed=seed)
    return written


def rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def test_same_seed_gives_identical_bytes_and_another_seed_differs():
    assert files(3) == files(3)
    assert (
        files(3)["orders/landing/orders_2025_07_01.csv"] != files(4)["orders/landing/orders_2025_07_01.csv"]
    )


def test_more_days_keep_every_line_already_written():
    """A demo seeded again with more days, into a new month (`atliqon seed --demo --days 32` after
    31), changes no line it had: its monthly files gain the new month's lines only, so the figures
    already loaded stay (they moved by a tenth before)."""
    fewer, more = files(3), files(3, Scale(days=40, lines_per_day=400, customers=20))
    assert set(fewer) < set(more)
    for key, data in fewer.items():
        assert set(data.splitlines()) <= set(more[key].splitlines()), key
    assert len(more["gross_price/gross_price.csv"].splitlines()) > len(
        fewer["gross_price/gross_price.csv"].splitlines()
    )


@pytest.mark.parametrize("scale", [SCALE, Scale()], ids=["small", "the demo's"])
def test_every_defect_kind_is_present(scale):
    written = files(3, scale)
    customers = rows(written["customers/customers.csv"])
    assert len({tuple(row.values()) for row in customers}) < len(customers)  # exact duplicates
    assert any(row["customer_name"] != row["customer_name"].strip() for row in customers)
    assert any(row["customer_name"].islower() for row in customers)
    assert any(row["city"] in ("Bengalore", "Hyderbad", "NewDelhi", "Hyderabadd") for row in customers)
    assert any(row["city"] == "" for row in customers)
    products = rows(written["products/products.csv"])
    assert len(products) > len({row["product_id"] for row in products})
    assert any("Protien" in row["product_name"] for row in products)
    assert any(row["category"].islower() for row in products)
    assert any(not row["product_id"].isdigit() for row in products)
    prices = rows(written["gross_price/gross_price.csv"])
    months = {row["month"] for row in prices}
    for name, shape in MONTH_FORMATS.items():
        assert any(re.fullmatch(shape, month) for month in months), f"no gross-price month as {name}"
    assert any(row["gross_price"].startswith("-") for row in prices)
    assert any(row["gross_price"] in ("unknown", "not_available") for row in prices)
    assert any(row["product_id"] == "88888888" for row in prices)
    orders = [row for key, data in written.items() if key.startswith("orders/") for row in rows(data)]
    dates = [row["order_placement_date"] for row in orders]
    assert any(date.startswith(("Tuesday,", "Wednesday,")) for date in dates)
    assert any(date[4] == "/" for date in dates) and any(date[2] == "-" for date in dates)
    assert any(date[2] == "/" for date in dates)
    assert any(row["order_qty"] == "" for row in orders)
    assert any(row["order_qty"].endswith(".0") for row in orders)
    assert any(not row["customer_id"].isdigit() for row in orders)
    assert any(row["product_id"] == "99999999" for row in orders)
    lines = [tuple(row.values()) for row in orders]
    assert len(set(lines)) < len(lines)  # exact duplicates
    same_but_date = {(row["order_id"], row["product_id"], row["order_qty"]) for row in orders}
    assert len(same_but_date) < len(set(lines))  # duplicates differing only in date format

"""A seeded generator of both companies' files, with every defect of REFERENCE_RULES.md §2.

Each day's order file is generated from its own random stream (seed and day), so a file
is the same whatever the scale of the rest, and nothing but one day's file is ever held in
memory: ten million lines stream to disk a file at a time. The monthly files' lines come from
streams of their own too (product and month, the parent's month): a demo seeded again with more
days keeps every earlier line, and so the figures already loaded.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tqdm import tqdm

from atliqon_platform.sources import order_file_key

Writer = Callable[[str, bytes], None]

CITIES = ("Bengaluru", "Hyderabad", "New Delhi")
CITY_TYPOS = ("Bengalore", "Bengaluruu", "Hyderabadd", "Hyderbad", "NewDelhi", "NewDheli", "NewDelhee")
BRANDS = ("FitFuel", "ZenAthlete", "PrimeFuel", "MacroBite", "PowerSnack", "Recovery", "StaminaX")
SUFFIXES = ("Market", "Foods", "Nutrition", "Store", "Hub")
PRODUCT_LINES = (
    ("Energy Bar Choco Fudge", "energy bars", ("60g", "40g", "25g")),
    ("Protien Bar Peanut Crunch", "protien bars", ("45g", "55g", "65g")),
    ("Granola Crunch Honey Almond", "granola & cereals", ("400g", "300g", "200g")),
    ("Greek Yogurt Pro Vanilla", "recovery dairy", ("200g", "120g", "80g")),
    ("Oats Cookie Bites ChocoChip", "healthy snacks", ("500g", "350g", "180g")),
    ("Electrolyte Mix Lemon-Lime", "electrolyte mix", ("30 Sachets", "15 Sachets", "5 Sachets")),
)
PARENT_CHANNELS = (
    ("Retailer", "Brick & Mortar"),
    ("Direct", "E-Commerce"),
    ("Distributor", "Brick & Mortar"),
)


@dataclass(frozen=True)
class Scale:
    start: dt.date = dt.date(2025, 7, 1)
    days: int = 30
    customers: int = 30
    products: int = 18
    lines_per_day: int = 300
    parent_customers: int = 6
    parent_products: int = 40


def _csv(header: str, lines: list[str]) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


def _customer_ids(scale: Scale) -> list[str]:
    return [str(789000 + index) for index in range(1, scale.customers + 1)]


def _product_ids(scale: Scale) -> list[str]:
    return [str(25890000 + index) for index in range(1, scale.products + 1)]


def customers_file(scale: Scale, rng: random.Random) -> bytes:
    """Duplicates, stray spaces, mixed case, city typos and blank cities."""
    lines = []
    for index, customer_id in enumerate(_customer_ids(scale)):
        name = f"{BRANDS[index % len(BRANDS)]} {SUFFIXES[index % len(SUFFIXES)]}"
        if index % 4 == 1:
            name = f" {name.lower()} "
        city = CITIES[index % 3]
        if index % 5 == 2:
            city = CITY_TYPOS[index % len(CITY_TYPOS)]
        elif index % 9 == 4:
            city = ""
        lines.append(f"{customer_id},{name},{city}")
    lines += rng.sample(lines, k=max(1, len(lines) // 10))  # exact duplicate rows
    return _csv("customer_id,customer_name,city", lines)


def products_file(scale: Scale, rng: random.Random) -> bytes:
    """Duplicates, lower-case categories, 'Protien', and one non-numeric id."""
    lines = []
    for index, product_id in enumerate(_product_ids(scale)):
        name, category, sizes = PRODUCT_LINES[index % len(PRODUCT_LINES)]
        size = sizes[(index // len(PRODUCT_LINES)) % len(sizes)]
        edition = "" if index < 18 else f" Edition {index // 18}"
        shown_id = "XYZ123" if index == 13 else product_id
        lines.append(f"SportsBar {name}{edition} ({size}),{shown_id},{category}")
    lines += rng.sample(lines, k=max(1, len(lines) // 10))
    return _csv("product_name,product_id,category", lines)


def _stream(seed: int, *names: object) -> random.Random:
    """The random stream of one thing the files hold (a product's month, a day...)."""
    return random.Random("-".join(map(str, (seed, *names))))


def gross_price_file(scale: Scale, seed: int) -> bytes:
    """Four month formats, negative and non-numeric prices, unknown product ids: each kind placed
    by the line's product and month, so that from four products up every kind is there, whatever
    the seed."""
    formats = ("%Y-%m-%d", "%Y/%m/%d", "%d/%m/%Y", "%d-%m-%Y")
    lines = []
    for index, product_id in enumerate([*_product_ids(scale), "88888888"]):
        base = _stream(seed, "gross_price", product_id).randint(50, 500)
        for number, month in enumerate(_months(scale)):
            place = index + number
            price = str(base + _stream(seed, "gross_price", product_id, month).randint(0, 5))
            defect = place % 16
            if defect == 1:
                price = f"-{price}"
            elif defect == 2:
                price = "unknown"
            elif defect == 4:
                price = "not_available"
            lines.append(f"{product_id},{month.strftime(formats[place % 4])},{price}")
    return _csv("product_id,month,gross_price", lines)


def _days(scale: Scale) -> list[dt.date]:
    return [scale.start + dt.timedelta(days=offset) for offset in range(scale.days)]


def _months(scale: Scale) -> list[dt.date]:
    return sorted({dt.date(day.year, day.month, 1) for day in _days(scale)})


def _order_lines(scale: Scale, rng: random.Random, day: dt.date) -> Iterator[str]:
    """One day's lines, without end: weekday dates mostly, other formats, nulls, decimals,
    bad ids, exact duplicates, and the same line again in another date format."""
    customers, products = _customer_ids(scale), _product_ids(scale)
    spelled = f'"{day:%A, %B %d, %Y}"'
    formats = (spelled, spelled, spelled, f"{day:%Y/%m/%d}", f"{day:%d-%m-%Y}", f"{day:%d/%m/%Y}")
    previous = ""
    for line in itertools.count():
        roll = rng.random()
        if previous and roll < 0.05:
            yield previous  # exact duplicate
            continue
        customer = rng.choice(customers) if rng.random() > 0.01 else "CUST-X"
        product = rng.choice(products) if rng.random() > 0.01 else "99999999"
        quantity = "" if 0.9 < roll < 0.95 else f"{rng.randint(10, 500)}.0"
        order_id = f"F{day:%b}{customer[-4:]}{line // 5:05d}".upper()
        previous = f"{order_id},{rng.choice(formats)},{customer},{product},{quantity}\n"
        yield previous
        if 0.5 < roll < 0.53:  # the same line again in another date format
            yield f"{order_id},{day:%d-%m-%Y},{customer},{product},{quantity}\n"


def orders_file(scale: Scale, seed: int, day: dt.date) -> bytes:
    """One day's file of exactly ``scale.lines_per_day`` lines, so a user sizes it like their data."""
    rng = _stream(seed, day)
    out = io.StringIO()
    out.write("order_id,order_placement_date,customer_id,product_id,order_qty\n")
    out.writelines(itertools.islice(_order_lines(scale, rng, day), scale.lines_per_day))
    return out.getvalue().encode()


def parent_files(scale: Scale, seed: int) -> dict[str, bytes]:
    """The parent's clean exports for the months the child's days cover."""
    customer_codes = [f"7000{2000 + index}" for index in range(scale.parent_customers)]
    product_codes = [f"PRD{index:07d}" for index in range(scale.parent_products)]
    months = _months(scale)
    customers = []
    for index, code in enumerate(customer_codes):
        channel, platform = PARENT_CHANNELS[index % len(PARENT_CHANNELS)]
        customers.append(f"{code},Parent Customer {index},India,{platform},{channel}")
    products = [f"{code},Sports,Gear,Product {code},Standard" for code in product_codes]
    prices = [
        f"{code},{_stream(seed, 'parent_price', code, year).randint(100, 5000)},{year}"
        for year in sorted({month.year for month in months})
        for code in product_codes
    ]
    facts = []
    for month in months:
        rng = _stream(seed, "parent_facts", month)
        facts += [
            f"{month:%Y-%m-%d},{product},{customer},{rng.randint(10, 1000)}"
            for customer in customer_codes
            for product in product_codes
        ]
    return {
        "parent/full_load/dim_customers.csv": _csv(
            "customer_code,customer,market,platform,channel", customers
        ),
        "parent/full_load/dim_products.csv": _csv("product_code,division,category,product,variant", products),
        "parent/full_load/dim_gross_price.csv": _csv("product_code,price_inr,year", prices),
        "parent/full_load/fact_orders.csv": _csv("date,product_code,customer_code,sold_quantity", facts),
    }


def generate(write: Writer, scale: Scale, seed: int = 7, progress: bool = False) -> int:
    """Write every file through ``write(key, data)``; returns the number of order lines."""
    rng = random.Random(seed)
    write("customers/customers.csv", customers_file(scale, rng))
    write("products/products.csv", products_file(scale, rng))
    write("gross_price/gross_price.csv", gross_price_file(scale, seed))
    for key, data in parent_files(scale, seed).items():
        write(key, data)
    lines = 0
    for day in tqdm(_days(scale), desc="order files", unit="day", disable=not progress):
        data = orders_file(scale, seed, day)
        lines += data.count(b"\n") - 1
        write(order_file_key(day), data)
    return lines

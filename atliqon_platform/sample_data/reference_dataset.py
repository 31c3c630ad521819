"""Copy the real dataset (a folder laid out like shared/data/fmcg) into the landing zone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

from tqdm import tqdm

from atliqon_platform.resources.landing_zone import LandingZoneResource
from atliqon_platform.sources import order_file_day, parent_increment_key


class NotAReferenceDataset(FileNotFoundError):
    """The folder given is not laid out like shared/data/fmcg."""


def _planned_copies(root: Path, until: dt.date | None, parent_increment: bool) -> Iterator[tuple[Path, str]]:
    parent, child = root / "1_parent_company", root / "2_child_company"
    for name in ("dim_customers", "dim_products", "dim_gross_price", "fact_orders"):
        yield parent / "full_load" / f"{name}.csv", f"parent/full_load/{name}.csv"
    for source in ("customers", "products", "gross_price"):
        for path in sorted((child / "full_load" / source).glob("*.csv")):
            yield path, f"{source}/{path.name}"
    order_files = [
        *(child / "full_load" / "orders" / "landing").glob("orders_*.csv"),
        *(child / "incremental_load" / "orders").glob("orders_*.csv"),
    ]
    for path in sorted(order_files, key=lambda item: item.name):
        key = f"orders/landing/{path.name}"
        if until is None or order_file_day(key) <= until:
            yield path, key
    if parent_increment:
        increment = parent / "incremental_load" / "fact_orders.csv"
        first_day = dt.date.fromisoformat(increment.read_text().splitlines()[1].split(",")[0])
        yield increment, parent_increment_key(first_day)


def copy_reference_dataset(
    root: Path,
    landing: LandingZoneResource,
    until: dt.date | None = None,
    parent_increment: bool = False,
    progress: bool = False,
) -> list[str]:
    """Copy the files into the landing zone; returns the keys written."""
    if not (root / "2_child_company").is_dir() or not (root / "1_parent_company").is_dir():
        raise NotAReferenceDataset(
            f"{root} is not laid out like the reference dataset: it needs "
            "1_parent_company/ and 2_child_company/ (see shared/data/fmcg/README.md)"
        )
    copies = list(_planned_copies(root, until, parent_increment))
    for path, key in tqdm(copies, desc="seeding landing zone", unit="file", disable=not progress):
        landing.write(key, path.read_bytes())
    return [key for _, key in copies]

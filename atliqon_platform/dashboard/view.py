"""Reading ``gold.vw_fact_orders_enriched`` where the lake is, once per Delta version.

The dashboard filters in memory: the view is small (about 100k rows), so each new Delta
version is read once with delta-rs and every request after that only checks the version.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable
from deltalake.exceptions import DeltaError, TableNotFoundError

from atliqon_platform.dashboard.kpis import filter_options

# The view's columns the dashboard uses; the others (codes of dims, market...) stay on disk.
DASHBOARD_COLUMNS = [
    "date",
    "customer_code",
    "year",
    "month_name",
    "quarter",
    "customer",
    "channel",
    "division",
    "category",
    "product",
    "variant",
    "sold_quantity",
    "price_inr",
    "total_amount_inr",
]


TERMINAL_COLOURS = re.compile(r"\x1b\[[0-9;]*m")


class ViewUnavailable(RuntimeError):
    """The view cannot be shown; ``no_data`` when it is missing or empty (the pipeline has not run)."""

    def __init__(self, message: str, no_data: bool) -> None:
        super().__init__(TERMINAL_COLOURS.sub("", message))  # delta-rs colours its errors' causes
        self.no_data = no_data


@dataclass(frozen=True)
class LoadedView:
    """One Delta version of the view, in memory, with the slicers' values."""

    uri: str
    version: int
    updated_at: dt.datetime | None  # None when the view has no data files
    orders: pd.DataFrame
    options: dict[str, list] = field(repr=False)

    @property
    def updated_text(self) -> str:
        when = "never" if self.updated_at is None else f"{self.updated_at:%Y-%m-%d %H:%M:%S} UTC"
        return f"Data last updated {when} (Delta version {self.version})"


def orders_frame(view: pa.Table) -> pd.DataFrame:
    """The view's Arrow rows as the frame the figures are computed on (dates as timestamps)."""
    return view.select(DASHBOARD_COLUMNS).to_pandas(date_as_object=False)


def _open(uri: str, storage_options: dict[str, str] | None) -> DeltaTable:
    try:
        return DeltaTable(uri, storage_options=storage_options)
    except TableNotFoundError:
        raise ViewUnavailable(f"the view {uri} does not exist yet", no_data=True) from None
    except (DeltaError, OSError) as error:
        raise ViewUnavailable(f"cannot read the view {uri}: {error}", no_data=False) from None


def _load(table: DeltaTable, uri: str) -> LoadedView:
    try:
        orders = orders_frame(table.to_pyarrow_table(columns=DASHBOARD_COLUMNS))
        # Each write adds the files of the months it rewrote, so the newest file is the last
        # update (a compaction by weekly_table_maintenance counts as one). The commit history,
        # DeltaTable.history, hung against moto's S3 server here; this needs no further request.
        written = pc.max(pa.table(table.get_add_actions()).column("modification_time")).as_py()
    except (DeltaError, OSError) as error:
        raise ViewUnavailable(f"cannot read the view {uri}: {error}", no_data=False) from None
    return LoadedView(
        uri=uri,
        version=table.version(),
        updated_at=None if written is None else dt.datetime.fromtimestamp(written / 1000, tz=dt.UTC),
        orders=orders,
        options=filter_options(orders),
    )


def read_view(uri: str, storage_options: dict[str, str] | None = None) -> LoadedView:
    """The view's latest version, empty or not; raises ViewUnavailable when it is missing or unreadable."""
    return _load(_open(uri, storage_options or None), uri)


class EnrichedView:
    """The view at ``uri``, reloaded only when its Delta version changes. Thread-safe."""

    def __init__(self, uri: str, storage_options: dict[str, str] | None = None) -> None:
        self.uri = uri
        self._options = storage_options or None
        self._loaded: LoadedView | None = None
        self._lock = threading.Lock()

    def latest_version(self) -> int | None:
        """The view's latest Delta version (its log read, not its rows); None when unreadable."""
        try:
            return _open(self.uri, self._options).version()
        except ViewUnavailable:
            return None

    def current(self) -> LoadedView:
        """The latest version, from memory when unchanged; ViewUnavailable when there is nothing to show."""
        table = _open(self.uri, self._options)
        with self._lock:
            if self._loaded is None or self._loaded.version != table.version():
                self._loaded = _load(table, self.uri)
            loaded = self._loaded
        if loaded.orders.empty:
            raise ViewUnavailable(f"the view {self.uri} has no rows (version {loaded.version})", no_data=True)
        return loaded

"""The Dash app: the reference dashboard's layout, slicers and callbacks over the enriched view.

The page is rendered whole on load (no callback round trip for the first paint); slicers
and the customers table's paging then answer from the view held in memory. An open page follows
new versions of the view by itself (every ``refresh_seconds``), keeping its selection.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import Any

import pandas as pd
from dash import Dash, Input, Output, State, ctx, dcc, html, no_update

from atliqon_platform.dashboard.charts import CHARTS, COUNTERS, NO_ROWS, Rendered, render
from atliqon_platform.dashboard.kpis import Filters, compact_number, customers_by_revenue
from atliqon_platform.dashboard.view import EnrichedView, LoadedView, ViewUnavailable
from atliqon_platform.tables import GOLD_VW_FACT_ORDERS_ENRICHED

CUSTOMERS_PER_PAGE = 10
SLICERS = {
    "year": "Year",
    "quarter": "Quarter",
    "month": "Month",
    "channel": "Channel",
    "category": "Category",
}
NO_DATA_TITLE = "No data yet: run the pipeline"


class Renderings:
    """Rendered selections of the view's current version: a repeated selection (the unfiltered
    first page above all) costs nothing; a new Delta version starts afresh."""

    def __init__(self, view: EnrichedView, size: int = 64) -> None:
        self._view = view
        self._size = size
        self._version: int | None = None
        self._cache: dict[Filters, Rendered] = {}
        self._lock = threading.Lock()

    def get(self, filters: Filters) -> tuple[LoadedView, Rendered]:
        """The current view and its rendering under ``filters``; raises ViewUnavailable."""
        loaded = self._view.current()
        with self._lock:
            if self._version != loaded.version:
                self._version, self._cache = loaded.version, {}
            rendered = self._cache.get(filters)
        if rendered is None:
            rendered = render(filters.apply(loaded.orders))
            with self._lock:
                if self._version == loaded.version:
                    if len(self._cache) >= self._size:
                        self._cache.pop(next(iter(self._cache)))  # the oldest selection
                    self._cache[filters] = rendered
        return loaded, rendered


def customer_rows(orders: pd.DataFrame, page: int) -> tuple[list, str, int]:
    """One page of the customers table, its "page i of n" label, and the page clamped to range."""
    customers = customers_by_revenue(orders)
    pages = max(1, math.ceil(len(customers) / CUSTOMERS_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    shown = customers.iloc[page * CUSTOMERS_PER_PAGE : (page + 1) * CUSTOMERS_PER_PAGE]
    rows = [
        html.Tr(
            [
                html.Td(row.customer),
                html.Td(compact_number(row.quantity)),
                html.Td(compact_number(row.revenue)),
            ]
        )
        for row in shown.itertuples()
    ]
    if not rows:
        rows = [html.Tr(html.Td(NO_ROWS, colSpan=3, className="empty"))]
    return rows, f"Page {page + 1} of {pages} ({len(customers)} customers)", page


def _options(values: list) -> list[dict[str, Any]]:
    return [{"label": str(value), "value": value} for value in values]


def _slicer(name: str, label: str, values: list) -> html.Div:
    return html.Div(
        [
            html.Label(label, htmlFor=f"filter-{name}"),
            dcc.Dropdown(
                id=f"filter-{name}",
                options=_options(values),
                placeholder="All",
                clearable=True,
                searchable=False,
            ),
        ],
        className="slicer",
    )


def counter_id(name: str) -> str:
    """A counter's element id: ``total_revenue`` is shown in ``#total-revenue``."""
    return name.replace("_", "-")


def _counter(name: str, label: str, value: str) -> html.Div:
    return html.Div(
        [html.Div(label, className="counter-label"), html.Div(value, id=name)], className="counter"
    )


def _card(child, wide: bool = False) -> html.Div:
    return html.Div(child, className="card wide" if wide else "card")


def _refresh(interval_id: str, refresh_seconds: float) -> dcc.Interval:
    return dcc.Interval(id=interval_id, interval=int(refresh_seconds * 1000))


def dashboard_page(loaded: LoadedView, everything: Rendered, refresh_seconds: float) -> html.Div:
    rows, page_label, _ = customer_rows(loaded.orders, 0)
    graph = {
        name: dcc.Graph(id=name, figure=figure, config={"displaylogo": False})
        for name, figure in everything.figures.items()
    }
    return html.Div(
        [
            html.Header(
                [
                    html.H1("Performance Overview"),
                    html.Div(loaded.updated_text, id="last-updated", className="updated"),
                ]
            ),
            html.Div(
                [_slicer(name, label, loaded.options[name]) for name, label in SLICERS.items()],
                className="slicers",
            ),
            html.Div(
                [
                    _counter(counter_id(name), label, everything.counters[name])
                    for name, label in COUNTERS.items()
                ],
                className="counters",
            ),
            html.Div(everything.status, id="status", className="status"),
            html.Div([_card(graph["top-products"]), _card(graph["channel-share"])], className="row"),
            html.Div([_card(graph["monthly-trend"], wide=True)], className="row"),
            html.Div(
                [
                    _card(
                        [
                            html.H2("All Customers by Revenue"),
                            html.Table(
                                [
                                    html.Thead(
                                        html.Tr(
                                            [html.Th("Customer"), html.Th("Quantity"), html.Th("Revenue")]
                                        )
                                    ),
                                    html.Tbody(rows, id="customers-rows"),
                                ],
                                className="customers",
                            ),
                            html.Div(
                                [
                                    html.Button("‹ Previous", id="customers-previous"),
                                    html.Span(page_label, id="customers-page-label"),
                                    html.Button("Next ›", id="customers-next"),
                                ],
                                className="pager",
                            ),
                            dcc.Store(id="customers-page", data=0),
                        ]
                    ),
                    _card(graph["top-variants"]),
                ],
                className="row",
            ),
            html.Div([_card(graph["price-quantity"], wide=True)], className="row"),
            _refresh("refresh", refresh_seconds),
            dcc.Store(id="shown-version", data=loaded.version),
        ],
        className="dashboard",
    )


def no_data_page(problem: ViewUnavailable, refresh_seconds: float) -> html.Div:
    """What a reader sees before the pipeline has built the view, or when it cannot be read; it
    reloads itself once there is something to show."""
    if problem.no_data:
        title = NO_DATA_TITLE
        advice = (
            f"Materialise {GOLD_VW_FACT_ORDERS_ENRICHED.asset_key.to_user_string()} in the Dagster UI "
            "(atliqon up), or run `atliqon backfill`, then reload this page."
        )
    else:
        title = "The dashboard cannot read its data"
        advice = "Check the lake settings (ATLIQON_ENV, ATLIQON_LAKE_URI, AWS variables), then reload."
    return html.Div(
        [
            html.H1(title),
            html.P(str(problem), id="problem"),
            html.P(advice),
            _refresh("refresh-no-data", refresh_seconds),
            dcc.Location(id="location", refresh=True),
        ],
        id="no-data",
        className="no-data",
    )


def selection(values: Sequence[Any]) -> Filters:
    """The slicers' values, in SLICERS order, as filters."""
    return Filters(**dict(zip(SLICERS, values, strict=True)))


def page(renderings: Renderings, refresh_seconds: float) -> html.Div:
    try:
        return dashboard_page(*renderings.get(Filters()), refresh_seconds)
    except ViewUnavailable as problem:
        return no_data_page(problem, refresh_seconds)


def create_app(view: EnrichedView, refresh_seconds: float) -> Dash:
    """The dashboard over ``view``; its layout is rebuilt on each page load, and an open page
    looks for a new version of the view every ``refresh_seconds``."""
    app = Dash(
        __name__,
        title="Atliqon · Performance Overview",
        update_title=None,
        suppress_callback_exceptions=True,  # the no-data page has none of the callbacks' components
    )
    renderings = Renderings(view)
    app.layout = lambda: page(renderings, refresh_seconds)
    slicers = [Input(f"filter-{name}", "value") for name in SLICERS]
    new_version = Input("shown-version", "data")

    @app.callback(
        Output("shown-version", "data"),
        Input("refresh", "n_intervals"),
        State("shown-version", "data"),
        prevent_initial_call=True,
    )
    def follow_the_view(_, shown: int):
        """Only a new version goes on to redraw the page (a check reads the log, not the rows)."""
        latest = view.latest_version()
        return no_update if latest in (None, shown) else latest

    @app.callback(
        Output("location", "href"),
        Input("refresh-no-data", "n_intervals"),
        prevent_initial_call=True,
    )
    def reload_once_there_are_rows(_):
        try:
            view.current()
        except ViewUnavailable:
            return no_update
        return "/"

    @app.callback(
        [Output(counter_id(name), "children") for name in COUNTERS]
        + [Output(name, "figure") for name in CHARTS]
        + [Output("status", "children"), Output("last-updated", "children")]
        + [Output(f"filter-{name}", "options") for name in SLICERS],
        slicers + [new_version],
        prevent_initial_call=True,
    )
    def update_figures(*values):
        *slicer_values, _ = values
        try:
            loaded, shown = renderings.get(selection(slicer_values))
        except ViewUnavailable as problem:
            return (
                [no_update] * (len(COUNTERS) + len(CHARTS))
                + [str(problem)]
                + [no_update] * (1 + len(SLICERS))
            )
        return (
            [shown.counters[name] for name in COUNTERS]
            + [shown.figures[name] for name in CHARTS]
            + [shown.status, loaded.updated_text]
            + [_options(loaded.options[name]) for name in SLICERS]
        )

    @app.callback(
        Output("customers-rows", "children"),
        Output("customers-page-label", "children"),
        Output("customers-page", "data"),
        slicers + [Input("customers-previous", "n_clicks"), Input("customers-next", "n_clicks"), new_version],
        State("customers-page", "data"),
        prevent_initial_call=True,
    )
    def update_customers(*values):
        *slicer_values, _previous, _next, _, page_number = values
        step = {"customers-previous": -1, "customers-next": 1, "shown-version": 0}.get(ctx.triggered_id)
        # A new selection starts at the first page; new data keeps the reader's page.
        page_number = 0 if step is None else page_number + step
        try:
            loaded = view.current()
        except ViewUnavailable as problem:
            return no_update, str(problem), no_update
        return customer_rows(selection(slicer_values).apply(loaded.orders), page_number)

    return app

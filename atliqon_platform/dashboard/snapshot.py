"""The static snapshot materialised with the view: one self-contained HTML page of KPIs and charts.

A reader of the Dagster UI opens it without starting anything (the app's plotly.js bundle and
stylesheet are inlined, so it works offline); the live dashboard adds the slicers.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from atliqon_platform.dashboard.charts import COUNTERS, render
from atliqon_platform.dashboard.kpis import compact_number, customers_by_revenue
from atliqon_platform.dashboard.view import LoadedView

ASSETS = Path(__file__).parent / "assets"
STYLESHEET = ASSETS / "dashboard.css"
PLOTLY_JS = ASSETS / "plotly-basic.min.js"  # the bundle the live app serves; a quarter of the full one


def kpi_markdown(loaded: LoadedView) -> str:
    """The four counters as a Markdown table, for the materialisation's metadata."""
    texts = render(loaded.orders).counters
    rows = (f"| {label} | {texts[name]} |" for name, label in COUNTERS.items())
    return "\n".join(["| KPI | value |", "|---|---|", *rows])


def _customers_card(loaded: LoadedView) -> str:
    rows = "".join(
        f"<tr><td>{escape(str(row.customer))}</td><td>{compact_number(row.quantity)}</td>"
        f"<td>{compact_number(row.revenue)}</td></tr>"
        for row in customers_by_revenue(loaded.orders).itertuples()
    )
    return (
        '<div class="card scroll"><h2>All Customers by Revenue</h2><table class="customers">'
        f"<thead><tr><th>Customer</th><th>Quantity</th><th>Revenue</th></tr></thead>{rows}</table></div>"
    )


def snapshot_html(loaded: LoadedView) -> str:
    """The whole view's counters and every chart of the dashboard, as one HTML document."""
    shown = render(loaded.orders)
    counters = "".join(
        f'<div class="counter"><div class="counter-label">{label}</div>'
        f"<div>{shown.counters[name]}</div></div>"
        for name, label in COUNTERS.items()
    )
    charts = {
        name: figure.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})
        for name, figure in shown.figures.items()
    }
    updated = (
        f"Snapshot of {escape(loaded.uri)}. {escape(loaded.updated_text)}. "
        "Slicers: run <code>atliqon dashboard</code>."
    )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        "<title>Atliqon · Performance Overview (snapshot)</title>"
        f"<style>{STYLESHEET.read_text()}</style><script>{PLOTLY_JS.read_text()}</script></head>"
        "<body><div class='dashboard'>"
        f'<header><h1>Performance Overview</h1><div class="updated">{updated}</div></header>'
        f'<div class="counters">{counters}</div><div class="status">{escape(shown.status)}</div>'
        f'<div class="row"><div class="card">{charts["top-products"]}</div>'
        f'<div class="card">{charts["channel-share"]}</div></div>'
        f'<div class="row"><div class="card wide">{charts["monthly-trend"]}</div></div>'
        f'<div class="row">{_customers_card(loaded)}<div class="card">{charts["top-variants"]}</div></div>'
        f'<div class="row"><div class="card wide">{charts["price-quantity"]}</div></div>'
        "</div></body></html>"
    )

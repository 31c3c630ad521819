"""Plotly figures of the dashboard's views, shared by the live app and the static snapshot.

Each takes the frame a ``kpis`` function returns; an empty frame gives an empty chart that
says why, so a slicer combination without rows never shows a stale or broken chart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from atliqon_platform.dashboard.kpis import (
    compact_number,
    counters,
    formatted_counters,
    monthly_revenue,
    price_vs_quantity,
    revenue_share_by_channel,
    top_by_revenue,
)

TEAL = "#45c4b0"
# Fixed per channel, so a channel keeps its colour whatever the slicers select.
CHANNEL_COLOURS = {"Retailer": "#45c4b0", "Direct": "#f0612e", "Acquisition": "#12a37a", "Unknown": "#e84a5f"}
PALETTE = qualitative.Plotly + qualitative.D3 + qualitative.Pastel
NO_ROWS = "No rows for these filters"


def _labels(values: pd.Series) -> list[str]:
    return [compact_number(value) for value in values]


def _styled(figure: go.Figure, title: str, height: int) -> go.Figure:
    figure.update_layout(
        template="none",  # styled here instead: the default template is most of each figure's JSON
        title={"text": title, "x": 0.01, "font": {"size": 15}},
        height=height,
        margin={"l": 10, "r": 40, "t": 45, "b": 10},
        paper_bgcolor="white",
        plot_bgcolor="white",
        font={"family": "Segoe UI, Helvetica, Arial, sans-serif", "size": 12, "color": "#2a3f5f"},
    )
    axes = {"gridcolor": "#eeeeee", "zerolinecolor": "#cccccc", "ticks": "", "automargin": True}
    figure.update_xaxes(**axes, title_standoff=12)
    figure.update_yaxes(**axes, title_standoff=12)
    return figure


def _empty(title: str, height: int) -> go.Figure:
    figure = go.Figure()
    figure.add_annotation(text=NO_ROWS, showarrow=False, font={"size": 14, "color": "#777777"})
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return _styled(figure, title, height)


def top_products_chart(top: pd.DataFrame) -> go.Figure:
    """Horizontal bars, largest at the top."""
    title, height = "Top 10 Products by Revenue", 380
    if top.empty:
        return _empty(title, height)
    figure = go.Figure(
        go.Bar(
            x=top["revenue"],
            y=top["product"],
            orientation="h",
            marker_color=TEAL,
            text=_labels(top["revenue"]),
            textposition="inside",
            insidetextanchor="end",
            hovertemplate="%{y}<br>Revenue %{x:,.0f}<extra></extra>",
        )
    )
    figure.update_yaxes(autorange="reversed", title="Product")
    figure.update_xaxes(title="Revenue")
    return _styled(figure, title, height)


def channel_share_chart(shares: pd.DataFrame) -> go.Figure:
    title, height = "Revenue Share by Channel", 380
    if shares.empty or shares["revenue"].sum() == 0:
        return _empty(title, height)
    figure = go.Figure(
        go.Pie(
            labels=shares["channel"],
            values=shares["revenue"],
            hole=0.45,
            sort=False,
            marker={"colors": [CHANNEL_COLOURS.get(channel, "#6b7fd7") for channel in shares["channel"]]},
            texttemplate="%{percent:.2%}",
            hovertemplate="%{label}<br>Revenue %{value:,.0f}<br>%{percent:.2%}<extra></extra>",
        )
    )
    figure.update_layout(legend={"orientation": "h", "y": -0.05, "title": {"text": "Channel"}})
    return _styled(figure, title, height)


def monthly_trend_chart(monthly: pd.DataFrame) -> go.Figure:
    """Revenue per year and month, as an area line with each month's figure."""
    title, height = "Monthly Revenue Trend", 340
    if monthly.empty:
        return _empty(title, height)
    figure = go.Figure(
        go.Scatter(
            x=monthly["month"],
            y=monthly["revenue"],
            mode="lines+markers+text",
            fill="tozeroy",
            line={"color": TEAL},
            fillcolor="rgba(69, 196, 176, 0.45)",
            text=_labels(monthly["revenue"]),
            textposition=_off_the_axes(len(monthly)),
            cliponaxis=False,
            hovertemplate="%{x|%B %Y}<br>Revenue %{y:,.0f}<extra></extra>",
        )
    )
    figure.update_xaxes(title="Month", tickformat="%b %Y", dtick="M1", tickangle=-45)
    figure.update_yaxes(title="Revenue", range=[0, 1.15 * max(monthly["revenue"].max(), 1)])
    return _styled(figure, title, height)


def _off_the_axes(points: int) -> list[str]:
    """Each figure above its point; the first and last leaning inwards, off the axes."""
    positions = ["top center"] * points
    if points > 1:
        positions[0], positions[-1] = "top right", "top left"
    return positions


def top_variants_chart(top: pd.DataFrame) -> go.Figure:
    title, height = "Top 10 Variants by Revenue", 380
    if top.empty:
        return _empty(title, height)
    figure = go.Figure(
        go.Bar(
            x=top["variant"],
            y=top["revenue"],
            marker_color=TEAL,
            text=_labels(top["revenue"]),
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{x}<br>Revenue %{y:,.0f}<extra></extra>",
        )
    )
    figure.update_xaxes(title="Variant", type="category")
    figure.update_yaxes(title="Revenue")
    return _styled(figure, title, height)


def price_quantity_chart(points: pd.DataFrame) -> go.Figure:
    """One bubble per product, sized by revenue, coloured by division (one trace: fast to draw),
    and a key of the divisions' colours (a trace each without points, not clickable: hiding one
    would hide nothing of the bubbles)."""
    title, height = "Product Price vs Quantity", 420
    if points.empty:
        return _empty(title, height)
    divisions = sorted(points["division"].unique())
    colour = {division: PALETTE[index % len(PALETTE)] for index, division in enumerate(divisions)}
    figure = go.Figure(
        go.Scatter(
            x=points["price"],
            y=points["quantity"],
            mode="markers",
            customdata=points[["product", "category", "division", "revenue"]],
            marker={
                "size": points["revenue"].clip(lower=0),
                "sizemode": "area",
                "sizeref": 2.0 * points["revenue"].max() / 40**2 or 1.0,
                "sizemin": 3,
                "color": points["division"].map(colour),
                "opacity": 0.7,
            },
            hovertemplate=(
                "%{customdata[0]}<br>%{customdata[2]} / %{customdata[1]}<br>Average price %{x:,.2f}"
                "<br>Quantity %{y:,.0f}<br>Revenue %{customdata[3]:,.0f}<extra></extra>"
            ),
            showlegend=False,
        )
    )
    for division in divisions:
        figure.add_trace(
            go.Scatter(x=[None], y=[None], mode="markers", name=division, marker={"color": colour[division]})
        )
    figure.update_layout(legend={"title": {"text": "Division"}, "itemclick": False, "itemdoubleclick": False})
    figure.update_xaxes(title="Average selling price (INR)")
    figure.update_yaxes(title="Sold quantity")
    return _styled(figure, title, height)


COUNTERS = {
    "total_revenue": "Total Revenue",
    "total_quantity": "Total Quantity Sold",
    "unique_customers": "Unique Customers",
    "average_selling_price": "Average Selling Price",
}
# A chart's element id -> (the figures it plots, the figure that plots them).
CHARTS: dict[str, tuple[Callable[[pd.DataFrame], pd.DataFrame], Callable[[pd.DataFrame], go.Figure]]] = {
    "top-products": (partial(top_by_revenue, column="product"), top_products_chart),
    "channel-share": (revenue_share_by_channel, channel_share_chart),
    "monthly-trend": (monthly_revenue, monthly_trend_chart),
    "top-variants": (partial(top_by_revenue, column="variant"), top_variants_chart),
    "price-quantity": (price_vs_quantity, price_quantity_chart),
}


@dataclass(frozen=True)
class Rendered:
    """Everything the page shows for one selection of rows, as texts and figures."""

    counters: dict[str, str]
    figures: dict[str, go.Figure]
    status: str


def render(orders: pd.DataFrame) -> Rendered:
    """Counters, charts and a status line for the selected rows (zeros and empty charts when none)."""
    status = f"{NO_ROWS}: every figure is zero." if orders.empty else f"{len(orders):,} order rows selected."
    return Rendered(
        counters=formatted_counters(counters(orders)),
        figures={name: chart(figures(orders)) for name, (figures, chart) in CHARTS.items()},
        status=status,
    )

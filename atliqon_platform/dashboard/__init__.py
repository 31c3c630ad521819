"""The business dashboard on ``gold.vw_fact_orders_enriched`` (issue #6).

- ``kpis``: the figures, as pure functions of the view's rows (REFERENCE_RULES.md §5);
- ``view``: reads the Delta view where the lake is, once per Delta version;
- ``charts``: Plotly figures of those figures, shared by the live app and the snapshot;
- ``app``: the Dash app served by ``atliqon dashboard``;
- ``snapshot``: the static HTML page materialised with the view for the Dagster UI.
"""

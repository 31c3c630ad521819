"""Reading the view from a real Delta table: missing, empty, cached per version, reloaded on a new one."""

import pytest
from deltalake import write_deltalake

from atliqon_platform.dashboard.view import EnrichedView, ViewUnavailable
from atliqon_platform.settings import delta_storage_options
from atliqon_platform_tests.dashboard.helpers import SAMPLE, view_table


def test_missing_view_is_no_data_yet(tmp_path):
    with pytest.raises(ViewUnavailable, match="does not exist yet") as raised:
        EnrichedView(str(tmp_path / "gold" / "vw_fact_orders_enriched")).current()
    assert raised.value.no_data


def test_a_view_that_cannot_be_read_says_why_without_terminal_colours(s3_bucket):
    """delta-rs colours the cause in its errors: the dashboard's page showed the escape codes."""
    uri = "s3://no-such-bucket/lake/gold/vw_fact_orders_enriched"
    with pytest.raises(ViewUnavailable, match="cannot read the view") as raised:
        EnrichedView(uri, delta_storage_options(uri)).current()
    assert not raised.value.no_data
    assert "\x1b[" not in str(raised.value), repr(str(raised.value))


def test_empty_view_is_no_data_yet(tmp_path):
    uri = str(tmp_path / "view")
    write_deltalake(uri, view_table([]))
    with pytest.raises(ViewUnavailable, match="has no rows") as raised:
        EnrichedView(uri).current()
    assert raised.value.no_data


def test_loaded_once_per_delta_version(tmp_path):
    uri = str(tmp_path / "view")
    write_deltalake(uri, view_table(SAMPLE[:2]))
    view = EnrichedView(uri)
    first = view.current()
    assert (first.version, len(first.orders)) == (0, 2)
    assert view.current() is first  # same version: nothing read again
    assert first.updated_text.startswith("Data last updated ") and "(Delta version 0)" in first.updated_text
    write_deltalake(uri, view_table(SAMPLE), mode="overwrite")
    second = view.current()
    assert (second.version, len(second.orders)) == (1, len(SAMPLE))
    assert second.options["channel"] == ["Acquisition", "Direct", "Retailer"]

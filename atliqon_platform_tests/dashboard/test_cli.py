"""``atliqon dashboard`` as a user starts it, when it cannot serve."""

from atliqon_platform_tests.test_cli import refuses_a_port_in_use


def test_port_in_use_is_one_clear_line(tmp_path):
    refuses_a_port_in_use("dashboard", "the dashboard", "ATLIQON_DASHBOARD_PORT", tmp_path)

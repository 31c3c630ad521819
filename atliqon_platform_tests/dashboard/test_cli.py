"""``atliqon dashboard`` as a user starts it, when it cannot serve."""

import socket

from atliqon_platform_tests.test_cli import atliqon


def test_port_in_use_is_one_clear_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = atliqon("dashboard", "--port", str(port), home=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"atliqon: configuration error: cannot serve the dashboard on 127.0.0.1:{port} "
        "(Address already in use); choose another --port or ATLIQON_DASHBOARD_PORT"
    )

"""A Spark Connect session held by a process of its own across a change of its server.

A process holds either a local or a Spark Connect session, never both, and the tests' process
holds the local one.
"""

from __future__ import annotations

import subprocess
import sys

# A session on the server at argv[1], one query, then (after a line on stdin) another.
_TWO_QUERIES = """
import sys
from atliqon_platform.resources.spark import start_spark_session
session = start_spark_session({"spark.remote": sys.argv[1]})
print(session.range(3).count(), flush=True)
sys.stdin.readline()
session.range(3).count()
"""


def hold_session(url: str) -> subprocess.Popen:
    """A process whose Spark Connect session on ``url`` has run a query."""
    session = subprocess.Popen(
        [sys.executable, "-c", _TWO_QUERIES, url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert session.stdout.readline() == "3\n", session.communicate(timeout=60)
    return session


def last_error(session: subprocess.Popen) -> str:
    """The last line the session's second query leaves on stderr; it must fail."""
    _, errors = session.communicate("go on\n", timeout=120)
    assert session.returncode != 0, "the second query did not fail"
    return errors.strip().splitlines()[-1]

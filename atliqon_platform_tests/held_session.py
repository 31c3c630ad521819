"""A Spark Connect session held by a process of its own across a change of its server.

A process holds either a local or a Spark Connect session, never both, and the tests' process
holds the local one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# A run's session on the engine its home's settings name, one query, then (after a line on
# stdin) another.
_TWO_QUERIES = """
import sys
from atliqon_platform.resources.spark import SparkSessionResource
from atliqon_platform.settings import load_settings
session = SparkSessionResource.for_settings(load_settings()).spark_session
print(session.range(3).count(), flush=True)
sys.stdin.readline()
session.range(3).count()
"""


def start_session(home: Path, **environment: str) -> subprocess.Popen:
    """A process making a session as a run of ``home`` makes it (with ``environment`` added); it
    prints 3 once its first query has run."""
    return subprocess.Popen(
        [sys.executable, "-c", _TWO_QUERIES],
        env={**os.environ, "ATLIQON_HOME": str(home), **environment},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def hold_session(home: Path) -> subprocess.Popen:
    """A process whose session, made as a run of ``home`` makes it, has run a query."""
    session = start_session(home)
    assert session.stdout.readline() == "3\n", session.communicate(timeout=60)
    return session


def last_error(session: subprocess.Popen) -> str:
    """The last line the session's second query leaves on stderr; it must fail, and at once: a
    session on `atliqon up`'s engine does not wait out the client's ten minutes of retries."""
    try:
        _, errors = session.communicate("go on\n", timeout=120)
    finally:
        session.kill()  # a session still retrying must not outlive the test
    assert session.returncode != 0, "the second query did not fail"
    return errors.strip().splitlines()[-1]

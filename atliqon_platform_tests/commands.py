"""Running the ``atliqon`` command as a user does: in its own process, with its own environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from atliqon_platform.lifecycle import start_in_own_group, stop_group


def environment(home: Path, **env: str) -> dict[str, str]:
    return {**os.environ, "ATLIQON_HOME": str(home), "ATLIQON_SPARK_MASTER": "local[2]", **env}


def atliqon(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess:
    """``atliqon args`` to its end."""
    return subprocess.run(
        [sys.executable, "-m", "atliqon_platform.cli", *args],
        env=environment(home, **env),
        capture_output=True,
        text=True,
        timeout=900,
    )


def start_atliqon(*args: str, home: Path, log: Path, **env: str) -> subprocess.Popen:
    """A long-running command (``up``, ``dashboard``) in its own process group."""
    return start_module("atliqon_platform.cli", *args, home=home, log=log, **env)


def start_module(module: str, *args: str, home: Path, log: Path, **env: str) -> subprocess.Popen:
    """``python -m module args`` on ``home``, in its own process group, its output in ``log``."""
    return start_in_own_group([sys.executable, "-m", module, *args], environment(home, **env), log)


def wait_for_http(url: str, process: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    """Ctrl-C as a user would; the command stops its own children."""
    stop_group(process.pid, grace=60, signum=signal.SIGINT)
    process.wait()

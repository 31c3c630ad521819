"""``atliqon up`` leaves nothing behind: whatever stops it, no process it started outlives it
by more than a few seconds, and a run it interrupts is a line, not a trace; a second
``atliqon up`` on the same home refuses; an existing home's dagster.yaml gets the platform's
settings; the output carries no deprecation warning.

Real processes throughout: the CLI in a pseudo-terminal, real signals and keystrokes, the
webserver's GraphQL API, the Dagster instance on disk."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import termios
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import yaml
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

from atliqon_platform import cli
from atliqon_platform.lifecycle import (
    GRACE_SECONDS,
    ProcessGroup,
    ServiceExited,
    group_members,
    held_home,
    start_in_own_group,
    stop_group,
    stop_signals_at_their_defaults,
)
from atliqon_platform.resources.delta_lake import ENGINE_LOG_LINE
from atliqon_platform.spark_connect_server import free_port
from atliqon_platform_tests.commands import (
    atliqon,
    environment,
    start_atliqon,
    stop,
    wait_for_http,
)
from atliqon_platform_tests.instances import home_settings, run_left_in_progress
from atliqon_platform_tests.tiny import copy_home

# After `atliqon up` has ended, how long a process it started may still be alive.
FEW_SECONDS = 8
# An instance configuration of an older version: no `nux` section, a setting and a comment of the user's.
OLD_DAGSTER_YAML = """\
telemetry:
  enabled: false
# raised for my laptop
run_queue:
  max_concurrent_runs: 3
"""


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> Path:
    """A home with two small days of demo data, so that a run starts at once and ends soon:
    seeded once with the user's command, each test starting ``up`` on a copy of it."""
    home = tmp_path_factory.mktemp("seeded")
    result = atliqon("seed", "--demo", "--days", "2", "--lines-per-day", "20", home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    return home


def _as_a_terminals_job() -> None:
    """In the child: the terminal becomes its controlling terminal, and SIGHUP, SIGINT and SIGTERM
    act as a shell in a terminal window leaves them, even when the tests run under ``nohup`` or
    in a background job (which ignore SIGHUP or SIGINT, and a command started there rightly
    keeps ignoring them)."""
    stop_signals_at_their_defaults()
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """A pseudo-terminal that ``atliqon up`` runs in, as in a user's terminal window; what it
    shows goes to a log file."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.master, self._terminal = pty.openpty()
        self._reading = threading.Event()
        self._reading.set()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        with self.log.open("wb") as out:
            while self._reading.is_set():
                if select.select([self.master], [], [], 0.2)[0]:
                    try:
                        out.write(os.read(self.master, 65536))
                    except OSError:  # every process has closed the terminal
                        return
                    out.flush()

    def run(self, *args: str, home: Path, **env: str) -> subprocess.Popen:
        """The command as the terminal's session leader and foreground job."""
        process = subprocess.Popen(
            [sys.executable, "-m", "atliqon_platform.cli", *args],
            env=environment(home, **env),
            stdin=self._terminal,
            stdout=self._terminal,
            stderr=self._terminal,
            start_new_session=True,
            preexec_fn=_as_a_terminals_job,
        )
        os.close(self._terminal)
        return process

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def close(self) -> None:
        """Close the window: the kernel hangs up the terminal's session."""
        if self._reading.is_set():
            self._reading.clear()
            self._reader.join()
            os.close(self.master)


def started_processes(process: subprocess.Popen, home: Path, log: Path) -> list[psutil.Process]:
    """Every process ``atliqon up`` has started, once a run in flight has its Spark session: the
    deepest tree it makes (the warm engine's JVM and Python workers, code server, gRPC server,
    run worker and its engine client)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text(errors="replace")[-3000:]
        # Once `atliqon up` has opened the instance: two processes creating its SQLite storage at
        # once can both stamp its schema version, which then fails every later open.
        if "Dagster UI on" in log.read_text(errors="replace"):
            with DagsterInstance.from_config(str(home / "dagster")) as instance:
                in_flight = instance.get_runs(filters=RunsFilter(statuses=[DagsterRunStatus.STARTED]))
                connected = any(
                    entry.user_message.startswith(ENGINE_LOG_LINE)
                    for run in in_flight
                    for entry in instance.all_logs(run.run_id)
                )
            if connected:
                return psutil.Process(process.pid).children(recursive=True)
        time.sleep(0.5)
    output = log.read_text(errors="replace")[-3000:]
    pytest.fail(f"no run was in flight on the engine within 300 s:\n{output}")


def alive(processes: list[psutil.Process]) -> list[str]:
    """The processes still running (a zombie has ended: it only waits to be reaped)."""
    running = []
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                running.append(f"{process.pid} {' '.join(process.cmdline())[:150]}")
    return running


def kill(processes: list[psutil.Process]) -> None:
    """After a failed test: leave nothing behind on a machine shared with others."""
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.kill()


STOPS = {
    "Ctrl-C": lambda terminal, pid: terminal.type(b"\x03"),
    "SIGTERM": lambda terminal, pid: os.kill(pid, signal.SIGTERM),
    "SIGHUP": lambda terminal, pid: os.kill(pid, signal.SIGHUP),
    "closed terminal": lambda terminal, pid: terminal.close(),
    "SIGKILL": lambda terminal, pid: os.kill(pid, signal.SIGKILL),
}


STARTED_WITH_SIGNALS_IGNORED = """
import os, signal
from atliqon_platform.lifecycle import Stopped, raise_on_stop_signals
for signum in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM):
    signal.signal(signum, signal.SIG_IGN)
raise_on_stop_signals()
for signum in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM):
    try:
        os.kill(os.getpid(), signum)
        print(signal.Signals(signum).name, "carried on")
    except Stopped as stop:
        print(stop, "stopped")
"""


def test_sigterm_stops_up_even_when_it_started_ignored_and_hup_and_int_stay_ignored():
    """A background job started by a process that ran Dagster inherits SIGTERM ignored (Dagster
    gives SIGTERM SIGINT's handler, SIG_IGN in a background job): ``up`` must stop on it all
    the same, while nohup's SIGHUP and a background job's SIGINT keep being ignored."""
    result = subprocess.run(
        [sys.executable, "-c", STARTED_WITH_SIGNALS_IGNORED], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.split("\n")[:3] == ["SIGHUP carried on", "SIGINT carried on", "SIGTERM stopped"], (
        result.stdout + result.stderr
    )


def test_a_process_started_while_sigterm_is_ignored_still_stops_on_it(tmp_path):
    """As the tests' Spark Connect server is started: from a process that ran Dagster in a
    background job, where SIGTERM is ignored (and a JVM started so ignored it, until SIGKILL)."""
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        process = start_in_own_group(["sleep", "60"], dict(os.environ), tmp_path / "sleep.log")
    finally:
        signal.signal(signal.SIGTERM, previous)
    killed = stop_group(process.pid, grace=5)
    assert killed == []
    assert process.wait(timeout=5) == -signal.SIGTERM


@pytest.mark.parametrize("how", STOPS)
def test_no_process_started_by_up_outlives_it(seeded, tmp_path, how):
    home = copy_home(seeded, tmp_path / "home", with_lake=False)
    terminal = Terminal(tmp_path / "up.log")
    process = terminal.run("up", "--port", str(free_port()), home=home, ATLIQON_SENSOR_INTERVAL_SECONDS="2")
    tree: list[psutil.Process] = []
    try:
        tree = started_processes(process, home, terminal.log)
        group = os.getpgid(tree[0].pid)  # theirs, not the terminal's: also holds any started later
        stopped = time.monotonic()
        STOPS[how](terminal, process.pid)
        process.wait(timeout=GRACE_SECONDS + 30)
        ended = time.monotonic()
        while (left := alive([*tree, *group_members(group)])) and time.monotonic() < ended + FEW_SECONDS:
            time.sleep(0.2)
        gone = time.monotonic()
        print(
            f"\n{how}: atliqon up ended after {ended - stopped:.1f} s (exit {process.returncode}), "
            f"the last of its {len(tree)} processes {gone - ended:.1f} s later"
        )
        assert not left, f"alive {FEW_SECONDS} s after atliqon up ended: {left}"
        if how != "SIGKILL":
            assert process.returncode > 128, process.returncode  # stopped by the signal, cleanly
            assert ended - stopped < GRACE_SECONDS + 15
        if how in ("Ctrl-C", "SIGTERM", "SIGHUP"):  # stops after which `atliqon up` can still say
            # Every process ended on the signal, the run in flight too (a run whose client kept
            # retrying the stopped engine was killed after the grace). The run's failure is the
            # stop's: a line says what becomes of it, and no trace of the interruption shows.
            output = terminal.log.read_text(errors="replace")
            assert "killed after" not in output, output[-3000:]
            assert ENGINE_LOG_LINE in output  # what the run said before the stop was shown
            interrupted = r"atliqon up: run \S+ of \w+ was interrupted, and is marked failed; it runs again"
            assert re.search(interrupted, output), output[-3000:]
            assert "Traceback" not in output and "Stack Trace" not in output, output[-3000:]
    finally:
        terminal.close()
        kill([*tree, psutil.Process(process.pid)] if process.poll() is None else tree)


@pytest.fixture(scope="module")
def running_up(seeded, tmp_path_factory) -> Iterator[dict]:
    """`atliqon up` on a home that an older version prepared, with a run whose process was killed
    (automation off: no run needed)."""
    home = copy_home(seeded, tmp_path_factory.mktemp("lifecycle"), with_lake=False)
    left = run_left_in_progress(home / "dagster")  # its test instance writes a dagster.yaml: replaced
    (home / "dagster" / "dagster.yaml").write_text(OLD_DAGSTER_YAML)
    port, log = free_port(), home / "up.log"
    process = start_atliqon("up", "--port", str(port), home=home, log=log, ATLIQON_AUTOMATION="off")
    try:
        wait_for_http(f"http://127.0.0.1:{port}/server_info", process, log)
        yield {"home": home, "url": f"http://127.0.0.1:{port}", "process": process, "log": log, "left": left}
    finally:
        stop(process)


def test_a_second_up_on_the_same_home_refuses_naming_the_running_one(running_up):
    started = time.monotonic()
    second = atliqon("up", "--port", str(free_port()), home=running_up["home"], ATLIQON_AUTOMATION="off")
    print(f"\nrefused in {time.monotonic() - started:.1f} s: {second.stderr.strip()}")
    assert second.returncode == 2
    assert "atliqon up is already running" in second.stderr
    assert f"pid {running_up['process'].pid}" in second.stderr
    assert running_up["url"] in second.stderr
    assert running_up["process"].poll() is None  # the first one is untouched


def test_an_existing_home_opens_the_ui_without_the_sign_up_dialog(running_up):
    request = urllib.request.Request(
        f"{running_up['url']}/graphql",
        data=json.dumps({"query": "{ shouldShowNux }"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert json.load(response)["data"]["shouldShowNux"] is False
    dagster_home = running_up["home"] / "dagster"
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        assert instance.nux_enabled is False
    text = (dagster_home / "dagster.yaml").read_text()
    assert text.startswith(OLD_DAGSTER_YAML)  # the user's settings and comments are kept
    assert yaml.safe_load(text)["run_queue"] == {"max_concurrent_runs": 3}
    assert yaml.safe_load(text)["python_logs"] == {"python_log_level": "INFO"}  # added to it


def test_up_marks_failed_a_run_left_in_progress_by_a_killed_process(running_up):
    """Else Dagster's automation counts its assets as being written for ever, and the order sensor
    waits for the dims it was writing. Its daemon then reads that failure for a retry, although
    it never ran on this home before (whose first look would else start past it)."""
    output = running_up["log"].read_text(errors="replace")
    assert f"atliqon up: marked failed, run {running_up['left']} of waiting: its process (pid " in output
    deadline = time.monotonic() + 120
    with DagsterInstance.from_config(str(running_up["home"] / "dagster")) as instance:
        run = instance.get_run_by_id(running_up["left"])
        assert run.status == DagsterRunStatus.FAILURE
        [failure] = instance.all_logs(run.run_id, of_type=DagsterEventType.RUN_FAILURE)
        assert "Marked failed when atliqon up started" in failure.message
        # The test's run has no code location to run again in, so the retry goes no further.
        while not any(
            "unable to retry" in entry.message
            for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.ENGINE_EVENT)
        ):
            assert time.monotonic() < deadline, "the daemon did not read the run's failure in 120 s"
            time.sleep(1)


def test_up_says_when_the_ui_answers_in_plain_text_and_no_deprecation_warning_nor_daemon_routine(running_up):
    with DagsterInstance.from_config(str(running_up["home"] / "dagster")) as instance:
        deadline = time.monotonic() + 60
        while not instance.get_daemon_heartbeats():  # it has started, and said so at INFO
            assert time.monotonic() < deadline, "the daemon did not beat within 60 s"
            time.sleep(1)
    ready = f"Dagster UI ready on {running_up['url']}"  # said within a second of the UI answering
    while ready not in (output := running_up["log"].read_text(errors="replace")):
        assert time.monotonic() < deadline, output[-3000:]
        time.sleep(0.5)
    assert "\x1b[" not in output  # a file: no terminal's colours
    assert "Instance is configured with the following daemons" not in output
    assert "deprecat" not in output.lower()
    assert "supersed" not in output.lower()


# An engine whose stop takes a while, and which takes calls meanwhile without answering them.
ENGINE_STOPPING_SLOWLY = """
import signal, socket, sys, time
server = socket.create_server(("127.0.0.1", 0))
server.settimeout(0.1)
stopping, unanswered = [], []
signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(time.monotonic()))
print(server.getsockname()[1], flush=True)
while not stopping or time.monotonic() < stopping[0] + 2:
    try:
        connection, _ = server.accept()
    except TimeoutError:
        continue
    if stopping:
        unanswered.append(connection)
    else:
        connection.sendall(b"ok")
        connection.close()
"""
# A run interrupted by SIGTERM, which calls its engine as it records its failure.
RUN_CALLING_ITS_ENGINE_ON_SIGTERM = """
import signal, socket, sys, time
def interrupted(signum, frame):
    time.sleep(0.3)
    with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as connection:
        sys.exit(0 if connection.recv(2) == b"ok" else 1)
signal.signal(signal.SIGTERM, interrupted)
print("ready", flush=True)
while True:
    time.sleep(1)
"""


def test_the_engine_is_stopped_after_the_runs_that_call_it(tmp_path):
    """`atliqon up` stops its warm engine last (stop_group's ``last``): a run interrupted mid-step
    still calls the engine as it ends, and an engine stopping at the same moment left it hung."""
    engine = subprocess.Popen(
        [sys.executable, "-c", ENGINE_STOPPING_SLOWLY],
        stdout=subprocess.PIPE,
        text=True,
        process_group=0,
    )
    port = engine.stdout.readline().strip()
    run = subprocess.Popen(
        [sys.executable, "-c", RUN_CALLING_ITS_ENGINE_ON_SIGTERM, port],
        stdout=subprocess.PIPE,
        text=True,
        process_group=engine.pid,
    )
    try:
        assert run.stdout.readline().strip() == "ready"
        killed = stop_group(engine.pid, grace=5, last=engine.pid)
        assert killed == []
        assert run.wait(timeout=5) == 0, "the run's last call to its engine went unanswered"
        assert engine.wait(timeout=5) == 0
    finally:
        kill([psutil.Process(process.pid) for process in (engine, run) if process.poll() is None])


FAILING_STARTS = {
    # The daemon exits during the pause after the start: up stops before it starts the next.
    "exits as it starts": ("raise SystemExit(3)", False),
    # The daemon exits while the start is waited for: up stops without waiting it out.
    "never listens": ("import time; time.sleep(600)", True),
}


@pytest.mark.parametrize(("engine", "waited_for"), FAILING_STARTS.values(), ids=FAILING_STARTS.keys())
def test_a_service_that_exits_while_the_engine_restarts_stops_up_naming_it(
    tmp_path, monkeypatch, engine, waited_for
):
    """While `atliqon up` restarts its engine (starts that fail and the pauses between them take
    minutes at worst), it watches the UI and the daemon as ever: one that exits stops it at once,
    named, as at any other time, rather than after the engine's last start."""
    failing_start = [sys.executable, "-c", engine]
    monkeypatch.setattr(cli, "server_launch", lambda settings, port: (failing_start, dict(os.environ)))
    settings = home_settings(tmp_path)
    settings.dagster_home.mkdir(parents=True)
    (tmp_path / "scratch").mkdir()
    with held_home(settings.dagster_home) as lock:
        group = ProcessGroup(tmp_path / "scratch", lock)
        try:
            engine = cli.WarmEngine(settings, group)
            group.start("daemon", [sys.executable, "-c", "import time; time.sleep(2)"])
            with pytest.raises(ServiceExited) as stopped:
                engine.restart()
            still_waited_for = engine.server.poll() is None  # not given up on as a failed start
        finally:
            group.stop()
    assert str(stopped.value) == "the Dagster daemon exited with code 0"
    assert still_waited_for == waited_for

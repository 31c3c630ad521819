"""How ``atliqon up`` starts and stops what it runs, so that nothing it started outlives it.

- Everything it starts (code server, webserver, daemon, the runs and Spark they start) is in
  one process group of its own. Signals from the terminal reach ``atliqon up`` alone, and it
  stops the group: SIGTERM once to each process, which every Dagster process takes as an
  interrupt (a run records its failure), to the warm engine only once the runs that call it
  have ended, then SIGKILL for what is left after a grace period.
- The group's first process is a watcher. It waits on a pipe whose only writer is
  ``atliqon up``: end of file means ``atliqon up`` has gone, even by SIGKILL, and the
  watcher stops the group. Being in the group, it ignores stop signals sent to the group.
- A lock in the Dagster home (``fcntl.flock``), held by every process started, keeps a
  second ``atliqon up`` off an instance whose daemon is still running.
- What the services and their runs print reaches the terminal through ``atliqon up`` (a
  ``Relay``), which stops showing it once a stop signal has come: each run the stop interrupts then
  prints its failure with a trace of the interruption, which is the stop, not an error of the
  run. ``atliqon up`` says in a line what became of each run instead; the UI keeps its events.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import TextIO

import psutil

from atliqon_platform.settings import up_lock

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# How long `atliqon up` waits for a clean stop before SIGKILL: a run interrupted mid-write
# records its failure in a few seconds (4 s measured with a Spark run in flight).
GRACE_SECONDS = 10.0
# The watcher's grace once `atliqon up` has died: shorter, since nobody waits for a clean end
# and nothing may outlive `atliqon up` by more than a few seconds.
ORPHAN_GRACE_SECONDS = 3.0
KILL_SECONDS = 5.0
# How long a stop waits for the last output of the processes to reach the terminal.
RELAY_DRAIN_SECONDS = 2.0


class Stopped(BaseException):
    """A stop signal reached ``atliqon up``; raised from its handler so that cleanup runs (a
    BaseException, as KeyboardInterrupt is, so that no ``except Exception`` swallows it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class HomeInUse(RuntimeError):
    """Another ``atliqon up`` holds this Dagster home; the message names its process."""


class ServiceExited(RuntimeError):
    """A Dagster service ended on its own; ``atliqon up`` stops the others and exits."""


def raise_on_stop_signals() -> None:
    """Turn SIGINT, SIGTERM and SIGHUP into ``Stopped``. SIGHUP or SIGINT ignored when ``atliqon
    up`` started (under nohup, in a background job) stays without effect, through a handler
    that does nothing: a signal ignored would be ignored by every process started, too, and
    Dagster's processes take SIGTERM as they take SIGINT.

    SIGTERM always stops it, as a service manager expects. No shell leaves it ignored, but a
    parent that ran Dagster in a background job may: Dagster gives SIGTERM the handler of
    SIGINT, there SIG_IGN, and a child inherits an ignored signal."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise Stopped(signum)

    def carry_on(signum: int, frame: FrameType | None) -> None:
        pass

    for signum in STOP_SIGNALS:
        ignored = signal.getsignal(signum) is signal.SIG_IGN and signum != signal.SIGTERM
        signal.signal(signum, carry_on if ignored else stop)


def stop_signals_at_their_defaults() -> None:
    """In a child about to exec: SIGINT and SIGTERM at their defaults, as a shell starts a command.

    A child inherits an ignored signal, and a process that ran Dagster in a background job has
    SIGTERM ignored (see raise_on_stop_signals): a JVM started from it ignores SIGTERM, runs no
    shutdown hook, and is stopped only by SIGKILL after the grace."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)


def start_in_own_group(command: Sequence[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """A long-running process in a process group of its own (stopping the group stops all it
    started), taking the stop signals as a shell's command does, its output in ``log``."""
    with log.open("wb") as output:
        return subprocess.Popen(
            command,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=stop_signals_at_their_defaults,
        )


def ignore_stop_signals() -> None:
    """While stopping: a second Ctrl-C must not interrupt the cleanup it asked for."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


def group_members(group: int, exclude: frozenset[int] = frozenset()) -> list[psutil.Process]:
    """Live processes of a process group (zombies have ended: they only wait to be reaped)."""
    members = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            if (
                process.pid not in exclude
                and os.getpgid(process.pid) == group
                and process.status() != psutil.STATUS_ZOMBIE
            ):
                members.append(process)
    return members


def _described(process: psutil.Process) -> str:
    try:
        return f"pid {process.pid} ({' '.join(process.cmdline())[:100]})"
    except psutil.Error:
        return f"pid {process.pid}"


def stop_group(
    group: int,
    grace: float,
    exclude: frozenset[int] = frozenset(),
    signum: int = signal.SIGTERM,
    last: int | None = None,
) -> list[str]:
    """``signum`` to each process of the group, then SIGKILL to whatever is left after ``grace``
    seconds; the processes that needed it, described.

    ``last``: a process that gets ``signum`` only once the rest of the group has ended (or after
    ``grace``). That is the warm engine: an interrupted run still calls it as it records its
    failure and exits. An engine stopping at the same moment failed a call in flight with "Cannot
    call methods on a stopped SparkContext", and once left a run that did not end within the
    grace."""
    if last is not None:
        _signal_until_gone(group, exclude | _process_tree(last), signum, grace)
    left = _signal_until_gone(group, exclude, signum, grace)
    killed = [_described(process) for process in left]
    deadline = time.monotonic() + KILL_SECONDS
    while left and time.monotonic() < deadline:  # bounded: a process may not be ours to kill
        for process in left:
            with contextlib.suppress(psutil.Error):
                process.kill()
        time.sleep(0.1)
        left = group_members(group, exclude)
    return killed


def _process_tree(pid: int) -> frozenset[int]:
    with contextlib.suppress(psutil.Error):
        return frozenset({pid, *(child.pid for child in psutil.Process(pid).children(recursive=True))})
    return frozenset({pid})


def _signal_until_gone(group: int, spared: frozenset[int], signum: int, grace: float) -> list[psutil.Process]:
    """``signum`` once to each member of the group but ``spared`` (a process started meanwhile
    too, such as a run the daemon launched), until they have ended or ``grace`` has passed;
    the members left."""
    signalled: set[int] = set()
    deadline = time.monotonic() + grace
    while (members := group_members(group, spared)) and time.monotonic() < deadline:
        for process in members:
            if process.pid not in signalled:
                with contextlib.suppress(psutil.Error):
                    process.send_signal(signum)
                signalled.add(process.pid)
        time.sleep(0.2)
    return members


def say(message: str, stream: TextIO | None = None) -> None:
    """Print, even once the terminal is gone (a closed terminal makes writes fail)."""
    with contextlib.suppress(OSError, ValueError):
        print(message, file=stream or sys.stdout, flush=True)


class HomeLock:
    """An exclusive lock on a Dagster home, with a note saying which processes hold it."""

    def __init__(self, dagster_home: Path) -> None:
        dagster_home.mkdir(parents=True, exist_ok=True)
        self.path = up_lock(dagster_home)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            raise HomeInUse(self._refusal(dagster_home)) from None
        self.note(pid=os.getpid())

    def note(self, **holder: object) -> None:
        """Record who holds the lock, for the message of a second ``atliqon up`` and for the runs
        that wait for its engine. Rewritten so that a reader never finds it empty or cut: the new
        text over the old, padded with spaces (which JSON ignores), then the file cut to it."""
        data = json.dumps(holder).encode()
        os.pwrite(self.fd, data.ljust(os.fstat(self.fd).st_size), 0)
        os.ftruncate(self.fd, len(data))

    def _refusal(self, dagster_home: Path) -> str:
        try:
            holder = json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            holder = {}
        pid = holder.get("pid")
        if pid is not None and not psutil.pid_exists(pid):
            return (
                f"the processes of an atliqon up that has ended (pid {pid}) are still stopping "
                f"on the Dagster instance {dagster_home}; retry in a few seconds"
            )
        details = [f"pid {pid}"] if pid is not None else []
        details += [f"Dagster UI {holder['ui']}"] if holder.get("ui") else []
        details += [f"daemon pid {holder['daemon']}"] if holder.get("daemon") else []
        return (
            f"atliqon up is already running on the Dagster instance {dagster_home}"
            + (f" ({', '.join(details)})" if details else "")
            + "; stop it first: a second daemon on one instance would run every sensor and schedule twice"
        )

    def close(self) -> None:
        os.close(self.fd)


class Relay:
    """Copies what the group's processes write into a pipe onto one of this process's own
    streams (a file descriptor), until ``mute``."""

    def __init__(self, stream: int) -> None:
        self.stream = stream
        reader, self.writer = os.pipe()  # not inherited: given to each process as its output
        self._lock = threading.Lock()
        self._muted = False
        self._line_open = False  # the last bytes copied did not end a line
        self._thread = threading.Thread(target=self._copy, args=(reader,), name="relay", daemon=True)
        self._thread.start()

    def _copy(self, reader: int) -> None:
        with open(reader, "rb", buffering=0) as pipe:
            while chunk := pipe.read(65536):  # the pipe is read to its end, muted or not
                with self._lock:
                    if not self._muted:
                        self._write(chunk)
                        self._line_open = not chunk.endswith(b"\n")

    def _write(self, data: bytes) -> None:
        while data:
            try:
                data = data[os.write(self.stream, data) :]
            except BlockingIOError:  # a stream another program left non-blocking: wait for room
                select.select([], [self.stream], [], 1.0)
            except OSError:  # the terminal is gone: nothing more can be shown
                self._muted = True
                return

    def mute(self) -> None:
        """Show nothing more; a line cut short is ended, so that what follows starts its own."""
        with self._lock:
            if self._line_open and not self._muted:
                self._write(b"\n")
            self._muted = True

    def close(self) -> None:
        """Once the processes have ended: copy what they printed last, before this one says more."""
        os.close(self.writer)
        self._thread.join(timeout=RELAY_DRAIN_SECONDS)


def _line_by_line(env: dict[str, str] | None) -> dict[str, str]:
    """Python writes a pipe in blocks: a relayed process's lines go out as they are printed."""
    return {**(os.environ if env is None else env), "PYTHONUNBUFFERED": "1"}


class ProcessGroup:
    """The processes ``atliqon up`` starts, in one process group led by a watcher."""

    def __init__(self, scratch: Path, lock: HomeLock) -> None:
        self.lock = lock
        reader, self._writer = os.pipe()  # not inherited: `atliqon up` stays its only writer
        self.watcher = subprocess.Popen(
            [sys.executable, "-m", "atliqon_platform.lifecycle", str(reader), str(scratch)],
            process_group=0,
            stdin=subprocess.DEVNULL,
            pass_fds=(reader, lock.fd),
        )
        os.close(reader)
        self.group = self.watcher.pid
        self.processes: dict[str, subprocess.Popen] = {}
        # Onto this process's standard output and error, which the processes used to inherit.
        self.stdout, self.stderr = Relay(1), Relay(2)

    def start(
        self,
        name: str,
        command: Sequence[str],
        env: dict[str, str] | None = None,
        log: Path | None = None,
    ) -> subprocess.Popen:
        """Start a process in the group (again, under the same name, after it died); it holds
        the home's lock as long as it lives. Its output goes to ``log`` when given, else to
        the terminal through the group's relays (with the runs it starts)."""
        with open(log, "ab") if log else contextlib.nullcontext() as output:
            process = subprocess.Popen(
                command,
                process_group=self.group,
                stdin=subprocess.DEVNULL,
                stdout=output or self.stdout.writer,
                stderr=subprocess.STDOUT if output else self.stderr.writer,
                pass_fds=(self.lock.fd,),
                env=env if output else _line_by_line(env),
            )
        self.processes[name] = process
        return process

    def mute(self) -> None:
        """Show nothing more of what the processes print: a stop signal has come, and what they
        print about it is its consequence. (A service that exits on its own is not muted: its
        last lines say why.)"""
        self.stdout.mute()
        self.stderr.mute()

    def exited(self, besides: str | None = None) -> tuple[str, int] | None:
        """The first service (but ``besides``) that has exited, and its exit code."""
        for name, process in self.processes.items():
            if name != besides and process.poll() is not None:
                return name, process.returncode
        return None

    def stop(self, last: str | None = None) -> None:
        """Stop the whole group, the process named ``last`` after the others (stop_group), then
        let the watcher go (it finds nothing left to stop). Says which processes did not end on
        SIGTERM within the grace: each is a stop that was not clean (a run killed mid-step, a
        service that ignored the signal)."""
        last_pid = self.processes[last].pid if last in self.processes else None
        killed = stop_group(self.group, GRACE_SECONDS, exclude=frozenset({self.watcher.pid}), last=last_pid)
        if killed:
            say(f"atliqon up: killed after {GRACE_SECONDS:.0f} s without stopping: {'; '.join(killed)}")
        for process in self.processes.values():
            process.poll()  # reap
        self.stdout.close()
        self.stderr.close()
        os.close(self._writer)
        try:
            self.watcher.wait(timeout=ORPHAN_GRACE_SECONDS + 5)
        except subprocess.TimeoutExpired:
            self.watcher.kill()
            self.watcher.wait()


def watch(reader: int, scratch: Path) -> None:
    """The watcher: wait until ``atliqon up`` has gone, then stop the rest of the group."""
    ignore_stop_signals()
    while os.read(reader, 1024):
        pass
    stop_group(os.getpgrp(), ORPHAN_GRACE_SECONDS, exclude=frozenset({os.getpid()}))
    shutil.rmtree(scratch, ignore_errors=True)


@contextlib.contextmanager
def held_home(dagster_home: Path) -> Iterator[HomeLock]:
    """The home's lock for this ``atliqon up``; it is released when its last holder exits."""
    lock = HomeLock(dagster_home)
    try:
        yield lock
    finally:
        lock.close()


if __name__ == "__main__":
    watch(int(sys.argv[1]), Path(sys.argv[2]))

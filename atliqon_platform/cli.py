"""The ``atliqon`` command: seed data, start the Dagster UI and daemon, backfill headlessly."""

from __future__ import annotations

import argparse
import datetime as dt
import errno
import logging
import os
import socket
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import yaml
from botocore.exceptions import BotoCoreError, ClientError
from dagster import DagsterInstance

from atliqon_platform.instance.event_log import event_log_storage_config
from atliqon_platform.instance.runs_left_in_progress import (
    after_the_stop,
    fail_runs_left_in_progress,
    runs_in_progress,
)
from atliqon_platform.lifecycle import (
    HomeInUse,
    HomeLock,
    ProcessGroup,
    ServiceExited,
    Stopped,
    held_home,
    ignore_stop_signals,
    raise_on_stop_signals,
    say,
)
from atliqon_platform.resources.landing_zone import require_buckets
from atliqon_platform.resources.spark import ENGINE_START_PAUSE_SECONDS, ENGINE_START_TRIES
from atliqon_platform.sample_data.synthetic import Scale
from atliqon_platform.settings import (
    ConfigurationError,
    Environment,
    Settings,
    delta_storage_options,
    is_tcp_port,
    load_settings,
    unreachable,
)
from atliqon_platform.spark_connect_server import free_port, server_launch, wait_until_listening
from atliqon_platform.tables import GOLD_VW_FACT_ORDERS_ENRICHED

DEFINITIONS_MODULE = "atliqon_platform.definitions"
# The name `dagster dev -m atliqon_platform.definitions` gave the code location: the sensors'
# cursors and on/off states of existing homes are stored under it.
LOCATION_NAME = DEFINITIONS_MODULE
CODE_SERVER_START_SECONDS = 300
ENGINE = "Spark engine"


def _landing(settings: Settings):
    from atliqon_platform.resources.landing_zone import LandingZoneResource

    return LandingZoneResource.for_settings(settings)


def _on_a_terminal() -> bool:
    """Whether progress bars are drawn: on a terminal; in a log or a pipe, a bar is a line per step."""
    return sys.stderr.isatty()


def seed_demo(settings: Settings, days: int | None = None, lines_per_day: int | None = None) -> int:
    from atliqon_platform.sample_data.synthetic import generate

    scale = Scale(days=days or Scale.days, lines_per_day=lines_per_day or Scale.lines_per_day)
    lines = generate(_landing(settings).write, scale, progress=_on_a_terminal())
    print(
        f"demo data: {scale.days} days from {scale.start}, {lines:,} order lines "
        f"({scale.lines_per_day:,} a day) in {settings.landing_uri}"
    )
    return lines


def command_seed(args: argparse.Namespace, settings: Settings) -> int:
    require_buckets(settings, lake=False)  # seeding writes the landing zone only
    if args.demo:
        seed_demo(settings, args.days, args.lines_per_day)
        return 0
    from atliqon_platform.sample_data.reference_dataset import copy_reference_dataset

    keys = copy_reference_dataset(
        Path(args.source), _landing(settings), args.until, args.parent_increment, progress=_on_a_terminal()
    )
    print(f"copied {len(keys)} files into {settings.landing_uri}")
    return 0


INSTANCE_CONFIG = """\
telemetry:
  enabled: false
# The UI opens without the community sign-up dialog.
nux:
  enabled: false
# Dagster's SQLite event log, keeping its connections open (atliqon_platform/instance/event_log.py).
{event_log}\
# One run at a time: each run starts its own Spark, and two runs writing the same Delta
# table at once would have one of them retry. Raise it on a bigger machine.
run_queue:
  max_concurrent_runs: 1
  dequeue_interval_seconds: 1
# A run that ended without a step failing (interrupted as atliqon up stopped or was killed,
# marked failed when it started again) runs again once, from where it stopped: a sensor's day
# would else stay unloaded, its files already seen. A run a step failed in does not: bad data
# fails the same way twice; a run whose failed steps all failed because their engine did is
# retried too (instance/threaded_executor.py).
run_retries:
  enabled: true
  max_retries: 1
  retry_on_asset_or_op_failure: false
# Runs print Dagster's events from INFO up (their messages, warnings and failures) to the
# terminal of `atliqon up`, not each step's start, output and end at DEBUG, which were most of
# its lines. The event log, and so the UI, keeps every Dagster event whatever its level.
python_logs:
  python_log_level: INFO
"""
ADDED_SETTINGS_NOTE = "# Added by atliqon: settings of the platform this file did not have yet.\n"


def instance_config(dagster_home: Path) -> str:
    """The dagster.yaml of an instance at ``dagster_home``."""
    event_log = {"event_log_storage": event_log_storage_config(dagster_home)}
    return INSTANCE_CONFIG.format(event_log=yaml.safe_dump(event_log, sort_keys=False))


def missing_settings(existing: str, wanted: str) -> str:
    """The top-level settings of ``wanted`` that ``existing`` lacks, as YAML to append to it:
    a home written by an older version gets them, and keeps its own settings and comments."""
    present = yaml.safe_load(existing) or {}
    if not isinstance(present, dict):
        raise ValueError("not a mapping of settings")
    missing = {key: value for key, value in yaml.safe_load(wanted).items() if key not in present}
    if not missing:
        return ""
    separator = "\n" if existing and not existing.endswith("\n") else ""
    return separator + ADDED_SETTINGS_NOTE + yaml.safe_dump(missing, sort_keys=False)


def prepare_dagster_home(settings: Settings) -> Path:
    """The instance lives under ATLIQON_HOME, so runs started by the CLI show in the UI."""
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    config = settings.dagster_home / "dagster.yaml"
    wanted = instance_config(settings.dagster_home)
    if not config.exists():
        config.write_text(wanted)
    else:
        existing = config.read_text()
        try:
            missing = missing_settings(existing, wanted)
        except (yaml.YAMLError, ValueError) as error:
            raise ConfigurationError(
                f"{config} is not a valid dagster.yaml ({error}); fix or delete it"
            ) from None
        if missing:
            config.write_text(existing + missing)
    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)
    return settings.dagster_home


def command_backfill(args: argparse.Namespace, settings: Settings) -> int:
    from atliqon_platform.backfill import backfill_everything

    require_buckets(settings)
    prepare_dagster_home(settings)
    return 0 if backfill_everything(settings, progress=_on_a_terminal()) else 1


def check_port_free(host: str, port: int, server: str, variable: str) -> None:
    """Say a port is taken, or a host is not this machine's, in one line, before a server prints
    its own banner (or, for ``atliqon up``, before the code location takes its time to load)."""
    # As the web servers choose (uvicorn, werkzeug): IPv6 for a host with a colon, else IPv4.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        [(_, kind, _, _, address), *_] = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise ConfigurationError(
            f"cannot serve {server} on {host} ({error.strerror}); choose another --host"
        ) from None
    with socket.socket(family, kind) as probe:
        # As the web server binds: a port whose last connections are still closing (TIME_WAIT) is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            choose = "--host" if error.errno == errno.EADDRNOTAVAIL else f"--port or {variable}"
            raise ConfigurationError(
                f"cannot serve {server} on {host}:{port} ({error.strerror}); choose another {choose}"
            ) from None


def _dagster_command(name: str) -> str:
    """A Dagster command-line entry point of this Python environment."""
    return str(Path(sysconfig.get_path("scripts")) / name)


def _exited(service: tuple[str, int], when: str = "") -> ServiceExited:
    name, code = service
    return ServiceExited(f"the Dagster {name} exited with code {code}{when}")


def _wait_for_code_server(socket_path: Path, group: ProcessGroup) -> None:
    """The code server listens once the code location is loaded; the webserver and the daemon
    start after, so that neither begins with the location missing."""
    deadline = time.monotonic() + CODE_SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if exited := group.exited():
            raise _exited(exited, " while starting")
        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(str(socket_path))
                return
            except OSError:
                time.sleep(0.5)
    raise ServiceExited(f"the Dagster code server did not start within {CODE_SERVER_START_SECONDS} s")


class EngineDidNotStart(ServiceExited):
    """A start of the warm engine that exited, or did not listen in time."""


class WarmEngine:
    """The home's Spark Connect server, in the group: the runs connect to it instead of each
    starting a JVM. Its log is beside the instance; it restarts on the same port."""

    def __init__(self, settings: Settings, group: ProcessGroup) -> None:
        self.settings, self.group = settings, group
        self.port = free_port()
        self.url = f"sc://127.0.0.1:{self.port}"
        self.log = settings.dagster_home / "spark-connect.log"

    def start(self) -> None:
        command, environment = server_launch(self.settings, self.port)
        self.server = self.group.start(ENGINE, command, env=environment, log=self.log)

    def raise_if_others_exited(self) -> None:
        """Raise if a service other than the engine has exited: while the engine restarts, its
        pauses and starts taking minutes at worst, the UI and the daemon are watched as ever."""
        if exited := self.group.exited(besides=ENGINE):
            raise _exited(exited)

    def wait(self) -> None:
        try:
            wait_until_listening(self.port, self.server, self.log, while_waiting=self.raise_if_others_exited)
        except ServiceExited:
            raise
        except RuntimeError as error:
            raise EngineDidNotStart(str(error)) from None

    def restart(self) -> None:
        """Start the engine again after it died, trying a failed start again (ENGINE_START_TRIES)."""
        for attempt in range(1, ENGINE_START_TRIES + 1):
            self.start()
            try:
                self.wait()
                return
            except EngineDidNotStart as error:
                ended = self.server.poll()
                self.server.kill()  # one that did not listen in time would hold the port
                self.server.wait()
                why = "it did not listen in time" if ended is None else f"it exited with code {ended}"
                if attempt == ENGINE_START_TRIES:
                    raise ServiceExited(f"{error} ({why}; {attempt} starts in a row)") from None
                pause = ENGINE_START_PAUSE_SECONDS * attempt
                say(f"atliqon up: {error} ({why}); starting it again in {pause:.0f} s")
                deadline = time.monotonic() + pause
                while time.monotonic() < deadline:
                    self.raise_if_others_exited()
                    time.sleep(0.5)


def serve(host: str, port: int, settings: Settings, lock: HomeLock) -> NoReturn:
    """Dagster's own services, as Dagster documents deploying them: one code server (over a
    Unix socket) that the webserver and the daemon share, all in the process group of
    ``atliqon up`` (atliqon_platform/lifecycle.py). ``dagster dev`` is superseded and warns.

    With local Spark, a warm engine starts first and every process after it inherits its
    URL (ATLIQON_SPARK_REMOTE); it is restarted if it dies. A remote session set by the
    user (ATLIQON_SPARK_REMOTE, Databricks) is used as it is.
    """
    url = f"http://{host}:{port}"
    dagster_home = settings.dagster_home
    with tempfile.TemporaryDirectory(prefix="atliqon-up-") as folder:
        scratch = Path(folder)
        socket_path, workspace = scratch / "code.sock", scratch / "workspace.yaml"
        location = {"socket": str(socket_path), "location_name": LOCATION_NAME}
        workspace.write_text(yaml.safe_dump({"load_from": [{"grpc_server": location}]}))
        print(f"Dagster UI on {url} (instance {dagster_home}); Ctrl-C stops it", flush=True)
        group = ProcessGroup(scratch, lock)
        try:
            engine = None
            if settings.spark_remote is None and settings.env is not Environment.DATABRICKS:
                engine = WarmEngine(settings, group)
                engine.start()  # while the code location loads
                os.environ["ATLIQON_SPARK_REMOTE"] = engine.url
                lock.note(pid=os.getpid(), spark=engine.url)  # so its runs know it for the engine
            group.start(
                "code server",
                [_dagster_command("dagster"), "code-server", "start", "--module-name", DEFINITIONS_MODULE]
                + ["--location-name", LOCATION_NAME, "--socket", str(socket_path), "--log-level", "warning"],
            )
            _wait_for_code_server(socket_path, group)
            if engine:  # before anything can launch a run
                engine.wait()
                print(f"Spark engine on {engine.url} (memory {settings.spark_driver_memory})", flush=True)
            # Its warnings and errors only: its one INFO line, the banner, is coloured even in a
            # file; `atliqon up` says when the UI answers instead.
            group.start(
                "webserver",
                [_dagster_command("dagster-webserver"), "--workspace", str(workspace)]
                + ["--host", host, "--port", str(port), "--dagster-log-level", "warning"],
            )
            # The daemon's warnings and errors only: at INFO it printed a dozen lines every 5 s
            # (each sensor tick, automation evaluation and look at the run queue), which the UI
            # shows on its sensor, automation and run pages.
            daemon = group.start(
                "daemon",
                [_dagster_command("dagster-daemon"), "run", "--workspace", str(workspace)]
                + ["--log-level", "warning"],
            )
            lock.note(pid=os.getpid(), ui=url, daemon=daemon.pid, spark=engine and engine.url)
            ui_answers = False
            while True:
                time.sleep(1)
                if not ui_answers and (ui_answers := unreachable(host, port, timeout=1) is None):
                    print(f"Dagster UI ready on {url}", flush=True)
                if not (exited := group.exited()):
                    continue
                if exited[0] != ENGINE:
                    raise _exited(exited)
                say(f"atliqon up: the Spark engine exited with code {exited[1]}; restarting it")
                engine.restart()
        except Stopped as stop:
            ignore_stop_signals()  # a second Ctrl-C changes nothing: the stop is under way
            group.mute()
            say(f"atliqon up: {stop}, stopping the Dagster services")
            raise
        finally:
            ignore_stop_signals()
            _stop_saying_what_became_of_the_runs(group, dagster_home)


def _stop_saying_what_became_of_the_runs(group: ProcessGroup, dagster_home: Path) -> None:
    """Stop the group, the runs first while their engine still answers, then say in a line what
    became of each run that was in flight in it."""
    in_flight = _read_runs(dagster_home, lambda instance: runs_in_progress(instance, group.group))
    group.stop(last=ENGINE)
    for line in _read_runs(dagster_home, lambda instance: after_the_stop(instance, in_flight)):
        say(f"atliqon up: {line}")


def _read_runs(dagster_home: Path, read: Callable[[DagsterInstance], list[str]]) -> list[str]:
    """What ``read`` finds in the instance, for the stop's lines only: should that fail, the stop
    goes on, and says so, and the error that stopped ``atliqon up`` stays the one it exits with."""
    try:
        with DagsterInstance.from_config(str(dagster_home)) as instance:
            return read(instance)
    except Exception as error:
        say(f"atliqon up: cannot read the runs in flight from {dagster_home}: {error}")
        return []


def command_up(args: argparse.Namespace, settings: Settings) -> int:
    port = args.port or settings.ui_port
    require_buckets(settings)
    if not settings.dagster_home.exists():  # a new home, which no `atliqon up` holds: not made
        check_port_free(args.host, port, "the Dagster UI", "ATLIQON_PORT")
    with held_home(settings.dagster_home) as lock:
        prepare_dagster_home(settings)
        with DagsterInstance.from_config(str(settings.dagster_home)) as instance:
            for line in fail_runs_left_in_progress(instance):
                say(f"atliqon up: marked failed, {line}")
        check_port_free(args.host, port, "the Dagster UI", "ATLIQON_PORT")
        raise_on_stop_signals()
        try:
            if not any(_landing(settings).list()):
                print(f"landing zone {settings.landing_uri} is empty: seeding demo data first")
                seed_demo(settings)
            return serve(args.host, port, settings, lock)
        except Stopped as stop:
            return 128 + stop.signum
        except ServiceExited as error:
            say(f"atliqon: {error}; everything it started is stopped", sys.stderr)
            return 1


def command_dashboard(args: argparse.Namespace, settings: Settings) -> int:
    from atliqon_platform.dashboard.app import create_app
    from atliqon_platform.dashboard.view import EnrichedView

    uri = GOLD_VW_FACT_ORDERS_ENRICHED.location(settings.lake_uri)
    port = args.port or settings.dashboard_port
    check_port_free(args.host, port, "the dashboard", "ATLIQON_DASHBOARD_PORT")
    app = create_app(EnrichedView(uri, delta_storage_options(uri)), settings.dashboard_refresh_seconds)
    print(f"dashboard on http://{args.host}:{port} over {uri}; Ctrl-C stops it", flush=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request served: not here
    app.run(host=args.host, port=port, debug=False)
    return 0


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD") from None


def _port(text: str) -> int:
    if not is_tcp_port(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port; use a number from 1 to 65535")
    return int(text)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


HOME_NOTE = (
    "Everything lives under ATLIQON_HOME (default: ./.atliqon): the landing zone, the Delta lake "
    "and the Dagster instance. The other settings are environment variables too (README.md, "
    "Configuration)."
)
SUBCOMMANDS = {
    "seed": (
        "put sample data into the landing zone",
        "Write synthetic demo data, or copy the real dataset, into the landing zone. Files "
        "already there with the same bytes start nothing when `atliqon up` runs.",
    ),
    "up": (
        "Dagster UI and daemon for this ATLIQON_HOME",
        "Start the Dagster UI, its daemon (sensors, automation) and, with local Spark, a warm "
        "engine for this home, seeding demo data when the landing zone is empty. Ctrl-C stops "
        "all of it.",
    ),
    "backfill": (
        "materialise every asset for all landed data",
        "Materialise every asset for everything in the landing zone, in three runs recorded in the "
        "home's Dagster instance (the UI shows them); on `atliqon up`'s engine when it runs. "
        "Exits with status 1 when a run fails, naming it.",
    ),
    "dashboard": (
        "the business dashboard (gold view)",
        "Serve the business dashboard over gold.vw_fact_orders_enriched, read where the lake is.",
    ),
}


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="atliqon",
        description="Atliqon's data platform: seed data, start the Dagster UI and daemon, backfill "
        "headlessly, serve the dashboard.",
        epilog=HOME_NOTE,
    )
    commands = root.add_subparsers(dest="command", required=True)

    def command(name: str) -> argparse.ArgumentParser:
        summary, description = SUBCOMMANDS[name]
        return commands.add_parser(name, help=summary, description=description, epilog=HOME_NOTE)

    seed = command("seed")
    which = seed.add_mutually_exclusive_group(required=True)
    which.add_argument("--demo", action="store_true", help="synthetic demo data (seeded)")
    which.add_argument("--from", dest="source", metavar="DIR", help="a folder laid out like shared/data/fmcg")
    seed.add_argument("--until", type=_day, help="only order files up to this day (YYYY-MM-DD)")
    seed.add_argument("--parent-increment", action="store_true", help="also the parent's increment")
    seed.add_argument(
        "--days", type=_positive, help=f"with --demo: days of order files (default {Scale.days})"
    )
    seed.add_argument(
        "--lines-per-day",
        type=_positive,
        help=f"with --demo: order lines in each day's file (default {Scale.lines_per_day})",
    )
    seed.set_defaults(handler=command_seed, parser=seed)
    up = command("up")
    up.add_argument("--host", default="127.0.0.1", help="the address the UI binds (default 127.0.0.1)")
    up.add_argument("--port", type=_port, help="default: ATLIQON_PORT, else 3000")
    up.set_defaults(handler=command_up)
    backfill = command("backfill")
    backfill.set_defaults(handler=command_backfill)
    dashboard = command("dashboard")
    dashboard.add_argument("--host", default="127.0.0.1", help="the address it binds (default 127.0.0.1)")
    dashboard.add_argument("--port", type=_port, help="default: ATLIQON_DASHBOARD_PORT, else 8050")
    dashboard.set_defaults(handler=command_dashboard)
    return root


def main(argv: list[str] | None = None) -> int:
    root = parser()
    args = root.parse_args(argv)
    if args.command == "seed" and not args.demo and (args.days or args.lines_per_day):
        args.parser.error("--days and --lines-per-day go with --demo")
    if args.command == "seed" and args.demo and (args.until or args.parent_increment):
        args.parser.error("--until and --parent-increment go with --from")
    started = time.monotonic()
    try:
        settings = load_settings()
        status = args.handler(args, settings)
    except ConfigurationError as error:
        print(f"atliqon: configuration error: {error}", file=sys.stderr)
        return 2
    # a --from folder missing or not laid out right; a home that is a file, or not writable
    except (FileNotFoundError, NotADirectoryError, FileExistsError, PermissionError) as error:
        print(f"atliqon: {error}", file=sys.stderr)
        return 2
    except HomeInUse as error:
        print(f"atliqon: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM in a run (Dagster takes it as Ctrl-C)
        print("atliqon: interrupted", file=sys.stderr)
        return 130
    except (BotoCoreError, ClientError) as error:  # credentials, profile, endpoint, bucket
        print(
            f"atliqon: cannot use S3 ({error}): check AWS_ENDPOINT_URL, AWS_REGION, the AWS "
            "credentials variables, and the buckets of ATLIQON_LANDING_URI and ATLIQON_LAKE_URI",
            file=sys.stderr,
        )
        return 2
    if args.command not in ("up", "dashboard"):
        print(f"{'done' if status == 0 else 'failed'} in {time.monotonic() - started:.1f}s")
    return status


if __name__ == "__main__":
    sys.exit(main())

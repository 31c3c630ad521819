"""The ``atliqon`` command: seed data, start the Dagster UI and daemon, backfill headlessly."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml
from botocore.exceptions import EndpointConnectionError, NoCredentialsError

from atliqon_platform.instance.event_log import event_log_storage_config
from atliqon_platform.sample_data.synthetic import Scale
from atliqon_platform.settings import ConfigurationError, Settings, delta_storage_options, load_settings


def _landing(settings: Settings):
    from atliqon_platform.resources.landing_zone import LandingZoneResource

    return LandingZoneResource.for_settings(settings)


def seed_demo(settings: Settings, days: int | None = None, lines_per_day: int | None = None) -> int:
    from atliqon_platform.sample_data.synthetic import generate

    scale = Scale(days=days or Scale.days, lines_per_day=lines_per_day or Scale.lines_per_day)
    lines = generate(_landing(settings).write, scale, progress=True)
    print(
        f"demo data: {scale.days} days from {scale.start}, {lines:,} order lines "
        f"({scale.lines_per_day:,} a day) in {settings.landing_uri}"
    )
    return lines


def command_seed(args: argparse.Namespace, settings: Settings) -> int:
    if args.demo:
        seed_demo(settings, args.days, args.lines_per_day)
        return 0
    from atliqon_platform.sample_data.reference_dataset import copy_reference_dataset

    keys = copy_reference_dataset(
        Path(args.source), _landing(settings), args.until, args.parent_increment, progress=True
    )
    print(f"copied {len(keys)} files into {settings.landing_uri}")
    return 0


INSTANCE_CONFIG = """\
telemetry:
  enabled: false
# Dagster's SQLite event log, keeping its connections open (atliqon_platform/instance/event_log.py).
{event_log}\
# One run at a time: each run starts its own Spark, and two runs writing the same Delta
# table at once would have one of them retry. Raise it on a bigger machine.
run_queue:
  max_concurrent_runs: 1
  dequeue_interval_seconds: 1
"""


def instance_config(dagster_home: Path) -> str:
    """The dagster.yaml of an instance at ``dagster_home``."""
    event_log = {"event_log_storage": event_log_storage_config(dagster_home)}
    return INSTANCE_CONFIG.format(event_log=yaml.safe_dump(event_log, sort_keys=False))


def prepare_dagster_home(settings: Settings) -> Path:
    """The instance lives under ATLIQON_HOME, so runs started by the CLI show in the UI."""
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    config = settings.dagster_home / "dagster.yaml"
    if not config.exists():
        config.write_text(instance_config(settings.dagster_home))
    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)
    return settings.dagster_home


def command_backfill(args: argparse.Namespace, settings: Settings) -> int:
    from atliqon_platform.automation.backfill import backfill_everything

    prepare_dagster_home(settings)
    return 0 if backfill_everything(settings, progress=True) else 1


def check_port_free(host: str, port: int, server: str, variable: str) -> None:
    """Say a port is taken in one line, before a server prints its own banner (or, for
    ``atliqon up``, before the code location takes its time to load)."""
    with socket.socket() as probe:
        # As the web server binds: a port whose last connections are still closing (TIME_WAIT) is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise ConfigurationError(
                f"cannot serve {server} on {host}:{port} ({error.strerror}); "
                f"choose another --port or {variable}"
            ) from None


def command_up(args: argparse.Namespace, settings: Settings) -> int:
    port = args.port or settings.ui_port
    check_port_free(args.host, port, "the Dagster UI", "ATLIQON_PORT")
    home = prepare_dagster_home(settings)
    if not any(_landing(settings).list()):
        print(f"landing zone {settings.landing_uri} is empty: seeding demo data first")
        seed_demo(settings)
    command = [
        sys.executable,
        "-m",
        "dagster",
        "dev",
        "-m",
        "atliqon_platform.definitions",
        "--host",
        args.host,
        "--port",
        str(port),
    ]
    print(f"Dagster UI on http://{args.host}:{port} (instance {home}); Ctrl-C stops it")
    process = subprocess.Popen(command, start_new_session=True)

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # Ctrl-C, and a TERM from a service manager, stop everything this command started.
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        return process.wait()
    except KeyboardInterrupt:
        for stop_signal, grace in ((signal.SIGINT, 15), (signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            os.killpg(process.pid, stop_signal)
            try:
                process.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue
        return 130


def command_dashboard(args: argparse.Namespace, settings: Settings) -> int:
    from atliqon_platform.dashboard.app import create_app
    from atliqon_platform.dashboard.view import EnrichedView

    uri = settings.enriched_view_uri
    port = args.port or settings.dashboard_port
    check_port_free(args.host, port, "the dashboard", "ATLIQON_DASHBOARD_PORT")
    app = create_app(EnrichedView(uri, delta_storage_options(uri)))
    print(f"dashboard on http://{args.host}:{port} over {uri}; Ctrl-C stops it", flush=True)
    app.run(host=args.host, port=port, debug=False)
    return 0


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD") from None


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="atliqon", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    seed = commands.add_parser("seed", help="put sample data into the landing zone")
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
    seed.set_defaults(handler=command_seed)
    up = commands.add_parser("up", help="Dagster UI and daemon for this ATLIQON_HOME")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, help="default: ATLIQON_PORT, else 3000")
    up.set_defaults(handler=command_up)
    backfill = commands.add_parser("backfill", help="materialise every asset for all landed data")
    backfill.set_defaults(handler=command_backfill)
    dashboard = commands.add_parser("dashboard", help="the business dashboard (gold view)")
    dashboard.add_argument("--host", default="127.0.0.1")
    dashboard.add_argument("--port", type=int, help="default: ATLIQON_DASHBOARD_PORT, else 8050")
    dashboard.set_defaults(handler=command_dashboard)
    return root


def main(argv: list[str] | None = None) -> int:
    root = parser()
    args = root.parse_args(argv)
    if args.command == "seed" and not args.demo and (args.days or args.lines_per_day):
        root.error("--days and --lines-per-day go with --demo")
    started = time.monotonic()
    try:
        settings = load_settings()
        status = args.handler(args, settings)
    except ConfigurationError as error:
        print(f"atliqon: configuration error: {error}", file=sys.stderr)
        return 2
    except FileNotFoundError as error:  # a --from folder that is missing or not laid out right
        print(f"atliqon: {error}", file=sys.stderr)
        return 2
    except (EndpointConnectionError, NoCredentialsError) as error:
        print(
            f"atliqon: cannot use S3 ({error}): check AWS_ENDPOINT_URL, AWS_REGION and the "
            "AWS credentials variables",
            file=sys.stderr,
        )
        return 2
    if args.command not in ("up", "dashboard"):
        print(f"done in {time.monotonic() - started:.1f}s")
    return status


if __name__ == "__main__":
    sys.exit(main())

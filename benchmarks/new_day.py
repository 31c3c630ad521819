"""One new day after the history is loaded: its file to the updated month of gold.fact_orders and
the view, with 30, 90 and 365 days of synthetic history, beside the plain script's full reprocessing.

The new day's runs are the ones the landing sensor and the automation launch (daily run, then
that month of gold.fact_orders, gold.dim_date and the view), executed here in one process on a
warm Spark session; each run the daemon launches adds a process and a JVM start (overheads).
One home grows from the shortest history to the longest, so the history is built once.

    python -m benchmarks.new_day [--runs 3] [--histories 30 90 365] [--lines-per-day 10000]

Issue #15 sets the target at 10 k lines a day (3.65 M lines in 365 days); the real data has about
340 a day, where a new day's fixed costs are nearly all of it.
"""

from __future__ import annotations

import datetime as dt
import shutil

from dagster import DagsterInstance

from atliqon_platform.backfill import load_days
from atliqon_platform.sample_data.synthetic import Scale, generate
from atliqon_platform.sources import order_file_day
from benchmarks.harness import Home, Report, arguments, backfill, new_home, timed, work_folder
from benchmarks.plain_pyspark import rebuild_everything


def new_day_name(history: int) -> str:
    return f"one new day, {history} days of history"


def land_history(home: Home, scale: Scale, history: int) -> dict[dt.date, dict[str, bytes]]:
    """Lands everything but the order files after the history; returns those, by day."""
    later: dict[dt.date, dict[str, bytes]] = {}

    def write(key: str, data: bytes) -> None:
        day = order_file_day(key)
        if day is not None and day >= scale.start + dt.timedelta(days=history):
            later.setdefault(day, {})[key] = data
        else:
            home.landing.write(key, data)

    generate(write, scale)
    return later


def land(home: Home, files: dict[dt.date, dict[str, bytes]], days: list[dt.date]) -> None:
    for day in days:
        for key, data in files.pop(day).items():
            home.landing.write(key, data)


def timed_load(home: Home, instance: DagsterInstance, days: list[dt.date]) -> float:
    """The seconds of the runs that load ``days`` (one range run for several)."""
    seconds, ok = timed(lambda: load_days(home.settings, days, instance=instance))
    if not ok:
        raise RuntimeError(f"the runs of {days[0]} to {days[-1]} failed: see the runs above")
    return seconds


def measure_histories(
    home: Home, histories: list[int], runs: int, lines_per_day: int, report: Report
) -> None:
    """One home grows through the histories: the shortest is backfilled, each longer one is loaded
    on top as one range run (as a backlog is), and after each, ``runs`` new days are timed one by
    one. A day timed after one history is part of the next."""
    histories = sorted(histories)
    scale = Scale(days=histories[-1] + runs, lines_per_day=lines_per_day)
    later = land_history(home, scale, histories[0])
    report.add(f"history backfill, {histories[0]} days (once)", backfill(home)[0])
    with home.instance() as instance:
        for history in histories:
            backlog = [day for day in sorted(later) if day < scale.start + dt.timedelta(days=history)]
            if backlog:
                land(home, later, backlog)
                seconds = timed_load(home, instance, backlog)
                report.add(f"history loaded as one range, up to {history} days (once)", seconds)
            for day in sorted(later)[:runs]:
                land(home, later, [day])
                report.add(new_day_name(history), timed_load(home, instance, [day]))


def main(argv: list[str] | None = None) -> Report:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--histories", type=int, nargs="+", default=[30, 90, 365])
    parser.add_argument(
        "--lines-per-day", type=int, default=10_000, help="issue #15's scale; the real data has about 340"
    )
    args = parser.parse_args(argv)
    report = Report("One new day after the history")
    with work_folder(args.work) as root:
        home = new_home(root, "history")
        measure_histories(home, args.histories, args.runs, args.lines_per_day, report)
        longest = max(args.histories)
        plain = new_home(root, "plain")
        shutil.copytree(home.settings.home / "landing", plain.settings.landing_uri)
        plain_name = f"plain script, full reprocessing of {longest} days (+{args.runs})"
        for _ in range(args.runs):
            plain.clear_outputs()
            report.add(plain_name, timed(lambda: rebuild_everything(plain.landing, plain.lake))[0])
        medians = [report.median(new_day_name(history)) for history in args.histories]
        report.print(
            ratios=[
                (
                    f"plain full reprocessing / one new day at {longest} days",
                    plain_name,
                    new_day_name(longest),
                )
            ],
            notes=[
                f"flatness: slowest / fastest new day = {max(medians) / min(medians):.2f} (target <= 1.20)",
                "targets: one new day <= 15 s; plain full reprocessing >= 20 x one new day",
            ],
        )
    return report


if __name__ == "__main__":
    main()

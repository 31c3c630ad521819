"""One new day after the history is loaded: its file to the updated month of gold.fact_orders and
the view, with 30, 90 and 365 days of synthetic history, beside the plain script's full reprocessing.

The new day's runs are the ones the landing sensor and the automation launch (daily run, that
month's gold.fact_orders, then gold.dim_date and the view), executed here in one process on a
warm Spark session; each run the daemon launches adds a process and a JVM start (overheads).

    python -m benchmarks.new_day [--runs 3] [--histories 30 90 365] [--lines-per-day 300]
"""

from __future__ import annotations

import datetime as dt
import shutil

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


def measure_history(home: Home, history: int, runs: int, lines_per_day: int, report: Report) -> None:
    scale = Scale(days=history + runs, lines_per_day=lines_per_day)
    new_days = land_history(home, scale, history)
    report.add(f"history backfill, {history} days (once)", backfill(home)[0])
    with home.instance() as instance:
        for day, files in sorted(new_days.items()):
            for key, data in files.items():
                home.landing.write(key, data)
            seconds, ok = timed(lambda day=day: load_days(home.settings, [day], instance=instance))
            if not ok:
                raise RuntimeError(f"the runs of {day} failed: see the runs above")
            report.add(new_day_name(history), seconds)


def main(argv: list[str] | None = None) -> Report:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--histories", type=int, nargs="+", default=[30, 90, 365])
    parser.add_argument("--lines-per-day", type=int, default=300, help="the real data has about 340")
    args = parser.parse_args(argv)
    report = Report("One new day after the history")
    with work_folder(args.work) as root:
        for history in args.histories:
            home = new_home(root, f"history-{history}")
            measure_history(home, history, args.runs, args.lines_per_day, report)
        longest = max(args.histories)
        plain = new_home(root, "plain")
        shutil.copytree(root / f"history-{longest}" / "landing", plain.settings.landing_uri)
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

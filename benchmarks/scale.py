"""Scale: N synthetic order lines (10 million by default) through bronze to gold in a single-run
backfill, against the raw throughput of the stack: Spark reading the same CSV files and writing
them to Delta (with delta-spark, as the platform does) with no rules.

Peak memory is the resident memory of this process and its children (the Spark JVM), sampled.

One run by default: at 10 M lines a run (pipeline and raw copy) takes about 7 minutes on a
2-core machine, so three would not fit the 15 minutes a benchmark may take. For medians, use
`--runs 3 --lines 1000000` (about 7 minutes), or `--runs 3` given 20 minutes.

    python -m benchmarks.scale [--lines 10000000] [--days 365] [--runs 1]

At a million lines and more, Spark's generated code pays for its compiling: run it with
ATLIQON_SPARK_CODEGEN=on, as a user backfilling that much would (README, Configuration).
"""

from __future__ import annotations

from atliqon_platform.sample_data.synthetic import Scale, generate
from atliqon_platform.sources import ORDERS
from atliqon_platform.tables import Table
from benchmarks.harness import (
    Home,
    PeakMemory,
    Report,
    arguments,
    backfill,
    new_home,
    print_slowest_steps,
    timed,
    work_folder,
)

PIPELINE = "bronze to gold, single-run backfill"
RAW_COPY = "raw copy: Spark CSV read -> Delta, no rules"
RAW_ORDERS = Table("raw", "orders", "The order files as Spark reads them, written whole.")


def raw_copy(home: Home) -> int:
    spark = home.lake.spark.spark_session
    frame = spark.read.option("header", True).csv(f"{home.settings.landing_uri}/{ORDERS.prefix}")
    return home.lake.overwrite(frame, RAW_ORDERS).rows


def main(argv: list[str] | None = None) -> Report:
    parser = arguments(__doc__.splitlines()[0], runs=1)
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args(argv)
    report = Report(f"Scale: {args.lines:,} order lines over {args.days} days")
    with work_folder(args.work) as root:
        home = new_home(root, "scale")
        scale = Scale(days=args.days, lines_per_day=args.lines // args.days)
        seconds, lines = timed(lambda: generate(home.landing.write, scale))
        report.add("generating the files (once)", seconds)
        home.lake.tables  # noqa: B018 - the session, started before any timing
        steps: dict[str, float] = {}
        for run in range(args.runs):
            for name in (PIPELINE, RAW_COPY) if run % 2 == 0 else (RAW_COPY, PIPELINE):
                home.clear_outputs()
                with PeakMemory() as memory:
                    if name == PIPELINE:
                        seconds, steps = backfill(home)
                    else:
                        seconds, _ = timed(lambda: raw_copy(home))
                report.add(name, seconds)
                report.add(f"{name}: lines per second", lines / seconds, "lines/s")
                report.add(f"{name}: peak RSS", memory.peak_bytes / 2**30, "GiB")
        report.print(
            ratios=[("pipeline throughput / raw copy throughput (target >= 0.5)", RAW_COPY, PIPELINE)],
            notes=[
                f"order lines: {lines:,}",
                "targets: >= 250,000 lines/s end to end; peak RSS of all processes <= 6 GiB",
            ],
        )
        print_slowest_steps(steps)
    return report


if __name__ == "__main__":
    main()

"""Full build of the real dataset from empty: `atliqon backfill` against the plain PySpark script.

Both run in this process on one warm Spark session, alternating, on their own homes with the
same landing zone (full load, December, the parent's increment). The cold command (a new
process: imports, JVM start, then the backfill) is timed too: it is what a user waits for.

    python -m benchmarks.full_build [--runs 3] [--warmup 1] [--dataset ../shared/data/fmcg]
        [--one-step-at-a-time]   # also the backfill with a run's steps one at a time
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from deltalake import DeltaTable

from atliqon_platform.sample_data.reference_dataset import copy_reference_dataset
from atliqon_platform.sample_data.synthetic import Scale, generate
from benchmarks.harness import (
    SHARED_DATASET,
    Home,
    Report,
    arguments,
    backfill,
    new_home,
    print_slowest_steps,
    timed,
    work_folder,
)
from benchmarks.plain_pyspark import rebuild_everything

PIPELINE = "atliqon backfill, in process (warm Spark)"
PLAIN = "plain PySpark script, in process (warm Spark)"
COMMAND = "atliqon backfill, cold command (new process)"
ONE_STEP = "atliqon backfill, one step at a time (ATLIQON_STEP_THREADS=1)"


def view_rows(home: Home) -> int:
    return DeltaTable(f"{home.settings.lake_uri}/gold/vw_fact_orders_enriched").count()


def cold_command(home: Home) -> float:
    environment = {**os.environ, "ATLIQON_HOME": str(home.settings.home), "ATLIQON_SPARK_MASTER": "local[2]"}
    command = [sys.executable, "-m", "atliqon_platform.cli", "backfill"]
    seconds, done = timed(lambda: subprocess.run(command, env=environment, capture_output=True, text=True))
    if done.returncode != 0:
        raise RuntimeError(f"atliqon backfill failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds


def main(argv: list[str] | None = None) -> Report:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=SHARED_DATASET)
    parser.add_argument("--synthetic-days", type=int, help="synthetic data of that many days instead")
    parser.add_argument("--no-command", action="store_true", help="skip the cold command")
    parser.add_argument(
        "--one-step-at-a-time", action="store_true", help="also the backfill with ATLIQON_STEP_THREADS=1"
    )
    parser.add_argument(
        "--warmup", type=int, default=1, help="untimed rounds of both first, so neither runs on a cold JIT"
    )
    args = parser.parse_args(argv)
    data = f"{args.synthetic_days} days of synthetic data" if args.synthetic_days else "the real dataset"
    report = Report(f"Full build of {data} from empty")
    with work_folder(args.work) as root:
        pipeline, plain = new_home(root, "pipeline"), new_home(root, "plain")
        homes = {PIPELINE: pipeline, PLAIN: plain}
        if args.one_step_at_a_time:
            one_step = new_home(root, "one-step")
            homes[ONE_STEP] = replace(one_step, settings=replace(one_step.settings, step_threads=1))
        for home in homes.values():
            if args.synthetic_days:
                generate(home.landing.write, Scale(days=args.synthetic_days))
            else:
                copy_reference_dataset(args.dataset, home.landing, parent_increment=True)
        seconds, _ = timed(lambda: pipeline.lake.tables)  # the shared session, started once
        report.add("Spark session start (once)", seconds)
        steps: dict[str, float] = {}
        # A young JVM spends much of the machine compiling (BENCHMARKS.md): whichever side ran
        # first would pay for it, so the first rounds are not counted.
        for run in range(-args.warmup, args.runs):
            names = list(homes)
            for name in names[run % len(names) :] + names[: run % len(names)]:  # each side first in turn
                home = homes[name]
                home.clear_outputs()
                if name == PLAIN:
                    seconds, _ = timed(lambda: rebuild_everything(plain.landing, plain.lake))
                else:
                    seconds, home_steps = backfill(home)
                    steps = home_steps if name == PIPELINE else steps
                if run >= 0:
                    report.add(name, seconds)
            if len({view_rows(home) for home in homes.values()}) != 1:
                raise RuntimeError("the pipeline and the plain script built different views")
            if run >= 0 and not args.no_command:
                pipeline.clear_outputs()
                report.add(COMMAND, cold_command(pipeline))
        ratios = [("pipeline / plain script (target <= 1.5)", PIPELINE, PLAIN)]
        if args.one_step_at_a_time:
            ratios.append(("steps on threads / one step at a time", PIPELINE, ONE_STEP))
        report.print(
            ratios=ratios,
            notes=[f"gold view rows: {view_rows(pipeline):,} (same in both)", "target: full build <= 30 s"],
        )
        print_slowest_steps(steps)
    return report


if __name__ == "__main__":
    main()

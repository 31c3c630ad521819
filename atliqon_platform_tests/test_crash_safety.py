"""Crash safety: the run of the daily order chain over three days, killed with SIGKILL (the
process and its JVM, as a crash or the OOM killer would) in the middle of writing bronze, then
silver, then gold, on one tiny home.

Each kill lands while a data file of the table is written but not yet committed; after each,
every table is at a committed version (as it was before the run, or as the run makes it, never
in between), and a plain rerun gives exactly the tables of an uninterrupted load."""

from __future__ import annotations

from atliqon_platform_tests.real_platform import content
from atliqon_platform_tests.tiny import (
    committed_files,
    copy_home,
    data_files,
    day,
    deliver_third_day,
    kill_group,
    lake_content,
    lake_tables,
    load,
    start_daily_chain,
    when_writing,
)

# The partitioned table of each layer the run writes, in the order it writes them.
KILLED_WHILE_WRITING = ("bronze/orders", "silver/orders", "gold/sb_fact_orders")


def test_a_run_killed_while_writing_each_layer_leaves_committed_tables_and_a_rerun_gives_its_figures(
    tiny_history, tmp_path
):
    home = copy_home(tiny_history.before, tmp_path / "home")
    before = lake_content(home)
    deliver_third_day(home)
    for table in KILLED_WHILE_WRITING:
        folder = home / "lake" / table
        existing = data_files(folder)
        log = tmp_path / f"{table.replace('/', '-')}.log"
        process = start_daily_chain(home, day(0), day(2), log)
        new = when_writing(folder, existing, process, log)
        kill_group(process)
        assert not new & committed_files(folder), f"{table}: the kill came after the commit"
        assert lake_tables(home) == sorted(tiny_history.after)
        for name in lake_tables(home):
            now = content(home, name)
            assert now.equals(before[name]) or now.equals(tiny_history.after[name]), (
                f"killed while writing {table}: {name} is neither as before nor as after the run"
            )
    load(home, [day(0), day(1), day(2)])
    rerun = lake_content(home)
    for name, expected in tiny_history.after.items():
        assert rerun[name].equals(expected), f"{name} differs from an uninterrupted load"

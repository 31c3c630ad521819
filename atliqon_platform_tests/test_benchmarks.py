"""Every benchmark once at a tiny scale, so that none of them rots: they run on the real
components and their figures come out (the figures themselves are BENCHMARKS.md's business)."""

from benchmarks import full_build, new_day, overheads, scale


def _positive(report, *names):
    for name in names:
        assert report.samples[name], name
        assert all(value > 0 for value in report.samples[name]), name


def test_full_build_times_the_backfill_and_the_plain_script(tmp_path, capsys):
    report = full_build.main(
        ["--runs", "1", "--warmup", "0", "--synthetic-days", "2", "--no-command", "--work", str(tmp_path)]
    )
    _positive(report, full_build.PIPELINE, full_build.PLAIN)
    assert "pipeline / plain script" in capsys.readouterr().out


def test_new_day_times_the_runs_of_a_new_day_after_the_history(tmp_path):
    report = new_day.main(
        ["--runs", "1", "--histories", "1", "2", "--lines-per-day", "20", "--work", str(tmp_path)]
    )
    _positive(report, new_day.new_day_name(1), new_day.new_day_name(2))
    assert any(name.startswith("plain script, full reprocessing of 2 days") for name in report.samples)


def test_scale_reports_throughput_and_memory_of_both(tmp_path):
    report = scale.main(["--runs", "1", "--lines", "100", "--days", "2", "--work", str(tmp_path)])
    for name in (scale.PIPELINE, scale.RAW_COPY):
        _positive(report, name, f"{name}: lines per second", f"{name}: peak RSS")
    assert report.median(f"{scale.PIPELINE}: peak RSS") > 0.1  # GiB: the JVM is counted


def test_overheads_has_a_line_for_each_cost(tmp_path):
    report = overheads.main(["--runs", "1", "--rows", "1000", "--partitions", "5", "--work", str(tmp_path)])
    assert len(report.samples) == 11
    # Per-asset and per-partition overheads are differences of two runs: at this scale,
    # within the noise, so only the direct measurements must be positive.
    _positive(report, *(name for name in report.samples if "overhead" not in name))

"""The local JVM's class archive, on real JVMs in their own processes (an archive is written when
a process ends): a session that finds no archive, here a file at its name that is not one,
records, its process writes the archive, and the next session maps its classes from it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from atliqon_platform.resources.spark import local_launch, resolve_java_home, spark_config
from atliqon_platform.resources.spark_jars import SparkJars
from atliqon_platform.settings import load_settings
from atliqon_platform_tests.commands import environment

PROBE = textwrap.dedent(
    """
    import subprocess
    import sys
    from pathlib import Path

    from atliqon_platform.resources.spark import spark_config, start_spark_session
    from atliqon_platform.resources.spark_jars import SparkJars
    from atliqon_platform.settings import load_settings

    settings = load_settings()
    spark = start_spark_session(spark_config(settings), SparkJars.for_settings(settings), Path(sys.argv[1]))
    assert spark.range(1000).selectExpr("sum(id)").first()[0] == 499500
    pid = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
    counters = subprocess.run([sys.argv[2], str(pid), "PerfCounter.print"], capture_output=True, text=True)
    counter = "java.cls.sharedLoadedClasses="
    shared = [line for line in counters.stdout.splitlines() if line.startswith(counter)]
    print("SHARED", shared[0].removeprefix(counter))
    """
)


def classes_from_archives(folder: Path, jcmd: Path, home: Path) -> int:
    """A session's start in a new process: how many classes its JVM mapped from archives."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(folder), str(jcmd)],
        env=environment(home),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # The JVM's messages about archives are not the command's output.
    assert "cds" not in done.stdout and "dump" not in done.stdout, done.stdout
    return int(next(line for line in done.stdout.splitlines() if line.startswith("SHARED")).split()[1])


def test_the_first_session_writes_the_archive_and_the_next_maps_its_classes_from_it(tmp_path):
    jcmd = resolve_java_home() / "bin" / "jcmd"
    if not jcmd.is_file():
        pytest.skip(f"this Java has no jcmd ({jcmd}), so no class archive")
    folder = tmp_path / "classes"
    # Something that is not an archive at its name (a missing archive takes the same path, once
    # its folder is made): the session starts as without one, mapping the JDK's own archive only
    # (a few hundred to a couple of thousand classes), and its process writes the archive there.
    home = tmp_path / "home"
    settings = load_settings(environment(home))
    archive = local_launch(spark_config(settings), SparkJars.for_settings(settings), folder).class_archive
    folder.mkdir()
    archive.path.write_bytes(b"not a class archive")
    first = classes_from_archives(folder, jcmd, home)
    assert list(folder.iterdir()) == [archive.path]  # no partial file left behind
    with archive.path.open("rb") as start:
        magic = start.read(4)
    # HotSpot's CDS_DYNAMIC_ARCHIVE_MAGIC opens a dynamic archive, then its classes follow.
    assert int.from_bytes(magic, sys.byteorder) == 0xF00BABA8, magic
    written = archive.path.stat()
    assert written.st_size > 10_000_000, written.st_size
    second = classes_from_archives(folder, jcmd, home)
    assert second > first + 3000, (first, second)
    after = archive.path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (written.st_ino, written.st_mtime_ns)  # not written again

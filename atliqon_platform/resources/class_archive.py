"""A class-data-sharing archive of the local Spark JVM's classes: a new JVM maps them from one file
instead of loading, verifying and linking some 28,000 classes again, 2 to 3 s of a cold start
on 2 cores (BENCHMARKS.md, "The JVM's CPU in a tiny build").

One archive per JDK build and class path, in the cache beside the jars, shared by every home.
A local session that finds none records what it loads, and when its process ends the archive
is written from the running JVM (``jcmd <pid> VM.cds dynamic_dump``), under a temporary name
then renamed, so a half-written archive is never used. A file at the archive's name that is not
one (damaged by something else) is written anew, as a missing one is; a JVM given an archive
that does not match it ignores it. Without ``jcmd`` (a runtime without the JDK's tools) there is
no archive.
"""

from __future__ import annotations

import atexit
import hashlib
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyspark

if TYPE_CHECKING:  # Py4J comes with a local JVM; a Spark Connect client has none
    from py4j.java_gateway import JVMView

# The JVM's messages about archives (unusable classes skipped, an archive that does not match)
# are for JVM developers; the session goes on either way.
QUIET = "-Xlog:cds*=off"
DUMP_SECONDS = 60  # a dump takes 2 to 5 s here; a process must not hang at its end
KEEP = 3  # archives kept in the folder, the newest
# The first bytes of a dynamic archive: HotSpot's CDS_DYNAMIC_ARCHIVE_MAGIC, in the machine's order.
DYNAMIC_ARCHIVE_MAGIC = struct.pack("=I", 0xF00BABA8)


@dataclass(frozen=True)
class ClassArchive:
    path: Path
    jcmd: Path

    @classmethod
    def for_launch(cls, folder: Path, java_home: Path, classpath: str) -> ClassArchive | None:
        jcmd = java_home / "bin" / "jcmd"
        if not jcmd.is_file():
            return None
        release = java_home / "release"
        jdk = release.read_text() if release.is_file() else str(java_home.resolve())
        spark = f"{pyspark.__version__} {Path(pyspark.__file__).parent}"
        key = hashlib.sha256("\n".join((jdk, spark, classpath)).encode()).hexdigest()[:16]
        return cls(folder / f"spark-{key}.jsa", jcmd)

    def exists(self) -> bool:
        """An archive is at its path: a file that starts as a dynamic archive does."""
        try:
            with self.path.open("rb") as archive:
                return archive.read(len(DYNAMIC_ARCHIVE_MAGIC)) == DYNAMIC_ARCHIVE_MAGIC
        except OSError:
            return False

    def java_options(self) -> str:
        """Use the archive when it exists, else record what is needed to write it."""
        if self.exists():
            return f"-XX:SharedArchiveFile={self.path} {QUIET}"
        return f"-XX:+RecordDynamicDumpInfo {QUIET}"

    def write_at_exit(self, jvm: JVMView) -> None:
        """Write the archive from the session's JVM (``jvm``, its Py4J view) when this process
        ends, unless one exists by then."""
        if not self.exists():
            atexit.register(self._write_from, jvm)

    def _write_from(self, jvm: JVMView) -> None:
        from py4j.protocol import Py4JError

        if self.exists():
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # The JVM announces the dump on its standard output, which is the command's own;
            # the process is ending, so nothing else is lost with it.
            jvm.java.lang.System.setOut(jvm.java.io.PrintStream(jvm.java.io.OutputStream.nullOutputStream()))
            pid = jvm.java.lang.ProcessHandle.current().pid()
        except Py4JError:
            return  # the JVM is gone already: no archive, the next session records again
        partial = self.path.with_name(f"{self.path.name}.{pid}.partial")
        try:
            done = subprocess.run(
                [str(self.jcmd), str(pid), "VM.cds", "dynamic_dump", str(partial)],
                capture_output=True,
                timeout=DUMP_SECONDS,
                check=False,
            )
            if done.returncode == 0 and partial.is_file():
                partial.replace(self.path)
                self._prune()
        except (OSError, subprocess.TimeoutExpired):
            pass  # no archive: the next session records again
        finally:
            partial.unlink(missing_ok=True)

    def _prune(self) -> None:
        """Keep the newest archives only: each Python environment or JDK has its own (100 to
        150 MB), and the ones left behind by removed environments would pile up."""
        archives = sorted(self.path.parent.glob("spark-*.jsa"), key=lambda path: path.stat().st_mtime)
        for old in archives[:-KEEP]:
            old.unlink(missing_ok=True)

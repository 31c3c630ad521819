"""Delta Lake's and Hadoop's jars for the local Spark engine, fetched once by Spark's own resolver.

pip's pyspark ships Spark without Delta, without S3A and without Hadoop's native library. The
first local session resolves ``PACKAGES`` with Spark's Ivy resolver (``--packages``: it looks
in the local Maven repository ``~/.m2/repository`` first, then Maven Central) into a cache
folder named after the package list; every later session puts the cached jars on the
driver's class path directly, so no resolution runs at start. Offline, ``ATLIQON_SPARK_JARS``
names a folder that holds the jars (README, "Offline").

The jars must be on the JVM's class path at launch, not added by ``spark.jars.packages``:
Hadoop looks up the local filesystem class while spark-submit starts, before such jars load.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pyspark

from atliqon_platform.settings import ConfigurationError, Settings

DELTA_VERSION = "4.4.0"  # the newest delta-spark whose jar for Spark 4.2 Maven Central serves
PACKAGES = (
    f"io.delta:delta-spark_4.2_2.13:{DELTA_VERSION}",
    # Without libhadoop, Hadoop's local filesystem starts a chmod process for every file it
    # creates (about 20 ms each); this one sets permissions in-process.
    "com.globalmentor:hadoop-bare-naked-local-fs:0.1.0",
    # S3A at the version of the Hadoop that pyspark 4.2.0 bundles (hadoop-client-api-3.5.0).
    "org.apache.hadoop:hadoop-aws:3.5.0",
)
# Libraries that Delta's dependencies pull in at older versions than pyspark bundles: on the
# class path ahead of Spark's own jars they would shadow them.
BUNDLED_WITH_SPARK = (
    "org.apache.hadoop:hadoop-client-api",
    "org.apache.hadoop:hadoop-client-runtime",
    "org.apache.parquet:parquet-hadoop",
    "org.apache.parquet:parquet-column",
    "org.apache.parquet:parquet-common",
    "org.apache.parquet:parquet-encoding",
    "org.apache.parquet:parquet-format-structures",
    "org.apache.parquet:parquet-jackson",
    "com.fasterxml.jackson.core:jackson-databind",
    "com.fasterxml.jackson.core:jackson-core",
    "com.fasterxml.jackson.core:jackson-annotations",
    "com.fasterxml.jackson.datatype:jackson-datatype-jdk8",
    "org.slf4j:slf4j-api",
    "org.apache.logging.log4j:log4j-api",
    "org.apache.logging.log4j:log4j-core",
    "org.apache.logging.log4j:log4j-slf4j2-impl",
    "org.xerial.snappy:snappy-java",
    "com.github.luben:zstd-jni",
    "io.airlift:aircompressor",
    "commons-pool:commons-pool",
    "commons-logging:commons-logging",
    "org.roaringbitmap:RoaringBitmap",
    "org.roaringbitmap:shims",
    "com.google.code.findbugs:jsr305",
    "javax.annotation:javax.annotation-api",
)
RESOLVED_LIST = "jars.txt"


def _jar_names() -> list[str]:
    """The file name each package's own jar ends with (``artifact-version.jar``)."""
    return [f"{artifact}-{version}.jar" for _, artifact, version in (p.split(":") for p in PACKAGES)]


@dataclass(frozen=True)
class SparkJars:
    """Where the local engine's jars come from: a folder given offline, or the resolver's cache."""

    folder: Path | None  # ATLIQON_SPARK_JARS
    cache: Path

    @classmethod
    def for_settings(cls, settings: Settings) -> SparkJars:
        return cls(folder=settings.spark_jars_folder, cache=settings.spark_jars_cache)

    def classpath(self, java_home: Path) -> str:
        """The jars, joined for ``spark.driver.extraClassPath``; resolved on first use."""
        jars = self._from_folder() if self.folder is not None else self._from_cache(java_home)
        return os.pathsep.join(str(jar) for jar in jars)

    def _from_folder(self) -> list[Path]:
        assert self.folder is not None
        jars = sorted(self.folder.glob("*.jar"))
        missing = [name for name in _jar_names() if not any(jar.name.endswith(name) for jar in jars)]
        if missing:
            raise ConfigurationError(
                f"ATLIQON_SPARK_JARS={self.folder} lacks {', '.join(missing)}: copy the jars of an online "
                "install there (the folder the first local Spark start prints, or see README, Offline)"
            )
        return jars

    @property
    def resolved_folder(self) -> Path:
        """The cache folder for this package list: a new list resolves afresh, beside the old."""
        digest = hashlib.sha256("\n".join((*PACKAGES, *BUNDLED_WITH_SPARK)).encode()).hexdigest()[:12]
        return self.cache / digest

    def _from_cache(self, java_home: Path) -> list[Path]:
        folder = self.resolved_folder
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one resolver at a time; the others read its list
            listed = folder / RESOLVED_LIST
            if listed.exists():
                jars = [Path(line) for line in listed.read_text().split()]
                if all(jar.exists() for jar in jars):
                    return jars
            jars = _resolve(folder, java_home)
            temporary = listed.with_suffix(".tmp")
            temporary.write_text("\n".join(str(jar) for jar in jars) + "\n")
            temporary.replace(listed)
            return jars


def _resolve(folder: Path, java_home: Path) -> list[Path]:
    """Spark's own resolver fetches the packages: a spark-submit of an empty script."""
    spark_home = Path(pyspark.__file__).parent
    empty = folder / "resolve.py"
    empty.write_text("")
    command = [
        str(spark_home / "bin" / "spark-submit"),
        "--conf",
        f"spark.jars.ivy={folder / 'ivy'}",
        "--conf",
        f"spark.jars.excludes={','.join(BUNDLED_WITH_SPARK)}",
        "--packages",
        ",".join(PACKAGES),
        str(empty),
    ]
    environment = {**os.environ, "JAVA_HOME": str(java_home), "SPARK_HOME": str(spark_home)}
    result = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    jars = sorted((folder / "ivy" / "jars").glob("*.jar"))
    if result.returncode != 0 or not jars:
        raise ConfigurationError(
            f"Spark could not fetch Delta Lake's jars ({_reason(result.stdout + result.stderr)}): let this "
            "machine reach Maven Central, or fill ~/.m2/repository with Maven (mvn dependency:get "
            f"-Dartifact={PACKAGES[0]}), or set ATLIQON_SPARK_JARS to a folder holding the jars"
        )
    return jars


def _reason(output: str) -> str:
    """The resolver's own words for what failed, in one line."""
    for marker in ("unresolved dependency", "download failed", "java.net.", "Exception"):
        for line in output.splitlines():
            if marker in line:
                return line.strip(" :\t")[:300]
    return "spark-submit failed without a reason"

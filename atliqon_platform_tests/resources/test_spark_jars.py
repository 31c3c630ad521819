"""Where the local engine's jars come from, and the one line a start without them gives."""

from pathlib import Path

import pytest

from atliqon_platform.resources import spark_jars
from atliqon_platform.resources.spark import resolve_java_home
from atliqon_platform.resources.spark_jars import SparkJars
from atliqon_platform.settings import ConfigurationError, load_settings


def test_an_offline_folder_without_the_jars_names_what_is_missing(tmp_path):
    (tmp_path / "delta-spark_4.2_2.13-4.4.0.jar").write_bytes(b"")
    jars = SparkJars(folder=tmp_path, cache=tmp_path / "cache")
    with pytest.raises(ConfigurationError) as error:
        jars.classpath(resolve_java_home())
    message = str(error.value)
    assert "\n" not in message and f"ATLIQON_SPARK_JARS={tmp_path}" in message
    assert "hadoop-bare-naked-local-fs-0.1.0.jar" in message and "hadoop-aws-3.5.0.jar" in message
    assert "delta-spark" not in message.split(" lacks ")[1]


def test_the_offline_folder_is_the_class_path(tmp_path):
    names = ["io.delta_delta-spark_4.2_2.13-4.4.0.jar", "hadoop-bare-naked-local-fs-0.1.0.jar"]
    names += ["hadoop-aws-3.5.0.jar", "bundle-2.35.4.jar"]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    classpath = SparkJars(folder=tmp_path, cache=tmp_path / "cache").classpath(resolve_java_home())
    assert sorted(Path(entry).name for entry in classpath.split(":")) == sorted(names)


def test_the_setting_points_at_a_folder(tmp_path):
    settings = load_settings({"ATLIQON_SPARK_JARS": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "c")})
    assert SparkJars.for_settings(settings) == SparkJars(tmp_path, tmp_path / "c" / "atliqon" / "jars")
    with pytest.raises(ConfigurationError, match="ATLIQON_SPARK_JARS=.* is not a folder"):
        load_settings({"ATLIQON_SPARK_JARS": str(tmp_path / "nowhere")})


def test_jars_that_cannot_be_resolved_stop_the_start_in_one_line(tmp_path, monkeypatch):
    """Spark's own resolver, really asked for a package no repository has."""
    monkeypatch.setattr(spark_jars, "PACKAGES", ("io.atliqon.nowhere:no-such-artifact:0.0.1",))
    jars = SparkJars(folder=None, cache=tmp_path)
    with pytest.raises(ConfigurationError) as error:
        jars.classpath(resolve_java_home())
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("Spark could not fetch Delta Lake's jars (")
    assert "no-such-artifact" in message and "ATLIQON_SPARK_JARS" in message
    assert not (jars.resolved_folder / spark_jars.RESOLVED_LIST).exists()

"""Test instances with the event log `atliqon` configures, so that tests run on the storage
users run on (and range runs cost a third of what Dagster's default storage makes them)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster import DagsterInstance, instance_for_test

from atliqon_platform.instance.event_log import event_log_storage_config


@contextmanager
def platform_instance() -> Iterator[DagsterInstance]:
    with tempfile.TemporaryDirectory() as folder:
        # Without the community sign-up dialog, as the instance `atliqon` writes (cli.py).
        overrides = {"event_log_storage": event_log_storage_config(Path(folder)), "nux": {"enabled": False}}
        with instance_for_test(overrides=overrides, temp_dir=folder) as instance:
            yield instance

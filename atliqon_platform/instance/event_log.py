"""Dagster's SQLite event log with each database's connection kept open between events.

Why: a run over a range of partitions writes one event per partition and asset (about 1,950
for the real dataset's full build). Dagster's SQLite storage builds a new engine and
connection for every event, about 10 ms each here; reusing them cuts an event to about 3 ms
(BENCHMARKS.md, overheads). Storage format and locking are SQLite's, unchanged: the webserver,
the daemon and the runs still share the same files.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Dagster exports no public base for an event log storage: the pool extends its own SQLite storage,
# which dagster.yaml names by module and class (ConfigurableClassData) like any other storage.
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine

# Databases with an open connection per process: the index and the few runs being written.
OPEN_DATABASES = 8


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Any
    ) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        """The shard's engine, most recently used last; the least recently used beyond
        OPEN_DATABASES is closed."""
        engine = self._engines.pop(shard, None)
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard), connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
            )
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
        self._engines[shard] = engine
        while len(self._engines) > OPEN_DATABASES:
            self._engines.popitem(last=False)[1].dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock, self._engine(shard).connect() as connection, connection.begin():
            yield connection

    def _close_all(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        self._close_all()  # before the files go
        super().wipe()

    def dispose(self) -> None:
        self._close_all()
        super().dispose()


def event_log_storage_config(dagster_home: Path) -> dict[str, Any]:
    """The instance's ``event_log_storage`` entry: this storage, in Dagster's own file layout."""
    return {
        "module": __name__,
        "class": PooledSqliteEventLogStorage.__name__,
        "config": {"base_dir": str(dagster_home / "history" / "runs")},
    }

"""A Pipes child that works until it is interrupted (SIGINT: what Pipes' subprocess client sends
on a termination). It says so in the folder ``INTERRUPTED_CHILD_SAYS`` names: ``started`` once
it works, ``interrupted`` once interrupted."""

import os
import time
from pathlib import Path

from dagster_pipes import open_dagster_pipes

if __name__ == "__main__":
    said = Path(os.environ["INTERRUPTED_CHILD_SAYS"])
    with open_dagster_pipes():
        try:
            (said / "started").touch()
            time.sleep(60)
        except KeyboardInterrupt:
            (said / "interrupted").touch()
            raise

"""A Pipes child that works until it is interrupted (SIGINT: what Pipes' subprocess client sends
on a termination). It says so in the folder ``INTERRUPTED_CHILD_SAYS`` names: ``started`` once
it works, ``interrupted`` once interrupted. With ``INTERRUPTED_CHILD_IGNORES`` set, it goes on
working after the SIGINT, as a child stuck in a call that does not return would, and says
``finished`` if it lives to finish."""

import os
import time
from pathlib import Path

from dagster_pipes import open_dagster_pipes

WORK_SECONDS = 60

if __name__ == "__main__":
    said = Path(os.environ["INTERRUPTED_CHILD_SAYS"])
    with open_dagster_pipes():
        try:
            (said / "started").touch()
            time.sleep(WORK_SECONDS)
        except KeyboardInterrupt:
            (said / "interrupted").touch()
            if "INTERRUPTED_CHILD_IGNORES" not in os.environ:
                raise
            time.sleep(WORK_SECONDS)
            (said / "finished").touch()

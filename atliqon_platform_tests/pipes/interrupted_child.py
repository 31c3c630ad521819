"""A Pipes child that works until it is interrupted (SIGINT: what Pipes' subprocess client sends
on a termination), and then writes the file that ``INTERRUPTED_CHILD_SAYS`` names."""

import os
import time
from pathlib import Path

from dagster_pipes import open_dagster_pipes

if __name__ == "__main__":
    with open_dagster_pipes():
        try:
            time.sleep(60)
        except KeyboardInterrupt:
            Path(os.environ["INTERRUPTED_CHILD_SAYS"]).write_text("interrupted")
            raise

"""The process a Pipes launch runs: the platform's own job, reported back to Dagster.

Run as ``python -m atliqon_platform.pipes_entrypoint`` (a subprocess) or as the wheel's
``atliqon-pipes`` console script (a Databricks job task). The launching asset passes the
job's name as the ``job`` extra and, for partitioned jobs, its partition range; this
process materialises exactly that with the definitions an in-process run uses, on an
ephemeral Dagster instance, and reports every materialisation and check result with its
metadata. The settings arrive as ``--setting NAME=VALUE`` (a serverless job has no
environment variables to set) over those of the environment.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Sequence

from dagster import DagsterInstance
from dagster_pipes import PipesContext

from atliqon_platform.definitions import build_definitions
from atliqon_platform.instance.threaded_executor import INFO_CONSOLE, execute_in_this_process
from atliqon_platform.pipes.reporting import CHANNELS, pipes_session, report_results, run_tags
from atliqon_platform.run_failures import failure_reasons
from atliqon_platform.settings import PipesMode, Settings, load_settings


def materialise(pipes: PipesContext, settings: Settings) -> None:
    """Run the job the launcher names, here, and report what it produced; raise if it failed."""
    # This process is where the assets run: it must not launch Pipes runs of its own.
    settings = dataclasses.replace(settings, pipes=PipesMode.OFF)
    job_name = pipes.get_extra("job")
    job = build_definitions(settings).resolve_job_def(job_name)
    instance = DagsterInstance.ephemeral()
    result = execute_in_this_process(job, instance, run_tags(pipes), INFO_CONSOLE)
    materialisations, checks = report_results(pipes, result.all_events)
    pipes.log.info(f"{job_name}: {materialisations} asset(s) materialised, {checks} check(s) evaluated")
    if not result.success:
        # The launcher may see nothing else of this process: a Databricks job's logs stay in its workspace.
        raise RuntimeError(f"{job_name} failed: " + " | ".join(failure_reasons(result.all_events)))


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="atliqon-pipes", description=__doc__.split("\n\n")[0])
    parser.add_argument("--channel", choices=sorted(CHANNELS), default="default")
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE")
    arguments, _ = parser.parse_known_args(argv)  # the rest are Pipes' bootstrap arguments
    return arguments


def given_settings(arguments: argparse.Namespace) -> dict[str, str]:
    """The ``--setting NAME=VALUE`` arguments."""
    return dict(setting.partition("=")[::2] for setting in arguments.setting)


def main(argv: Sequence[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    arguments = parse_arguments(argv)
    given = given_settings(arguments)
    # The AWS libraries (boto3, delta-rs, S3A) read their region from the environment, not from the settings.
    os.environ.update({name: value for name, value in given.items() if name.startswith("AWS_")})
    with pipes_session(arguments.channel, argv) as pipes:
        # Read once Pipes is open, so that a setting that is wrong is reported to the launching run.
        materialise(pipes, load_settings({**os.environ, **given}))


if __name__ == "__main__":
    main()

"""A Pipes child like the entry point, for a tiny graph with an asset check: it runs the job in
process and reports with the entry point's own ``report_results``."""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    DagsterInstance,
    Definitions,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
    define_asset_job,
)
from dagster_pipes import open_dagster_pipes

from atliqon_platform.pipes.reporting import report_results


@asset(key=["gold", "example"], group_name="gold")
def example() -> MaterializeResult:
    return MaterializeResult(
        metadata={"dagster/row_count": 3, "files": ["a.csv"], "dagster/uri": MetadataValue.path("/x")}
    )


@asset_check(asset=example, blocking=True)
def example_has_enough_rows() -> AssetCheckResult:
    return AssetCheckResult(
        passed=False, severity=AssetCheckSeverity.WARN, metadata={"rows": 3, "minimum": 5, "why": "too few"}
    )


example_job = define_asset_job("example_job")
GRAPH = [example, example_has_enough_rows]


def run_in_process():
    definitions = Definitions(assets=[example], asset_checks=[example_has_enough_rows], jobs=[example_job])
    return definitions.resolve_job_def("example_job").execute_in_process(instance=DagsterInstance.ephemeral())


if __name__ == "__main__":
    with open_dagster_pipes() as pipes:
        report_results(pipes, run_in_process().all_events)

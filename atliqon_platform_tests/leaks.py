"""Where a secret could show once runs have run: the instance's event log (messages, errors,
materialisation and check metadata), every file the instance keeps (captured logs included), and
the resources' configuration the webserver's GraphQL API serves to the UI's resource pages."""

from __future__ import annotations

from pathlib import Path

from dagster import DagsterEventType, DagsterInstance
from dagster._core.test_utils import in_process_test_workspace
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._serdes import serialize_value
from dagster_graphql.test.utils import execute_dagster_graphql, infer_repository_selector

from atliqon_platform_tests import code_location

RESOURCES_QUERY = """
query Resources($selector: RepositorySelector!) {
  allTopLevelResourceDetailsOrError(repositorySelector: $selector) {
    __typename
    ... on ResourceDetailsList {
      results {
        name
        resourceType
        configFields { name defaultValueAsJson }
        configuredValues { key value type }
        nestedResources { name type }
      }
    }
  }
}"""


def event_log(instance: DagsterInstance) -> str:
    """Every event of every run of the instance, serialised whole."""
    return "\n".join(
        serialize_value(entry) for run in instance.get_runs() for entry in instance.all_logs(run.run_id)
    )


def materialisation_metadata(instance: DagsterInstance) -> dict[tuple[str, str | None], str]:
    """Each materialisation's metadata, serialised, by asset and partition."""
    found = {}
    for run in instance.get_runs():
        for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION):
            materialisation = entry.dagster_event.event_specific_data.materialization
            key = (materialisation.asset_key.to_user_string(), materialisation.partition)
            found[key] = serialize_value(materialisation.metadata)
    return found


def instance_files_holding(instance: DagsterInstance, secret: str) -> list[Path]:
    """The instance's files (databases, captured stdout and stderr) whose bytes hold ``secret``."""
    files = (path for path in Path(instance.root_directory).rglob("*") if path.is_file())
    return [path for path in files if secret.encode() in path.read_bytes()]


def resources_in_graphql(instance: DagsterInstance) -> dict[str, dict]:
    """The code location's resources as the webserver's GraphQL API shows them, by name; the code
    location is built from the environment as it is now (see ``code_location``)."""
    origin = LoadableTargetOrigin(python_file=code_location.__file__, attribute="definitions")
    with in_process_test_workspace(instance, origin) as context:
        variables = {"selector": infer_repository_selector(context)}
        result = execute_dagster_graphql(context, RESOURCES_QUERY, variables)
    assert not result.errors, result.errors
    answer = result.data["allTopLevelResourceDetailsOrError"]
    assert answer["__typename"] == "ResourceDetailsList", answer
    return {resource["name"]: resource for resource in answer["results"]}

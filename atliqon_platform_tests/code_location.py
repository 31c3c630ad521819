"""The code location ``atliqon_platform.definitions`` serves, built when Dagster loads it, so a
test that has set the environment (S3, Databricks) gets that environment's resources."""

from dagster import Definitions

from atliqon_platform.definitions import build_definitions
from atliqon_platform.settings import load_settings


def definitions() -> Definitions:
    return build_definitions(load_settings())

"""The tables as assets, layer by layer, and the jobs that run them."""

from __future__ import annotations

from dagster import AssetsDefinition

from atliqon_platform.assets.bronze import build_bronze_assets
from atliqon_platform.assets.gold import build_gold_assets
from atliqon_platform.assets.silver import build_silver_assets
from atliqon_platform.partitions import Partitions


def build_assets(partitions: Partitions) -> list[AssetsDefinition]:
    """Every table of the catalogue, bronze to gold, partitioned by ``partitions``."""
    return [
        *build_bronze_assets(partitions.daily),
        *build_silver_assets(partitions.daily),
        *build_gold_assets(partitions),
    ]

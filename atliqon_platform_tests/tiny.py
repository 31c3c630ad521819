"""A tiny home: the synthetic data of both companies at the smallest size that still holds every
defect kind, for tests whose point is behaviour (bad files, crashes, concurrent runs), not scale."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from atliqon_platform.resources.landing_zone import LandingZoneResource
from atliqon_platform.sample_data.synthetic import Scale, generate
from atliqon_platform.settings import Settings, load_settings

TINY = Scale(days=2, customers=6, products=6, lines_per_day=12, parent_customers=2, parent_products=3)


def tiny_settings(home: Path) -> Settings:
    return load_settings({"ATLIQON_HOME": str(home), "ATLIQON_SPARK_MASTER": "local[2]"})


def seed_tiny(home: Path, scale: Scale = TINY) -> LandingZoneResource:
    """The landing zone of ``home`` with the tiny synthetic delivery of ``scale``."""
    landing = LandingZoneResource(uri=tiny_settings(home).landing_uri)
    generate(landing.write, scale)
    return landing


def day(offset: int) -> dt.date:
    return TINY.start + dt.timedelta(days=offset)

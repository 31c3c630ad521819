"""bronze.orders' reading of a range of landing days."""

import datetime as dt

from atliqon_platform.assets.bronze import read_order_days
from atliqon_platform.resources.landing_zone import LandingZoneResource
from atliqon_platform_tests.tiny import TINY, day, tiny_order_file


def test_each_line_carries_the_landing_day_of_its_file_and_only_the_ranges_files_are_read(tmp_path):
    landing = LandingZoneResource(uri=str(tmp_path))
    for offset in range(4):
        landing.write(*tiny_order_file(day(offset)))

    orders = read_order_days(landing, day(1), day(3))

    by_file: dict[str, set[dt.date]] = {}
    for row in orders.loaded.table.select(["file_name", "landing_date"]).to_pylist():
        by_file.setdefault(row["file_name"], set()).add(row["landing_date"])
    assert by_file == {tiny_order_file(day(offset))[0]: {day(offset)} for offset in (1, 2, 3)}
    assert orders.loaded.table.num_rows == 3 * TINY.lines_per_day

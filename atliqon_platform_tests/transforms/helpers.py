"""Small bronze-shaped DataFrames for rule tests."""

import datetime as dt

BRONZE_EXTRA = "line_number long, parse_error string, raw_line string, file_name string"


def bronze_frame(spark, columns: str, rows: list[tuple], landing_date: dt.date | None = None):
    """Rows of raw strings with the lineage columns bronze adds (line numbers from 2)."""
    full = [(*row, index + 2, None, None, "f.csv") for index, row in enumerate(rows)]
    schema = ", ".join(f"{name} string" for name in columns.split(",")) + ", " + BRONZE_EXTRA
    frame = spark.createDataFrame(full, schema)
    if landing_date is not None:
        from pyspark.sql import functions as F

        frame = frame.withColumn("landing_date", F.lit(landing_date))
    return frame

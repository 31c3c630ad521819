"""Running the platform's own assets outside the Dagster process, through Dagster Pipes."""

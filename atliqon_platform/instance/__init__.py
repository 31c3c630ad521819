"""The Dagster instance the platform writes to: its storage and its dagster.yaml."""

"""How Dagster runs and records the platform's runs: the executor of a run's steps, and the
instance's storage and its dagster.yaml."""

"""Bronze, silver and gold Delta tables as Dagster assets, keyed ``[layer, table]``."""

import warnings

from dagster import BetaWarning

# Single-run backfill policies are beta in Dagster; the platform relies on them on purpose.
warnings.filterwarnings("ignore", category=BetaWarning)

"""Bronze, silver and gold Delta tables as Dagster assets, keyed ``[layer, table]``."""

import warnings

from dagster import BetaWarning, PreviewWarning

# Single-run backfill policies (beta) and partitioned asset checks (preview) are what the
# platform relies on, on purpose: one run per backfill, and check results per landing day.
warnings.filterwarnings("ignore", category=BetaWarning)
warnings.filterwarnings("ignore", category=PreviewWarning)

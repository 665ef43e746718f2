"""Dagster wiring, loaded by ``load_from_defs_folder``: one asset family per module.

The project uses beta and preview APIs on purpose (blocking and partitioned asset checks, backfill
policies, automation conditions); this one filter keeps their warnings out of every start.
"""

import warnings

import dagster as dg

warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)

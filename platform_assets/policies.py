"""Policies shared by every stage."""

import dagster as dg

# Steps that touch I/O (landing files, parquet, the DuckDB warehouse, dbt) are retried twice,
# 2 s then about 4 s later, with jitter so that retries of parallel steps do not line up.
IO_RETRY = dg.RetryPolicy(
    max_retries=2, delay=2, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)

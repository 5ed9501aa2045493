"""Frames out of DuckDB, shared by every stage that reads through it."""

import functools

import duckdb
import polars as pl


def scratch_duckdb() -> duckdb.DuckDBPyConnection:
    """A new connection (cursor) to this process's in-memory DuckDB, for computing on frames;
    close it after use. Opening a database costs about 20 ms of CPU, a cursor of an open one
    0.5 ms (the lake opened three databases per batch of 150k rows). Each cursor has its own
    registered frames, so threads may each use one at the same time."""
    return _scratch_database().cursor()


@functools.cache
def _scratch_database() -> duckdb.DuckDBPyConnection:
    # A database that lives on keeps what its threads freed, up to 128 MB each and 512 MB in
    # bulk by default: clean_app_events of 10M events peaked 100 MB higher. Flushed at 8 MB,
    # it peaks where a database per batch did.
    flushed = "8MB"
    return duckdb.connect(
        config={
            "allocator_flush_threshold": flushed,
            "allocator_bulk_deallocation_flush_threshold": flushed,
        }
    )


def to_polars(relation) -> pl.DataFrame:
    """A DuckDB relation as polars, with DuckDB's `Etc/UTC` timestamps labelled `UTC` (the
    lake's label), so they compare and validate like every other timestamp here."""
    frame = relation.pl()
    return frame.with_columns(
        pl.col(name).dt.convert_time_zone("UTC")
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime) and dtype.time_zone
    )

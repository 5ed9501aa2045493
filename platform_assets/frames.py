"""Frames out of DuckDB, shared by every stage that reads through it."""

import polars as pl


def to_polars(relation) -> pl.DataFrame:
    """A DuckDB relation as polars, with DuckDB's `Etc/UTC` timestamps labelled `UTC` (the
    lake's label), so they compare and validate like every other timestamp here."""
    frame = relation.pl()
    return frame.with_columns(
        pl.col(name).dt.convert_time_zone("UTC")
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime) and dtype.time_zone
    )

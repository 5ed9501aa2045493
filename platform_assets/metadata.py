"""Small helpers that render asset metadata for the person reading it in the Dagster UI."""

from __future__ import annotations

import dagster as dg
import polars as pl

# The metadata key under which the UI lists an asset's columns.
COLUMN_SCHEMA = "dagster/column_schema"


def markdown_table(rows: list[dict]) -> dg.MarkdownMetadataValue:
    if not rows:
        return dg.MetadataValue.md("_none_")
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(r[h]) for h in header) + " |" for r in rows]
    return dg.MetadataValue.md("\n".join(lines))


def preview(frame: pl.DataFrame, rows: int = 5, columns: int = 10) -> dg.MarkdownMetadataValue:
    """The first rows (values cut to 40 characters), without the raw `_record` text."""
    shown = frame.head(rows).select([c for c in frame.columns if c != "_record"][:columns])
    return markdown_table([{k: str(v)[:40] for k, v in r.items()} for r in shown.to_dicts()])


def column_schema(frame_schema: dict[str, object], descriptions: dict[str, str] | None = None):
    descriptions = descriptions or {}
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, str(dtype), description=descriptions.get(name, ""))
            for name, dtype in frame_schema.items()
        ]
    )

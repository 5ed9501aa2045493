"""Data Platform code location: landing -> lake -> warehouse (dbt + DuckDB) -> ML features."""

from platform_assets.definitions import defs

__all__ = ["defs"]

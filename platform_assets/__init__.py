"""Data Platform code location: landing -> lake -> warehouse (dbt + DuckDB) -> ML features.

`defs` is resolved on first access (PEP 562), so `data-platform simulate` and the pure
transforms import without loading Dagster or the dbt manifest; Dagster finds `defs` through
`dir()` as usual (`-m platform_assets`, workspace.yaml).
"""


def __getattr__(name: str):
    if name == "defs":
        from platform_assets.definitions import defs

        return defs
    raise AttributeError(f"module 'platform_assets' has no attribute {name!r}")


def __dir__() -> list[str]:
    return [*globals(), "defs"]

"""Type a raw delivery: JSON lines are decoded, text is cast, and every row that cannot be
typed gets a `_reason` naming the rule it broke. Nothing is dropped here."""

from __future__ import annotations

import duckdb
import polars as pl

from platform_assets.sources.specs import SourceSpec

TRUE_FALSE = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def parse_raw(raw: pl.DataFrame, spec: SourceSpec) -> pl.DataFrame:
    """Typed columns of `spec.typed_columns`, the raw meta columns, and `_reason` (null = ok)."""
    text = _decode_json(raw, spec) if spec.format == "jsonl" else _csv_text(raw, spec)
    casts = {name: _cast(name, dtype) for name, dtype in spec.typed_columns.items()}
    invalid = [
        pl.when(pl.col(name).is_not_null() & cast.is_null()).then(pl.lit(f"invalid_value:{name}"))
        for name, cast in casts.items()
    ]
    return text.with_columns(
        pl.coalesce(pl.col("_reason"), *invalid).alias("_reason"),
        *(cast.alias(name) for name, cast in casts.items()),
    )


def _cast(name: str, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if dtype == pl.Float64:
        value = col.cast(pl.Float64, strict=False)
        return pl.when(value.is_finite()).then(value)
    if dtype == pl.Boolean:
        return col.str.to_lowercase().replace_strict(
            TRUE_FALSE, default=None, return_dtype=pl.Boolean
        )
    if isinstance(dtype, pl.Datetime):
        return col.str.to_datetime("%+", time_unit="us", time_zone="UTC", strict=False)
    return col


def _csv_text(raw: pl.DataFrame, spec: SourceSpec) -> pl.DataFrame:
    frame = raw
    for name in spec.fields:
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.Utf8).alias(name))
    if "_record" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, pl.Utf8).alias("_record"))
    ragged = pl.col("_record").is_not_null()
    delivered = [c for c in frame.columns if not c.startswith("_")]
    return frame.with_columns(  # `_record` keeps each row as delivered, for quarantine
        pl.coalesce(pl.col("_record"), pl.struct(delivered).struct.json_encode()).alias("_record"),
        pl.coalesce(pl.col("_error"), pl.when(ragged).then(pl.lit("malformed_csv_row"))).alias(
            "_reason"
        ),
    )


def _decode_json(raw: pl.DataFrame, spec: SourceSpec) -> pl.DataFrame:
    """Decode `_record` with DuckDB's JSON reader (robust to malformed lines, and fast).

    Each line is parsed twice, not four times: `json_valid` is cheap, and valid JSON that
    starts with `{` is an object (no `json_type` parse); `decoded` is MATERIALIZED, as inlined
    DuckDB would decode the line again for each field read from it. Only the decoded columns
    come back from DuckDB (the line itself is not copied back), and the costly `trim` runs
    only on lines that are not objects."""
    structure = ", ".join(
        f'"{name}": "{"JSON" if name in spec.json_fields else "VARCHAR"}"' for name in spec.fields
    )
    extracts = [
        f"json_extract_string(d.{field}, '{path}') AS {column}"
        for column, (field, path) in spec.json_extract.items()
    ]
    scrubbed = {
        field: "CASE WHEN json_type(d.{f}) = 'OBJECT' THEN json_merge_patch(d.{f}, '{p}') "
        "ELSE d.{f} END".format(f=field, p="{" + ",".join(f'"{k}":null' for k in keys) + "}")
        for field, keys in spec.json_scrub.items()
    }
    columns = [f"{scrubbed.get(n, f'd.{n}')}::VARCHAR AS {n}" for n in spec.fields] + extracts
    query = f"""
        WITH decoded AS MATERIALIZED (
            SELECT _record, _error, json_transform(
                CASE WHEN _kind = 'OBJECT' THEN _record END, '{{{structure}}}'
            ) AS d, _kind
            FROM (
                SELECT _record, _error, CASE WHEN json_valid(_record) THEN
                    CASE WHEN regexp_matches(_record, '^\\s*\\{{') THEN 'OBJECT' ELSE 'OTHER' END
                END AS _kind
                FROM raw
            )
        )
        SELECT {", ".join(columns)},
            CASE
                WHEN _error IS NOT NULL THEN _error
                WHEN _kind = 'OBJECT' THEN NULL
                WHEN _record IS NULL OR trim(_record) = '' THEN 'empty_line'
                WHEN _kind IS NULL THEN 'malformed_json'
                ELSE 'not_a_json_object'
            END AS _reason
        FROM decoded
    """
    with duckdb.connect() as con:
        con.register("raw", raw.select("_record", "_error"))
        decoded = con.sql(query).pl()  # in raw's order (DuckDB preserves insertion order)
    reason = decoded.get_column("_reason")
    return pl.concat([decoded.drop("_reason"), raw, reason.to_frame()], how="horizontal")

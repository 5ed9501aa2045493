"""Type a raw delivery: JSON lines are decoded, text is cast, and every row that cannot be
typed gets a `_reason` naming the rule it broke. Nothing is dropped here."""

from __future__ import annotations

import json
import re

import duckdb
import polars as pl

from platform_assets.frames import scratch_duckdb
from platform_assets.sources.specs import SourceSpec

TRUE_FALSE = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
# A leap second (RFC 3339 allows `23:59:60`) is read as the minute's last microsecond: parsed
# as is it rolls over into the next minute, and at midnight into the next day's partition.
LEAP_SECOND = r"([Tt ]\d{2}:\d{2}):60(?:\.\d*)?"  # RFC 3339 allows t or a space
LAST_MICROSECOND = "${1}:59.999999"


def parse_raw(raw: pl.DataFrame, spec: SourceSpec) -> pl.DataFrame:
    """Typed columns of `spec.typed_columns`, the raw meta columns, and `_reason` (null = ok).

    A JSON object dropped for PII (`context`) is not among them: only the keys taken from it."""
    text = (
        scrub_objects(_decode_json(raw, spec), spec)
        if spec.format == "jsonl"
        else _csv_text(raw, spec)
    )
    casts = {
        name: _cast(name, dtype)
        for name, dtype in spec.typed_columns.items()
        if name in text.columns
    }
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
        leap = col.str.contains(":60", literal=True)  # a literal test: the regex runs rarely
        text = pl.when(leap).then(col.str.replace(LEAP_SECOND, LAST_MICROSECOND)).otherwise(col)
        return text.str.to_datetime("%+", time_unit="us", time_zone="UTC", strict=False)
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

    A batch is decoded first as if every line were JSON, each parsed once: `json_transform`
    fails on a malformed line, and only then is the batch decoded again with each line checked
    by `json_valid` before its transform (a `try()` of the transform alone is slower as soon
    as a few lines are malformed)."""
    with scratch_duckdb() as con:
        con.register("raw", raw.select("_record", "_error"))
        try:
            decoded = con.sql(_decode_sql(spec, checked=False)).pl()
        except duckdb.InvalidInputException:  # a line is not JSON
            decoded = con.sql(_decode_sql(spec, checked=True)).pl()
    # in raw's order (DuckDB preserves insertion order)
    reason = decoded.get_column("_reason")
    return pl.concat([decoded.drop("_reason"), raw, reason.to_frame()], how="horizontal")


def _decode_sql(spec: SourceSpec, *, checked: bool) -> str:
    """The decoding query: `checked`, each line's transform is guarded by `json_valid`.

    `decoded` is MATERIALIZED, as inlined DuckDB would decode the line again for each field
    read from it. A dropped PII object (`context`) is decoded straight into the keys extracted
    from it and never comes back as text; a kept object is parsed again only if its text may
    hold a key to extract or scrub. Only the decoded columns come back from DuckDB."""
    structs = struct_keys(spec)
    columns = [f"{_text(name, spec)} AS {name}" for name in spec.fields if name not in structs]
    columns += [
        f"{_extracted(field, path, structs)} AS {column}"
        for column, (field, path) in spec.json_extract.items()
    ]
    if checked:
        valid, lines = "json_valid(_record)", "CASE WHEN _valid THEN _record END"
    else:  # every line is JSON, or the transform fails
        valid, lines = "_record IS NOT NULL", "_record"
    structure = _structure(spec, structs)
    return f"""
        WITH decoded AS MATERIALIZED (
            SELECT _record, _error, _valid, json_transform({lines}, '{structure}') AS d
            FROM (SELECT _record, _error, {valid} AS _valid FROM raw)
        )
        SELECT {", ".join(columns)},
            CASE
                WHEN _error IS NOT NULL THEN _error
                WHEN _valid
                    AND (starts_with(_record, '{{') OR regexp_matches(_record, '^\\s*\\{{'))
                    THEN {_wrong_type_sql(spec)}
                WHEN _record IS NULL OR trim(_record) = '' THEN 'empty_line'
                WHEN NOT _valid THEN 'malformed_json'
                ELSE 'not_a_json_object'
            END AS _reason
        FROM decoded
    """


def scrub_objects(decoded: pl.DataFrame, spec: SourceSpec) -> pl.DataFrame:
    """What DuckDB's scrub (`scrubbed_sql`: the key exactly as named, at the top level) leaves
    of PII in the object fields of `spec.json_scrub`: a key named in another case or with
    spaces (`"Email"`, `" email"`), one level down or deeper, and any text that holds an email
    address, under whatever key, are removed; a top-level key found so fills its extracted
    column (`email`) if DuckDB found none. Only objects whose text names a key (in any case) or
    holds an `@` are parsed again, in Python: about 0.1% of the events, the signups."""
    for field, keys in spec.json_scrub.items():
        if field not in decoded.columns:
            continue
        text = decoded.get_column(field)
        candidates = text.str.contains_any([*keys, "@"], ascii_case_insensitive=True)
        rows = candidates.fill_null(False).arg_true()
        if rows.len() == 0:
            continue
        scrubbed = [_scrubbed(value, keys) for value in text.gather(rows)]
        columns = [decoded.get_column(field).scatter(rows, [kept for kept, _ in scrubbed])]
        if any(kept is None for kept, _ in scrubbed):  # quarantined, its object not kept
            reason = decoded.get_column("_reason")
            refused = [f"invalid_value:{field}" if kept is None else None for kept, _ in scrubbed]
            marked = reason.gather(rows).fill_null(pl.Series(refused, dtype=pl.Utf8))
            columns.append(reason.scatter(rows, marked))
        for column, (source, path) in spec.json_extract.items():
            if source == field and _key(path) in keys:
                found = pl.Series([found.get(_key(path)) for _, found in scrubbed], dtype=pl.Utf8)
                extracted = decoded.get_column(column)
                blank_as_null = extracted.gather(rows).replace("", None)  # {"email": ""}
                columns.append(extracted.scatter(rows, blank_as_null.fill_null(found)))
        decoded = decoded.with_columns(columns)
    return decoded


EMAIL_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _scrubbed(text: str, keys: tuple[str, ...]) -> tuple[str | None, dict[str, str]]:
    """A JSON text without its members named one of `keys` (in any case, spaces around) at any
    depth, nor any key or text holding an email address; and the text of each such key found
    at the top level (the first one). A key named twice keeps its first value, as DuckDB reads
    it. None for an object that cannot be written back as it was read: nested too deep for
    Python, or a number too large for a float (it would become `Infinity`, not JSON)."""
    try:
        value = json.loads(text, object_pairs_hook=_first_wins, parse_constant=_refuse)
        kept = json.dumps(
            _without(value, keys), ensure_ascii=False, separators=(",", ":"), allow_nan=False
        )
    except (RecursionError, ValueError):
        return None, {}
    found: dict[str, str] = {}
    if isinstance(value, dict):
        for name, member in value.items():
            key = name.strip().lower()
            if key in keys and isinstance(member, str) and key not in found:
                found[key] = member
    return kept, found


def _first_wins(pairs: list[tuple[str, object]]) -> dict:
    first: dict = {}
    for name, value in pairs:
        first.setdefault(name, value)
    return first


def _refuse(constant: str):
    raise ValueError(f"{constant} is not JSON")


def _without(value, keys: tuple[str, ...]):
    if isinstance(value, dict):
        return {
            name: _without(member, keys)
            for name, member in value.items()
            if name.strip().lower() not in keys
            and not _holds_email(name)
            and not _holds_email(member)
        }
    if isinstance(value, list):
        return [_without(member, keys) for member in value if not _holds_email(member)]
    return value


def _holds_email(value) -> bool:
    return isinstance(value, str) and EMAIL_ADDRESS.search(value) is not None


def _json_start(name: str, spec: SourceSpec) -> str | None:
    """How the contract requires a field's JSON value to start: `{` for an object field, `"`
    for a text field; None where any type is taken (a number or boolean field, checked by its
    cast; a field dropped for PII, never used; an object read as a struct of its keys, where a
    string reads as no keys)."""
    if name in struct_keys(spec) or name in spec.pii_dropped:
        return None
    if name in spec.json_fields:
        return "{"
    return None if spec.fields[name] in (pl.Float64, pl.Boolean) else '"'


def _text(name: str, spec: SourceSpec) -> str:
    """SQL for a field's text from its JSON value (`d.<name>`, decoded as JSON), cast later: a
    string unquoted; a text field's value of another JSON type null (`_wrong_type_sql` names
    it), any other as written, so that a number field's "12.5" fails its cast. An object field
    is kept as JSON text."""
    value = f"d.{name}"
    if name in spec.json_fields:
        return f"{_kept(name, spec)}::VARCHAR"
    if spec.fields[name] == pl.Float64:
        return f"{value}::VARCHAR"
    otherwise = "NULL" if _json_start(name, spec) == '"' else f"{value}::VARCHAR"
    return (
        f"CASE WHEN starts_with({value}, '\"') THEN json_extract_string({value}, '$') "
        f"ELSE {otherwise} END"
    )


def _wrong_type_sql(spec: SourceSpec) -> str:
    """SQL for `invalid_value:<field>` naming the first field whose JSON value does not start
    as the contract requires (`_json_start`), or, for an object read as a struct of its keys,
    is not an object, else NULL."""
    structs = struct_keys(spec)
    cases = [
        f"WHEN {_not_an_object_sql(name, structs[name])} THEN 'invalid_value:{name}'"
        if name in structs
        else f"WHEN d.{name} IS NOT NULL AND NOT starts_with(d.{name}::VARCHAR, '{start}') "
        f"THEN 'invalid_value:{name}'"
        for name in spec.fields
        if name in structs or (start := _json_start(name, spec))
    ]
    return f"CASE {' '.join(cases)} END" if cases else "NULL"


def _not_an_object_sql(name: str, keys: list[str]) -> str:
    """SQL for whether an object field read as a struct of `keys` held another JSON value: a
    string, number or array reads as a struct whose keys are all null, so only such rows are
    parsed again to ask the value's type."""
    none_of_them = " AND ".join(f'd.{name}."{key}" IS NULL' for key in keys)
    return f"d.{name} IS NOT NULL AND {none_of_them} AND json_type(_record, '$.{name}') <> 'OBJECT'"


def struct_keys(spec: SourceSpec) -> dict[str, list[str]]:
    """Object fields dropped for PII that are read only for the keys extracted from them,
    decoded as structs of those keys (much faster than JSON): {field: keys}."""
    return {
        name: [_key(path) for f, path in spec.json_extract.values() if f == name]
        for name in spec.json_fields
        if name in spec.pii_dropped and name in {f for f, _ in spec.json_extract.values()}
    }


def _structure(spec: SourceSpec, structs: dict[str, list[str]]) -> str:
    types = {
        name: "{" + ", ".join(f'"{key}": "VARCHAR"' for key in structs[name]) + "}"
        if name in structs
        else '"JSON"'  # every other field: its JSON type is checked (`_wrong_type_sql`)
        for name in spec.fields
    }
    return "{" + ", ".join(f'"{name}": {kind}' for name, kind in types.items()) + "}"


def _key(path: str) -> str:
    """The key of a JSON path to a top-level key (`$.ip`), the only kind a spec may name."""
    if not re.fullmatch(r"\$\.[A-Za-z_][A-Za-z0-9_]*", path):
        raise ValueError(f"json_extract path {path!r}: only top-level keys ($.name) are read")
    return path.removeprefix("$.")


def _kept(name: str, spec: SourceSpec) -> str:
    column = f"d.{name}"
    return scrubbed_sql(column, spec.json_scrub[name]) if name in spec.json_scrub else column


def _extracted(field: str, path: str, structs: dict[str, list[str]]) -> str:
    if field in structs:  # decoded as a struct of its extracted keys
        return f'd.{field}."{_key(path)}"'
    return extracted_sql(f"d.{field}", path)


def extracted_sql(column: str, path: str) -> str:
    """SQL for the text at a top-level `path` of the JSON `column` (parsed if it may hold it)."""
    extracted = f"json_extract_string({column}, '{path}')"
    return f"CASE WHEN {may_hold_sql(column, [_key(path)])} THEN {extracted} END"


def scrubbed_sql(column: str, keys) -> str:
    """SQL for the JSON `column` without `keys` (when it is an object that names one)."""
    patch = "{" + ",".join(f'"{key}":null' for key in keys) + "}"
    return (
        f"CASE WHEN {may_hold_sql(column, keys)} AND json_type({column}) = 'OBJECT' "
        f"THEN json_merge_patch({column}, '{patch}') ELSE {column} END"
    )


def may_hold_sql(column: str, keys) -> str:
    """Whether the JSON `column`'s text names one of `keys`. DuckDB re-serialises decoded JSON
    (`json_transform`, `read_json`), so a key written with escapes (`\\u0065mail`) reads
    plainly here. Most texts name none, and are not parsed again."""
    return "(" + " OR ".join(f"contains({column}::VARCHAR, '{key}')" for key in keys) + ")"

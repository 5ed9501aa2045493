"""The benchmark's "raw" baseline: the platform's daily pipeline for a run of days as one
straight polars + DuckDB script, to show what the engines alone can do on this machine.

    per day: landing files -> DuckDB reads and types them (stage parquet, in file and line
      order) -> keyed hashes of PII (distinct values only) -> dedup -> clean parquet per source
    then, once: the dbt models' SQL over all days in DuckDB -> user_features as of each day
      (the platform's polars)

Writes under `workdir`: clean/<source>/<day>.parquet, warehouse.duckdb (`marts.*` and
`features.user_features`) and features/<day>.parquet; the stage, which still holds the raw
PII, is deleted at the end. DuckDB streams every step in bounded memory (spilling to
workdir/tmp) and the features run on one bucket of users at a time: no step holds a whole
day's events in memory.

Left out, on purpose: orchestration (no Dagster), data-quality rules and quarantine (no
pandera: a malformed line is skipped, a row without a valid event time dropped, any other row
kept), metadata, atomic publishing, incremental windows and late deliveries (a day's clean
rows come from its own delivery only: a landing zone simulated without faults has no late
records).
"""

from __future__ import annotations

import hashlib
import math
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl

from platform_assets.bench.checksums import warehouse_checksums
from platform_assets.frames import to_polars
from platform_assets.lake.parse import extracted_sql, scrubbed_sql, struct_keys
from platform_assets.ml.features import cutoff_of, user_features
from platform_assets.sources.specs import SOURCES, SourceSpec

MEMORY_LIMIT = "1GB"
FEATURES_MEMORY_LIMIT = "256MB"
SESSION_GAP_US = 30 * 60 * 1_000_000
EVENTS_PER_BUCKET = 1_000_000  # user_features runs on buckets of users of about this many events
# What polars' `str.strip_chars()` strips (Unicode White_Space), for `keyed_hash`'s normalisation
WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
WHITESPACE += "\u2028\u2029\u202f\u205f\u3000"
TRUE, FALSE = ("true", "1", "yes"), ("false", "0", "no")


def run(landing: Path, workdir: Path, days: list[date], pii_key: str) -> dict:
    """Clean each of `days`' deliveries, model them and featurize as of each day, under
    `workdir`; the checksums of each day ({"YYYY-MM-DD": checksums})."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    for stale in ("warehouse.duckdb", "warehouse.duckdb.wal", "stage", "clean", "features", "tmp"):
        _remove(workdir / stale)
    for folder in ("stage", *(f"clean/{s}" for s in SOURCES), "features"):
        (workdir / folder).mkdir(parents=True)
    with _connect(workdir, MEMORY_LIMIT) as con:
        for day in days:
            _lake_day(con, Path(landing), workdir, day, pii_key)
        _warehouse(con, workdir)
    # A new connection (its cache emptied) with less memory, to leave room for polars
    with _connect(workdir, FEATURES_MEMORY_LIMIT) as con:
        _features(con, workdir, days)
        result = {day.isoformat(): checksums(con, workdir, day) for day in days}
    _remove(workdir / "stage")
    _remove(workdir / "tmp")
    return result


def _lake_day(con, landing: Path, workdir: Path, day: date, pii_key: str) -> None:
    """Stage the day's deliveries of every source, then write their clean tables."""
    for spec in SOURCES.values():
        _stage(con, spec, _delivery_files(landing, spec, day), _stage_path(workdir, spec))
    ingested_at = datetime.now(UTC)
    for spec in SOURCES.values():
        _clean(con, spec, workdir, day, ingested_at, pii_key)


def _connect(workdir: Path, memory_limit: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(workdir / "warehouse.duckdb"))
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET temp_directory = '{workdir / 'tmp'}'")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    con.execute("SET preserve_insertion_order = true")  # the stage's row order is receipt order
    return con


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _stage_path(workdir: Path, spec: SourceSpec) -> Path:
    return workdir / "stage" / f"{spec.name}.parquet"


def clean_file(workdir: Path, source: str, day: date) -> Path:
    return Path(workdir) / "clean" / source / f"{day.isoformat()}.parquet"


def clean_glob(workdir: Path, source: str) -> str:
    """Every day's clean file of a source, as a DuckDB glob."""
    return str(Path(workdir) / "clean" / source / "*.parquet")


def features_file(workdir: Path, day: date) -> Path:
    return Path(workdir) / "features" / f"{day.isoformat()}.parquet"


def _sql_list(values) -> str:
    return "[" + ", ".join(_quote(str(v)) for v in values) + "]"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# --- lake: stage (typed, in receipt order) ---------------------------------------------------


def _delivery_files(landing: Path, spec: SourceSpec, day: date) -> list[Path]:
    """The day's delivered files of a source, in the platform's (sorted) order."""
    folder = landing / spec.name / day.isoformat()
    files = sorted(spec.delivered_files(folder))
    if not files:
        raise FileNotFoundError(f"no {spec.name} delivery in {folder}")
    return files


def _stage(con, spec: SourceSpec, files: list[Path], target: Path) -> None:
    """Typed fields and JSON extractions (PII still raw) of every delivered row, in file and
    line order (DuckDB keeps the insertion order), so the parquet row number is receipt order."""
    reader = _json_reader(spec, files) if spec.format == "jsonl" else _csv_reader(files)
    columns = ["filename AS _source_file"]
    for name, dtype in spec.fields.items():
        if name in spec.json_scrub:
            columns.append(f"{_scrubbed(name, spec.json_scrub[name])} AS {name}")
        elif name not in spec.pii_dropped or name in spec.pii_hashed:
            columns.append(f"{_typed(name, dtype)} AS {name}")
    columns += [f"{_extract(spec, f, path)} AS {c}" for c, (f, path) in spec.json_extract.items()]
    con.execute(
        f"COPY (SELECT {', '.join(columns)} FROM {reader}) TO '{target}' "
        "(FORMAT parquet, COMPRESSION uncompressed)"
    )


def _json_reader(spec: SourceSpec, files: list[Path]) -> str:
    """read_json with every field as text; a dropped object field (`context`) is read as a
    struct of the keys extracted from it, which is much faster than JSON."""
    types, structs = {}, struct_keys(spec)
    for name in spec.fields:
        if name in structs:
            types[name] = "STRUCT(" + ", ".join(f'"{k}" VARCHAR' for k in structs[name]) + ")"
        elif name in spec.json_fields:
            types[name] = "JSON"
        elif name not in spec.pii_dropped or name in spec.pii_hashed:
            types[name] = "VARCHAR"
    columns = "{" + ", ".join(f"{_quote(n)}: {_quote(t)}" for n, t in types.items()) + "}"
    return (
        f"read_json({_sql_list(files)}, format = 'newline_delimited', columns = {columns}, "
        "ignore_errors = true)"  # a malformed line is skipped (the platform quarantines it)
    )


def _csv_reader(files: list[Path]) -> str:
    return f"read_csv({_sql_list(files)}, header = true, all_varchar = true)"


def _extract(spec: SourceSpec, field: str, path: str) -> str:
    if field in struct_keys(spec):  # read as a struct
        return f'{field}."{path.removeprefix("$.")}"'
    return extracted_sql(field, path)


def _scrubbed(name: str, keys: tuple[str, ...]) -> str:
    return f"({scrubbed_sql(name, keys)})::VARCHAR"


def _typed(name: str, dtype: pl.DataType) -> str:
    """The parse step's cast of one text field, in SQL (NULL when it cannot be typed)."""
    if dtype == pl.Float64:
        return f"CASE WHEN isfinite(TRY_CAST({name} AS DOUBLE)) THEN TRY_CAST({name} AS DOUBLE) END"
    if dtype == pl.Boolean:
        value = f"lower({name})"
        return f"CASE WHEN {value} IN {TRUE} THEN true WHEN {value} IN {FALSE} THEN false END"
    if isinstance(dtype, pl.Datetime):
        return f"TRY_CAST({name} AS TIMESTAMPTZ)"
    return name


# --- lake: PII and clean ---------------------------------------------------------------------


def keyed_hash_sql(key: str, value: str) -> str:
    """SQL for `keyed_hash` of the text `value`: the HMAC-SHA256 (hex) of it trimmed and
    lower-cased, as sha256(k ^ opad || sha256(k ^ ipad || v)); NULL for a blank one."""
    secret = key.encode()
    if len(secret) > 64:
        secret = hashlib.sha256(secret).digest()
    secret = secret.ljust(64, b"\0")
    ipad = bytes(b ^ 0x36 for b in secret).hex()
    opad = bytes(b ^ 0x5C for b in secret).hex()
    trimmed = f"trim({value}, {_quote(WHITESPACE)})"
    inner = f"unhex(sha256(unhex('{ipad}') || encode(lower({trimmed}))))"
    digest = f"sha256(unhex('{opad}') || {inner})"
    return f"CASE WHEN {trimmed} <> '' THEN {digest} END"


def _pii_maps(con, spec: SourceSpec, owned: str, key: str) -> None:
    """`pii_<column>(value, digest)` per hashed column: the keyed hash of each distinct value
    of the day's rows (each value is hashed once)."""
    for column in spec.pii_hashed:
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE pii_{column} AS
            SELECT value, {keyed_hash_sql(key, "value")} AS digest
            FROM (SELECT DISTINCT {column} AS value FROM ({owned}) WHERE {column} IS NOT NULL)"""
        )


def clean_columns(spec: SourceSpec) -> list[str]:
    """The clean table's columns, in the platform's order."""
    columns = []
    for name in spec.typed_columns:
        if name in spec.pii_hashed:
            columns.append(spec.pii_hashed[name])
        elif name not in spec.pii_dropped:
            columns.append(name)
        if name == spec.event_time:
            columns.append(spec.date_column)
    if spec.date_column not in columns and spec.date_column != "_delivery_date":
        columns.append(spec.date_column)
    return ["_source_file", "_ingested_at", "_delivery_date", *columns]


def _clean(con, spec: SourceSpec, workdir: Path, day: date, ingested_at: datetime, key: str):
    """The day's rows of a source, PII replaced by keyed hashes, one row per key."""
    stage = f"read_parquet('{_stage_path(workdir, spec)}', file_row_number = true)"
    day_sql = f"DATE '{day.isoformat()}'"
    owned = f"SELECT * FROM {stage}"
    if spec.event_time:
        owned += f" WHERE CAST(timezone('UTC', {spec.event_time}) AS DATE) = {day_sql}"
    _dropped_duplicates(con, spec, owned)
    _pii_maps(con, spec, owned, key)
    joins = "".join(f" LEFT JOIN pii_{c} ON pii_{c}.value = s.{c}" for c in spec.pii_hashed)
    values = {
        "_source_file": "s._source_file",
        "_ingested_at": f"TIMESTAMPTZ '{ingested_at.isoformat()}'",
        "_delivery_date": day_sql,
        spec.date_column: day_sql,
        **{hashed: f"pii_{c}.digest" for c, hashed in spec.pii_hashed.items()},
    }
    select = ", ".join(f"{values.get(c, f's.{c}')} AS {c}" for c in clean_columns(spec))
    # The day filter makes DuckDB guess the day's rows are few and build its hash tables on
    # them; the PII map is the small side: keep every join's build side on the right.
    con.execute("SET disabled_optimizers = 'build_side_probe_side'")
    con.execute(
        f"""COPY (
            SELECT {select} FROM ({owned}) AS s {joins}
            WHERE s.file_row_number NOT IN (SELECT file_row_number FROM dropped)
        ) TO '{clean_file(workdir, spec.name, day)}' (FORMAT parquet, COMPRESSION zstd)"""
    )
    con.execute("RESET disabled_optimizers")
    for table in ["dropped", *(f"pii_{c}" for c in spec.pii_hashed)]:
        con.execute(f"DROP TABLE {table}")


def _dropped_duplicates(con, spec: SourceSpec, owned: str) -> None:
    """`dropped(file_row_number)`: the copies that dedup removes, all but the first (or last)
    received per key. Keys are first grouped by a 64-bit hash, which is light on memory; only
    the few keys whose hash repeats are compared in full."""
    key = ", ".join(spec.key)
    direction = "ASC" if spec.keep == "first" else "DESC"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE dropped AS
        WITH owned AS ({owned}),
        repeated AS (SELECT hash({key}) AS h FROM owned GROUP BY h HAVING count(*) > 1)
        SELECT file_row_number FROM owned
        WHERE hash({key}) IN (SELECT h FROM repeated)
        QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY file_row_number {direction}) > 1
        """
    )


# --- warehouse: the dbt models for one day ---------------------------------------------------


def _warehouse(con, workdir: Path) -> None:
    """The marts over every day, as the dbt project builds them (money as DECIMAL(18,2))."""
    con.execute("CREATE SCHEMA IF NOT EXISTS staging; CREATE SCHEMA IF NOT EXISTS marts")
    for source, money in (("app_events", "price"), ("orders", "amount"), ("products", "price")):
        con.execute(
            f"CREATE OR REPLACE VIEW staging.stg_{source} AS SELECT * REPLACE "
            f"(CAST({money} AS DECIMAL(18, 2)) AS {money}) "
            f"FROM read_parquet('{clean_glob(workdir, source)}')"
        )
    con.execute(
        "CREATE OR REPLACE VIEW staging.stg_users AS "
        f"SELECT * FROM read_parquet('{clean_glob(workdir, 'users')}')"
    )
    for statement in MARTS:
        con.execute(statement)


def _utc_date(ts: str) -> str:
    return f"CAST(timezone('UTC', {ts}) AS DATE)"


# int_sessionized_events + fct_events: a new session after a gap of more than 30 minutes per
# user and app; its key (md5 of user|app|start) is computed on the session's first event only.
FCT_EVENTS = f"""
CREATE OR REPLACE TABLE marts.fct_events AS
WITH flagged AS (
    SELECT *, coalesce(
        epoch_us(event_time) - epoch_us(lag(event_time) OVER w) > {SESSION_GAP_US}, true
    ) AS is_session_start
    FROM staging.stg_app_events
    WINDOW w AS (PARTITION BY user_id, app ORDER BY event_time, event_id)
), keyed AS (
    SELECT *, last_value(CASE WHEN is_session_start THEN md5(user_id || '|' || app || '|'
        || strftime(timezone('UTC', event_time), '%Y-%m-%dT%H:%M:%S.%fZ')) END IGNORE NULLS) OVER (
        PARTITION BY user_id, app ORDER BY event_time, event_id
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS session_key
    FROM flagged
)
SELECT
    event_id, user_id, session_key, app, event_type, event_time, event_date, product_id, price,
    currency
FROM keyed
"""

# A session's start is its first event, so its columns follow from fct_events alone. Revenue is
# in the currency of most of its priced purchases (ties to the first code).
FCT_SESSIONS = f"""
CREATE OR REPLACE TABLE marts.fct_sessions AS
WITH sessions AS (
    SELECT
        session_key, user_id, app,
        min(event_time) AS session_start,
        max(event_time) AS session_end,
        {_utc_date("min(event_time)")} AS session_date,
        CAST(epoch_us(max(event_time)) - epoch_us(min(event_time)) AS DOUBLE) / 1e6
            AS duration_seconds,
        count(*) AS events,
        count(*) FILTER (WHERE event_type = 'page_view') AS page_views,
        count(*) FILTER (WHERE event_type = 'product_view') AS product_views,
        count(*) FILTER (WHERE event_type = 'add_to_cart') AS add_to_carts,
        bool_or(event_type = 'checkout_started') AS has_checkout,
        bool_or(event_type = 'purchase') AS has_purchase
    FROM marts.fct_events
    GROUP BY session_key, user_id, app
), by_currency AS (
    SELECT session_key, currency, count(*) AS purchases, sum(price) AS amount
    FROM marts.fct_events
    WHERE event_type = 'purchase' AND price IS NOT NULL
    GROUP BY session_key, currency
), revenue AS (
    SELECT
        session_key,
        first(currency ORDER BY purchases DESC, currency) AS revenue_currency,
        first(amount ORDER BY purchases DESC, currency) AS revenue,
        sum(purchases) - first(purchases ORDER BY purchases DESC, currency)
            AS other_currency_purchases
    FROM by_currency
    GROUP BY session_key
)
SELECT
    sessions.*,
    revenue.revenue_currency,
    CAST(coalesce(revenue.revenue, 0) AS DECIMAL(18, 2)) AS revenue,
    coalesce(revenue.other_currency_purchases, 0) AS other_currency_purchases
FROM sessions LEFT JOIN revenue USING (session_key)
"""

ORDER_HISTORY = """
CREATE OR REPLACE TABLE marts.fct_order_history AS
SELECT
    order_id, user_id, status, amount, currency, created_at, updated_at,
    lead(updated_at) OVER w AS valid_to,
    lead(updated_at) OVER w IS NULL AS is_current
FROM staging.stg_orders
WINDOW w AS (PARTITION BY order_id ORDER BY updated_at, _ingested_at, status)
"""

FCT_ORDERS = f"""
CREATE OR REPLACE TABLE marts.fct_orders AS
SELECT
    order_id, user_id, status, amount, currency, created_at, updated_at,
    {_utc_date("created_at")} AS created_date,
    status = 'refunded' AS is_refunded,
    status = 'cancelled' AS is_cancelled
FROM marts.fct_order_history
WHERE is_current
"""

FCT_DAILY_REVENUE = """
CREATE OR REPLACE TABLE marts.fct_daily_revenue AS
SELECT
    created_date AS date,
    currency,
    count(*) FILTER (WHERE NOT is_cancelled) AS orders,
    CAST(coalesce(sum(amount) FILTER (WHERE NOT is_cancelled), 0) AS DECIMAL(18, 2))
        AS gross_revenue,
    CAST(coalesce(sum(amount) FILTER (WHERE is_refunded), 0) AS DECIMAL(18, 2)) AS refunds,
    CAST(
        coalesce(sum(amount) FILTER (WHERE NOT is_cancelled), 0)
        - coalesce(sum(amount) FILTER (WHERE is_refunded), 0) AS DECIMAL(18, 2)
    ) AS net_revenue
FROM marts.fct_orders
GROUP BY created_date, currency
"""

FCT_DAILY_ENGAGEMENT = """
CREATE OR REPLACE TABLE marts.fct_daily_engagement AS
WITH daily_events AS (
    SELECT
        event_date AS date,
        app,
        count(DISTINCT user_id) AS dau,
        count(*) AS events,
        count(DISTINCT user_id) FILTER (WHERE event_type = 'purchase') AS purchasing_users
    FROM marts.fct_events
    GROUP BY event_date, app
), daily_sessions AS (
    SELECT session_date AS date, app, count(*) AS sessions
    FROM marts.fct_sessions
    GROUP BY session_date, app
)
SELECT
    e.date, e.app, e.dau,
    coalesce(s.sessions, 0) AS sessions,
    e.events, e.purchasing_users,
    CAST(e.purchasing_users AS DOUBLE) / e.dau AS conversion_rate
FROM daily_events AS e
LEFT JOIN daily_sessions AS s ON s.date = e.date AND s.app = e.app
"""

# SCD2 as dbt/models/marts/dim_products.sql (one snapshot here, but the same rule).
DIM_PRODUCTS = """
CREATE OR REPLACE TABLE marts.dim_products AS
WITH received AS (  -- a row older than one already seen is a stale copy, left out
    SELECT *, max(updated_at) OVER (
        PARTITION BY product_id ORDER BY snapshot_date
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
    ) AS newest_updated_at_before
    FROM staging.stg_products
), snapshots AS (
    SELECT
        product_id, snapshot_date, name, category, price, currency, active, updated_at,
        lag(snapshot_date) OVER w AS previous_snapshot_date,
        lag(name) OVER w AS previous_name,
        lag(category) OVER w AS previous_category,
        lag(price) OVER w AS previous_price,
        lag(currency) OVER w AS previous_currency,
        lag(active) OVER w AS previous_active
    FROM received
    WHERE newest_updated_at_before IS NULL OR updated_at >= newest_updated_at_before
    WINDOW w AS (PARTITION BY product_id ORDER BY snapshot_date)
), numbered AS (
    SELECT *, sum(CASE
        WHEN previous_snapshot_date IS NULL THEN 1
        WHEN name IS DISTINCT FROM previous_name
          OR category IS DISTINCT FROM previous_category
          OR price IS DISTINCT FROM previous_price
          OR currency IS DISTINCT FROM previous_currency
          OR active IS DISTINCT FROM previous_active THEN 1
        ELSE 0
    END) OVER (
        PARTITION BY product_id ORDER BY snapshot_date
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS version_number
    FROM snapshots
), versions AS (
    SELECT
        product_id, version_number,
        arg_min(name, snapshot_date) AS name,
        arg_min(category, snapshot_date) AS category,
        arg_min(price, snapshot_date) AS price,
        arg_min(currency, snapshot_date) AS currency,
        arg_min(active, snapshot_date) AS active,
        arg_min(updated_at, snapshot_date) AS first_updated_at,
        timezone('UTC', CAST(min(snapshot_date) AS TIMESTAMP)) AS first_seen_at,
        max(snapshot_date) AS last_snapshot_date
    FROM numbered
    GROUP BY product_id, version_number
), bounded AS (
    SELECT *, CASE
        WHEN lag(last_snapshot_date) OVER w IS NULL
            THEN CASE WHEN first_updated_at < first_seen_at
                THEN first_updated_at ELSE first_seen_at END
        WHEN first_updated_at < first_seen_at + INTERVAL 1 DAY
            AND first_updated_at
                >= timezone('UTC', CAST(lag(last_snapshot_date) OVER w + 1 AS TIMESTAMP))
            THEN first_updated_at
        ELSE first_seen_at
    END AS valid_from
    FROM versions
    WINDOW w AS (PARTITION BY product_id ORDER BY version_number)
)
SELECT
    product_id, name, category, price, currency, active, valid_from,
    lead(valid_from) OVER w AS valid_to,
    lead(valid_from) OVER w IS NULL AS is_current
FROM bounded
WINDOW w AS (PARTITION BY product_id ORDER BY version_number)
"""

# Each user's latest delivered row, and the day it was first delivered.
DIM_USERS = f"""
CREATE OR REPLACE TABLE marts.dim_users AS
SELECT
    user_id, email_hash, country, signup_at,
    {_utc_date("signup_at")} AS signup_date,
    marketing_opt_in,
    min(_delivery_date) OVER (PARTITION BY user_id) AS first_seen_date,
    _delivery_date AS updated_date
FROM staging.stg_users
QUALIFY row_number() OVER (
    PARTITION BY user_id ORDER BY _delivery_date DESC, _ingested_at DESC, _source_file DESC
) = 1
"""

MARTS = (
    FCT_EVENTS,
    FCT_SESSIONS,
    ORDER_HISTORY,
    FCT_ORDERS,
    FCT_DAILY_REVENUE,
    FCT_DAILY_ENGAGEMENT,
    DIM_PRODUCTS,
    DIM_USERS,
)


# --- features --------------------------------------------------------------------------------


def _features(con, workdir: Path, days: list[date]) -> None:
    """`user_features` as of each of `days` from the warehouse and clean users: the platform's
    polars function, run on one bucket of users at a time (every feature is per user), each
    bucket appended to `features.user_features`, which is then written as a parquet file per
    day."""
    window = [cutoff_of(days[0]) - timedelta(days=29), cutoff_of(days[-1])]
    events_sql = (
        "SELECT user_id, session_key, event_type, event_time, product_id FROM marts.fct_events "
        "WHERE event_time >= ? AND event_time < ?"
    )
    total = con.sql(f"SELECT count(*) FROM ({events_sql})", params=window).fetchall()[0][0]
    buckets = max(1, math.ceil(total / EVENTS_PER_BUCKET))
    products = to_polars(con.sql("SELECT product_id, category, valid_from FROM marts.dim_products"))
    users = f"SELECT * FROM read_parquet('{clean_glob(workdir, 'users')}')"
    con.execute("CREATE SCHEMA IF NOT EXISTS features")
    for bucket in range(buckets):
        mine = f"hash(user_id) % {buckets} = {bucket}"
        events = to_polars(con.sql(f"{events_sql} AND {mine}", params=window))
        orders = to_polars(con.sql(f"SELECT * FROM marts.fct_order_history WHERE {mine}"))
        bucket_users = to_polars(con.sql(f"{users} WHERE {mine}"))
        features = pl.concat(
            [user_features(events, orders, products, bucket_users, day) for day in days]
        )
        con.register("features_bucket", features)
        con.execute(
            "CREATE OR REPLACE TABLE features.user_features AS SELECT * FROM features_bucket"
            if bucket == 0
            else "INSERT INTO features.user_features SELECT * FROM features_bucket"
        )
        con.unregister("features_bucket")
    for day in days:
        con.execute(
            f"COPY (SELECT * FROM features.user_features WHERE as_of_date = DATE '{day}') "
            f"TO '{features_file(workdir, day)}' (FORMAT parquet, COMPRESSION zstd)"
        )


# --- checksums -------------------------------------------------------------------------------


def checksums(con, workdir: Path, day: date) -> dict:
    """The benchmark's checksums of `day` (platform_assets.bench.checksums), read back from the
    clean parquet files, the warehouse and the features file that `run` wrote."""
    clean_rows = {
        source: con.sql(
            f"SELECT count(*) FROM read_parquet('{clean_file(workdir, source, day)}')"
        ).fetchall()[0][0]
        for source in SOURCES
    }
    return warehouse_checksums(con, clean_rows, features_file(workdir, day), day)

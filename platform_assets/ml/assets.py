"""ML feature assets: `user_features` (daily, point-in-time correct) and `training_set`
(a versioned parquet dataset of features joined to a future-purchase label)."""

import hashlib
import json
import math
from datetime import timedelta
from pathlib import Path

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from platform_assets.frames import to_polars
from platform_assets.lake.storage import (
    clean_files,
    features_path,
    scratch_folder,
    staged_path,
    write_parquet_atomically,
)
from platform_assets.metadata import preview
from platform_assets.ml.features import (
    CATEGORY_EVENTS,
    FEATURE_COLUMNS,
    LOOKBACK_DAYS,
    cutoff_of,
    purchase_labels,
    user_features,
    users_without_record,
)
from platform_assets.ml.labels import observed_as_of_dates
from platform_assets.partitions import (
    DAILY_FRESHNESS,
    daily_partitions,
    days_around,
    partition_days,
)
from platform_assets.policies import IO_RETRY
from platform_assets.resources import LakeStorage

# 2: recency looks back 28 days; 3: no rate or category filled with 0; 4: money in one currency
FEATURES_CODE_VERSION = "4"
# Each row names the code that computed it: `training_set` takes only the current version's.
CODE_VERSION_COLUMN = pl.lit(FEATURES_CODE_VERSION).alias("features_code_version")
WAREHOUSE_INPUTS = ["fct_events", "fct_order_history", "dim_products"]
# A feature row as of X reads the events of the 28 days up to X (orders and the catalog up to X):
# a change to any of those days (late data) makes it stale, and the late-data automation
# rebuilds it (FEATURE_DAYS; older order changes fall outside the automation's window anyway).
FEATURE_DAYS = days_around(1 - LOOKBACK_DAYS, 0)
# Features are computed per shard of users (`hash(user_id) % shards`), at most about
# SHARD_EVENTS events of the window at a time: the step's memory stays bounded on big days.
SHARD_EVENTS = 2_000_000
# The parameters typed as hash()'s UBIGINT: untyped, DuckDB evaluates the filter apart from the
# scan, and each shard's read of 10M events took 1.4 s instead of 0.16 s.
IN_SHARD = "hash(user_id) % ?::UBIGINT = ?::UBIGINT"
# The events of the feature window, slimmed for memory: the session as a 64-bit hash
# (features only count distinct sessions), the product only where a category is looked up.
EVENTS_SQL = f"""
    SELECT user_id, hash(session_key) AS session_key, event_type, event_time,
        CASE WHEN list_contains(?, event_type) THEN product_id END AS product_id
    FROM marts.fct_events
    WHERE event_time >= ? AND event_time < ? AND {IN_SHARD}
"""
ORDERS_SQL = f"SELECT * FROM marts.fct_order_history WHERE {IN_SHARD}"
# All clean user records (PII-safe); `users_as_of` keeps those known by each day.
USERS_SQL = f"""
    SELECT user_id, country, signup_at, marketing_opt_in, _delivery_date, _ingested_at
    FROM read_parquet(?) WHERE {IN_SHARD}
"""


@dg.asset(
    name="user_features",
    group_name="ml_features",
    description="One row per user per `as_of_date`, computed only from data known by the end "
    "of that day: recency/frequency/monetary, events and sessions over 7 and 28 days, cart "
    "abandonment, favourite category, country, days since signup. Revenue and the average "
    "order value are in `main_currency` (the currency of most of the user's live orders; "
    "amounts are never converted) and count only its orders. Event features look back "
    "28 days (no event in them: `days_since_last_event` is null). Counts and sums are 0 "
    "without activity; with nothing to measure, the abandonment rate, average order value and "
    "favourite category are null. A user active by then (an event in the 28 days or a live "
    "order) with no user record delivered by then, or signed up only later, has no row: "
    "counted as `active_users_without_record`. Each row names its `features_code_version`. "
    "Written to DuckDB `features.user_features` and the offline store "
    "`lake/features/user_features/`.",
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[
        *(dg.AssetDep(name, partition_mapping=FEATURE_DAYS) for name in WAREHOUSE_INPUTS),
        "clean_users",
    ],
    kinds={"polars", "duckdb", "parquet"},
    owners=["team:ml-platform"],
    code_version=FEATURES_CODE_VERSION,
    pool="warehouse",
    freshness_policy=DAILY_FRESHNESS,
    retry_policy=IO_RETRY,
)
def user_features_asset(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, lake: LakeStorage
) -> dg.MaterializeResult:
    days = partition_days(context)
    with scratch_folder(lake.lake_root, "user_features") as parts_dir:
        with duckdb.get_connection() as con:
            parts, unknown = _write_shard_parts(con, lake, days, parts_dir)
            replace_days(con, [p for day in days for p in parts[day]], days)
        # The warehouse first, then the offline store: if publishing fails, a retry of the
        # step writes both again.
        shards = len(parts[days[0]])
        for day in days:
            published = _publish_day(lake, day, parts[day])
            rows = published.select(pl.len()).collect().item()
            context.add_asset_metadata(
                {
                    "dagster/row_count": rows,
                    "shards": shards,
                    "active_users_without_record": unknown[day],
                    "preview": preview(published.head(5).collect()),
                },
                partition_key=day.isoformat(),
            )
            context.log.info(
                f"user_features {day}: {rows} users, {shards} shard(s); {unknown[day]} active "
                "users without a user record by then have no row"
            )
    return dg.MaterializeResult()


def _write_shard_parts(con, lake: LakeStorage, days: list, parts_dir: Path) -> tuple[dict, dict]:
    """Compute the features of each shard of users for each day, each written to its own
    parquet part as soon as it is computed (a 10M-event day holds one shard at a time, not
    every user's features); returns each day's parts, in shard order, and how many active
    users had no user record by then (no row)."""
    window = [cutoff_of(days[0]) - timedelta(days=29), cutoff_of(days[-1])]
    users_files = [str(f) for f in clean_files(lake.lake_root, "users")]
    if not users_files:
        raise dg.Failure(
            f"no clean_users partition in {Path(lake.lake_root) / 'clean' / 'users'}: user "
            "features need the user records; materialize clean_users first (daily_pipeline does)",
            allow_retries=False,  # a step retry finds no more (the run retry still runs once)
        )
    products = query(con, "SELECT product_id, category, valid_from FROM marts.dim_products")
    shards = user_shards(con, window)
    parts: dict = {day: [] for day in days}
    unknown = dict.fromkeys(days, 0)
    for index in range(shards):
        shard = [shards, index]
        events = query(con, EVENTS_SQL, [list(CATEGORY_EVENTS), *window, *shard])
        orders = query(con, ORDERS_SQL, shard)
        users = query(con, USERS_SQL, [users_files, *shard])
        for day in days:
            part = parts_dir / f"{day}-{index:05d}.parquet"
            frame = user_features(events, orders, products, users, day)
            frame.with_columns(CODE_VERSION_COLUMN).write_parquet(part, compression="lz4")
            parts[day].append(part)
            unknown[day] += users_without_record(events, orders, users, day)
    return parts, unknown


def _publish_day(lake: LakeStorage, day, parts: list[Path]) -> pl.LazyFrame:
    """Stream a day's parts into its offline-store file, atomically; return a scan of it."""
    final = features_path(lake.lake_root, "user_features", f"as_of_date={day}")
    with staged_path(final) as staged:
        pl.scan_parquet(parts).sink_parquet(staged, compression="zstd", statistics=True)
    return pl.scan_parquet(final)


def user_shards(con, window: list) -> int:
    """How many shards of users the window's events are split into (features are per user, so
    each shard is computed on its own, in bounded memory)."""
    events = con.sql(
        "SELECT count(*) FROM marts.fct_events WHERE event_time >= ? AND event_time < ?",
        params=window,
    ).fetchall()[0][0]
    return max(1, math.ceil(events / SHARD_EVENTS))


def query(con, sql: str, params: list | None = None) -> pl.DataFrame:
    """A warehouse query as polars (timestamps labelled `UTC`)."""
    return to_polars(con.sql(sql, params=params))


def replace_days(con, parts: list[Path], days: list) -> None:
    """Idempotent write: the days' rows are replaced by the parts' rows, in one transaction."""
    files = [str(p) for p in parts]
    con.execute("CREATE SCHEMA IF NOT EXISTS features")
    con.execute(
        "CREATE TABLE IF NOT EXISTS features.user_features AS FROM read_parquet(?) LIMIT 0",
        [files],
    )
    for column, kind in _new_columns(con, files):  # a feature added since the table was made
        con.execute(f'ALTER TABLE features.user_features ADD COLUMN "{column}" {kind}')
    con.execute("BEGIN")
    con.execute(
        "DELETE FROM features.user_features WHERE as_of_date BETWEEN ? AND ?", [days[0], days[-1]]
    )
    con.execute("INSERT INTO features.user_features BY NAME FROM read_parquet(?)", [files])
    con.execute("COMMIT")


def _new_columns(con, files: list[str]) -> list[tuple[str, str]]:
    """(name, type) of the parts' columns that `features.user_features` lacks. Rows written
    before a column existed keep it null until their days are materialized again."""
    table = {row[0] for row in con.sql("DESCRIBE features.user_features").fetchall()}
    parts = con.sql("DESCRIBE FROM read_parquet(?)", params=[files]).fetchall()
    return [(name, kind) for name, kind, *_ in parts if name not in table]


class TrainingSetConfig(dg.Config):
    label_horizon_days: int = 7


def training_set_asset(lateness_days: int) -> dg.AssetsDefinition:
    """The versioned training set; a label window counts as observed once its last day is
    `lateness_days` behind the newest day of events (late purchases may still arrive until
    then) and each of its days was built after the deliveries that can hold its events."""

    @dg.asset(
        name="training_set",
        group_name="ml_features",
        description="Versioned training set: `user_features` rows joined to the label "
        "`will_purchase` (a purchase in the next N days, default 7). Only as-of dates whose "
        f"label window is fully observed are included: its last day at least {lateness_days} "
        "days (the allowed lateness) before the newest day of events, and each of its days' "
        "`fct_events` built after every delivery that can hold that day's events was ingested "
        "(for the days the late-data automation still rebuilds), so no late purchase can still "
        "change a label. Written as parquet under "
        "`lake/features/training_set/version=<v>/`, where the version hashes the rows and "
        "their types, the label, the feature code and the polars version. As-of dates computed "
        "by older feature code are left out until materialized again "
        "(`as_of_dates_of_old_code`); `lookback_complete` is false on rows whose 28-day event "
        "window starts before the first day of events.",
        deps=["user_features", "fct_events"],
        kinds={"polars", "parquet"},
        owners=["team:ml-platform"],
        code_version=FEATURES_CODE_VERSION,
        pool="warehouse",
    )
    def training_set(
        context: dg.AssetExecutionContext,
        config: TrainingSetConfig,
        duckdb: DuckDBResource,
        lake: LakeStorage,
    ) -> dg.MaterializeResult:
        horizon = config.label_horizon_days
        if horizon < 1:
            raise dg.Failure(f"label_horizon_days must be 1 or more, got {horizon}")
        with duckdb.get_connection() as con:
            first_day, last_day = con.sql(
                "SELECT min(event_date), max(event_date) FROM marts.fct_events"
            ).fetchall()[0]
            latest = last_day - timedelta(days=horizon + lateness_days) if last_day else None
            features = query(
                con,
                "SELECT * FROM features.user_features WHERE as_of_date <= ? "
                "ORDER BY as_of_date, user_id",
                [latest],
            )
            events = query(
                con,
                "SELECT user_id, event_type, event_time FROM marts.fct_events "
                "WHERE event_type = 'purchase'",
            )
        old_code = as_of_dates_of_old_code(features)
        if old_code:
            context.log.warning(
                f"{len(old_code)} as-of date(s) of user_features ({old_code[0]} to "
                f"{old_code[-1]}) were computed by older feature code, not version "
                f"{FEATURES_CODE_VERSION}: left out until they are materialized again"
            )
        candidates = sorted(set(features.get_column("as_of_date").unique()) - set(old_code))
        as_of = observed_as_of_dates(
            context.instance, candidates, horizon, lateness_days, newest_day=last_day
        )
        features = features.filter(pl.col("as_of_date").is_in(as_of))
        dataset = with_lookback_flag(
            purchase_labels(features.select(FEATURE_COLUMNS), events, horizon), first_day
        )
        version = dataset_version(dataset, horizon)
        path = features_path(lake.lake_root, "training_set", f"version={version}")
        write_parquet_atomically(dataset, path)
        positives = int(dataset.get_column("will_purchase").sum()) if dataset.height else 0
        context.log.info(f"training_set {version}: {dataset.height} rows, {positives} positive")
        return dg.MaterializeResult(
            metadata={
                "version": version,
                "dagster/row_count": dataset.height,
                "positive_labels": positives,
                "label_rate": round(positives / dataset.height, 4) if dataset.height else 0.0,
                "label": f"will_purchase (purchase within {horizon} days after as_of_date)",
                "as_of_dates": dataset.get_column("as_of_date").n_unique() if dataset.height else 0,
                "latest_complete_as_of": str(max(as_of)) if as_of else "none",
                "as_of_dates_waiting": len(candidates) - len(as_of),  # late data not built in
                "as_of_dates_of_old_code": len(old_code),
                "rows_short_lookback": dataset.height - int(dataset["lookback_complete"].sum()),
                "path": str(path),
            },
            data_version=dg.DataVersion(version),
        )

    return training_set


def as_of_dates_of_old_code(features: pl.DataFrame) -> list:
    """The as-of dates with a row computed by other feature code than the current version
    (rows written before the version was recorded have none)."""
    if "features_code_version" not in features.columns:
        return features.get_column("as_of_date").unique().sort().to_list()
    old = features.filter(pl.col("features_code_version").ne_missing(FEATURES_CODE_VERSION))
    return old.get_column("as_of_date").unique().sort().to_list()


def with_lookback_flag(dataset: pl.DataFrame, first_day) -> pl.DataFrame:
    """`lookback_complete`: whether the row's 28-day event window starts on or after the first
    day of events (earlier rows count less history than they will for later dates)."""
    start = pl.col("as_of_date") - timedelta(days=LOOKBACK_DAYS - 1)
    complete = pl.lit(False) if first_day is None else start >= pl.lit(first_day)
    return dataset.with_columns(complete.alias("lookback_complete"))


def dataset_version(dataset: pl.DataFrame, horizon: int) -> str:
    """A short hash of the dataset's content and types, its label definition and the code.
    polars' row hash is stable within one polars version only, so the version is part of it:
    an upgrade gives identical data a new id, never another dataset an old one."""
    content = (
        dataset.sort("user_id", "as_of_date").hash_rows(seed=0).to_list() if dataset.height else []
    )
    schema = [[name, str(dtype)] for name, dtype in dataset.schema.items()]
    payload = json.dumps([FEATURES_CODE_VERSION, pl.__version__, horizon, schema, content])
    return hashlib.sha256(payload.encode()).hexdigest()[:12]

"""The pandas baseline of `data-platform bench`: the platform's work on a run of days, done the
way tutorials do it, one day at a time.

pandas reads the day's deliveries (`read_json(lines=True)`, `read_csv`), types every field,
hashes PII with `hmac`, validates each clean table with a pandera (pandas) model equivalent to
the platform's polars contracts (`platform_assets.lake.quality`), drops the rows that break a
rule, deduplicates, writes clean parquet (pyarrow), then computes the daily revenue and
engagement aggregates as the dbt marts do (revenue from every day's order versions: an order's
latest state counts on the day it was created). No Dagster, DuckDB or polars in the work itself.

A day's clean rows come from its own delivery: late deliveries of later days are not looked for
(a landing zone simulated without faults has none), and a malformed line fails `read_json` (no
quarantine). A day's events are dropped once its engagement is counted; only the orders, which
are small, are kept across days.
JSON lines are read in chunks (`chunksize`, as pandas recommends for large files) and each chunk
is flattened to typed columns at once: a whole-file `read_json` holds every line's parsed objects
and peaks at ~10x the file's size, which at 10M events a day would not fit in memory.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.engines.pandas_engine import Date
from pandera.typing import Series

from platform_assets.bench.checksums import engagement_section, revenue_section
from platform_assets.lake.parse import TRUE_FALSE
from platform_assets.lake.quality import CURRENCY, PRODUCT_EVENTS
from platform_assets.sources.specs import APP_EVENTS, APPS, EVENT_TYPES, ORDER_STATUSES

UtcTimestamp = Annotated[pd.DatetimeTZDtype, "us", "UTC"]
ORDER = ["_delivery_date", "_source_file", "_line_number"]
CHUNK_LINES = 100_000
UNIQUENESS_CHECKS = {"field_uniqueness", "multiple_fields_uniqueness"}


# --- contracts: the pandas twins of platform_assets.lake.quality -----------------------------


class _Ingested(pa.DataFrameModel):
    source_file: Series[str] = pa.Field(alias="_source_file")
    ingested_at: Series[UtcTimestamp] = pa.Field(alias="_ingested_at")
    delivery_date: Series[Date] = pa.Field(alias="_delivery_date")

    class Config:
        strict = True
        coerce = False


class AppEvents(_Ingested):
    event_id: Series[str]
    user_id: Series[str]
    session_id: Series[str]
    app: Series[str] = pa.Field(isin=list(APPS))
    event_type: Series[str] = pa.Field(isin=list(EVENT_TYPES))
    event_time: Series[UtcTimestamp]
    event_date: Series[Date]
    product_id: Series[str] = pa.Field(nullable=True)
    price: Series[float] = pa.Field(nullable=True, ge=0)
    currency: Series[str] = pa.Field(nullable=True, str_matches=CURRENCY)
    properties: Series[str] = pa.Field(nullable=True)
    email_hash: Series[str] = pa.Field(nullable=True)
    ip_hash: Series[str] = pa.Field(nullable=True)
    user_agent: Series[str] = pa.Field(nullable=True)
    locale: Series[str] = pa.Field(nullable=True)

    class Config:
        unique = ["event_id"]

    @pa.dataframe_check(error="product events (view, cart, purchase) need a product_id")
    def product_events_have_product(cls, df: pd.DataFrame) -> pd.Series:
        return ~df["event_type"].isin(PRODUCT_EVENTS) | df["product_id"].notna()

    @pa.dataframe_check(error="a priced event needs a currency")
    def price_has_currency(cls, df: pd.DataFrame) -> pd.Series:
        return df["price"].isna() | df["currency"].notna()


class Orders(_Ingested):
    order_id: Series[str]
    user_id: Series[str]
    status: Series[str] = pa.Field(isin=list(ORDER_STATUSES))
    amount: Series[float] = pa.Field(ge=0)
    currency: Series[str] = pa.Field(str_matches=CURRENCY)
    created_at: Series[UtcTimestamp]
    updated_at: Series[UtcTimestamp]
    updated_date: Series[Date]

    class Config:
        unique = ["order_id", "updated_at"]

    @pa.dataframe_check(error="updated_at must not be before created_at")
    def updated_after_created(cls, df: pd.DataFrame) -> pd.Series:
        return df["updated_at"] >= df["created_at"]


class Products(_Ingested):
    product_id: Series[str]
    name: Series[str]
    category: Series[str]
    price: Series[float] = pa.Field(ge=0)
    currency: Series[str] = pa.Field(str_matches=CURRENCY)
    active: Series[pd.BooleanDtype]
    updated_at: Series[UtcTimestamp]
    snapshot_date: Series[Date]

    class Config:
        unique = ["product_id"]


class Users(_Ingested):
    user_id: Series[str]
    email_hash: Series[str] = pa.Field(nullable=True)
    country: Series[str] = pa.Field(nullable=True, str_matches=r"^[A-Z]{2}$")
    signup_at: Series[UtcTimestamp]
    marketing_opt_in: Series[pd.BooleanDtype] = pa.Field(nullable=True)

    class Config:
        unique = ["user_id"]


# --- the pipeline -----------------------------------------------------------------------------


def run(landing: Path, workdir: Path, days: list[date], pii_key: str) -> dict:
    """Clean the four sources of each of `days`, aggregate, write parquet under `workdir`; the
    checksums of each day ({"YYYY-MM-DD": checksums})."""
    workdir = Path(workdir)
    clean_rows, engagement, orders = {}, [], []
    for day in days:
        clean = clean_day(Path(landing), workdir, day, pii_key)
        clean_rows[day] = {source: len(frame) for source, frame in clean.items()}
        engagement.append(daily_engagement(clean["app_events"]))
        orders.append(clean["orders"])
        del clean  # the day's events are not held while the next day is read
    revenue = daily_revenue(pd.concat(orders, ignore_index=True))
    engagement = pd.concat(engagement, ignore_index=True)
    write_parquet(revenue, workdir / "marts" / "fct_daily_revenue.parquet")
    write_parquet(engagement, workdir / "marts" / "fct_daily_engagement.parquet")
    return {day.isoformat(): checksums(clean_rows[day], revenue, engagement, day) for day in days}


def clean_day(landing: Path, workdir: Path, day: date, pii_key: str) -> dict[str, pd.DataFrame]:
    """The four sources of `day` cleaned, each written as parquet under `workdir`."""
    ingested_at = pd.Timestamp.now(tz="UTC").as_unit("us")
    clean = {
        source: clean_source(landing / source / day.isoformat(), day, ingested_at, pii_key)
        for source, clean_source in SOURCES.items()
    }
    for source, frame in clean.items():
        write_parquet(frame, workdir / "clean" / source / f"date={day}" / "data.parquet")
    return clean


def clean_app_events(folder: Path, day: date, ingested_at, pii_key: str) -> pd.DataFrame:
    """The day's clean app events: every delivered file, typed and flattened, then validated."""
    files = sorted({*folder.glob("*.jsonl"), *folder.glob("*.jsonl.gz")})
    chunks = [typed_events(raw, pii_key) for path in files for raw in read_jsonl(path)]
    events = pd.concat(chunks, ignore_index=True)
    events = events[events["event_date"] == day].reset_index(drop=True)
    events = with_ingestion(events, day, ingested_at)
    return clean_table(events, AppEvents, ["event_id"], keep="first")


def typed_events(raw: pd.DataFrame, pii_key: str) -> pd.DataFrame:
    """Typed events; JSON objects flattened and PII hashed (`_invalid`: unparsable)."""
    raw = raw.reindex(columns=[*APP_EVENT_FIELDS, "_source_file", "_line_number"])
    events = raw[["event_id", "user_id", "session_id", "app", "event_type", "product_id"]]
    events = events.astype("str")
    events["currency"] = raw["currency"].astype("str")
    events["price"] = to_float(raw["price"])
    events["event_time"] = to_utc(raw["event_time"])
    events["event_date"] = events["event_time"].dt.date
    events["properties"] = raw["properties"].map(without_email, na_action="ignore").astype("str")
    events["email_hash"] = keyed_hash(raw["properties"].str.get("email"), pii_key)
    events["ip_hash"] = keyed_hash(raw["context"].str.get("ip"), pii_key)
    events["user_agent"] = raw["context"].str.get("user_agent").astype("str")
    events["locale"] = raw["context"].str.get("locale").astype("str")
    events["_invalid"] = unparsable(raw, events, ["price", "event_time"])
    return events.join(raw[["_source_file", "_line_number"]])


def clean_orders(folder: Path, day: date, ingested_at, pii_key: str) -> pd.DataFrame:
    """The day's clean order versions (placed by `updated_at`)."""
    raw = read_csv(folder / "orders.csv")
    orders = raw[["order_id", "user_id", "status", "currency"]].copy()
    orders["amount"] = to_float(raw["amount"])
    orders["created_at"] = to_utc(raw["created_at"])
    orders["updated_at"] = to_utc(raw["updated_at"])
    orders["updated_date"] = orders["updated_at"].dt.date
    orders["_invalid"] = unparsable(raw, orders, ["amount", "created_at", "updated_at"])
    orders = orders.join(raw[["_source_file", "_line_number"]])
    orders = orders[orders["updated_date"] == day].reset_index(drop=True)
    orders = with_ingestion(orders, day, ingested_at)
    return clean_table(orders, Orders, ["order_id", "updated_at"], keep="first")


def clean_products(folder: Path, day: date, ingested_at, pii_key: str) -> pd.DataFrame:
    """The catalog snapshot delivered on `day`."""
    raw = read_csv(folder / "products.csv")
    products = raw[["product_id", "name", "category", "currency"]].copy()
    products["price"] = to_float(raw["price"])
    products["active"] = to_bool(raw["active"])
    products["updated_at"] = to_utc(raw["updated_at"])
    products["snapshot_date"] = day
    products["_invalid"] = unparsable(raw, products, ["price", "active", "updated_at"])
    products = products.join(raw[["_source_file", "_line_number"]])
    products = with_ingestion(products, day, ingested_at)
    return clean_table(products, Products, ["product_id"], keep="last")


def clean_users(folder: Path, day: date, ingested_at, pii_key: str) -> pd.DataFrame:
    """The user accounts delivered on `day`: email hashed, name and phone dropped."""
    chunks = read_jsonl(folder / "users.jsonl")
    raw = pd.concat(chunks, ignore_index=True).reindex(columns=[*USER_FIELDS, *ORDER[1:]])
    users = raw[["user_id", "country"]].astype("str")
    users["email_hash"] = keyed_hash(raw["email"], pii_key)
    users["signup_at"] = to_utc(raw["signup_at"])
    users["marketing_opt_in"] = to_bool(raw["marketing_opt_in"])
    users["_invalid"] = unparsable(raw, users, ["signup_at", "marketing_opt_in"])
    users = with_ingestion(users.join(raw[ORDER[1:]]), day, ingested_at)
    return clean_table(users, Users, ["user_id"], keep="last")


SOURCES = {
    "app_events": clean_app_events,
    "orders": clean_orders,
    "products": clean_products,
    "users": clean_users,
}
APP_EVENT_FIELDS = list(APP_EVENTS.fields)
USER_FIELDS = ["user_id", "email", "full_name", "country", "signup_at", "marketing_opt_in"]


# --- typing -----------------------------------------------------------------------------------


def read_jsonl(path: Path) -> Iterator[pd.DataFrame]:
    """A JSON-lines delivery (maybe gzip), in chunks of lines, with where each row came from."""
    with pd.read_json(path, lines=True, dtype=False, chunksize=CHUNK_LINES) as reader:
        for chunk in reader:  # the index counts lines from 0 across chunks
            yield chunk.assign(_source_file=str(path), _line_number=chunk.index + 1)


def read_csv(path: Path) -> pd.DataFrame:
    """A CSV delivery as text, with where each row came from."""
    raw = pd.read_csv(path, dtype="str")
    raw["_source_file"] = str(path)
    raw["_line_number"] = np.arange(2, len(raw) + 2)
    return raw


def to_utc(values: pd.Series) -> pd.Series:
    """ISO 8601 text (any offset) -> UTC timestamps (NaT when it does not parse)."""
    parsed = pd.to_datetime(values, utc=True, format="ISO8601", errors="coerce")
    return parsed.dt.as_unit("us")


def to_float(values: pd.Series) -> pd.Series:
    """Numbers (NaN when not a finite number)."""
    numbers = pd.to_numeric(values, errors="coerce")
    return numbers.where(np.isfinite(numbers))


def to_bool(values: pd.Series) -> pd.Series:
    """true/false, 1/0, yes/no (any case) -> nullable booleans."""
    return values.astype("str").str.lower().map(TRUE_FALSE).astype("boolean")


def unparsable(raw: pd.DataFrame, typed: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Rows where a delivered value did not parse (the platform's `invalid_value`)."""
    return (raw[columns].notna() & typed[columns].isna()).any(axis=1)


def without_email(properties) -> str:
    """The properties object as JSON text, without its `email` key."""
    if isinstance(properties, dict):
        properties = {k: v for k, v in properties.items() if k != "email"}
    return json.dumps(properties, separators=(",", ":"), ensure_ascii=False)


def keyed_hash(values: pd.Series, key: str) -> pd.Series:
    """HMAC-SHA256 of each (trimmed, lower-cased) value, as in `lake.transforms.keyed_hash`."""
    secret = key.encode()
    normalised = values.astype("str").str.strip().str.lower()
    return normalised.map(
        lambda v: hmac.new(secret, v.encode(), hashlib.sha256).hexdigest(), na_action="ignore"
    ).astype("str")


def with_ingestion(frame: pd.DataFrame, day: date, ingested_at) -> pd.DataFrame:
    """Add the delivery columns every clean table carries."""
    return frame.assign(_delivery_date=day, _ingested_at=ingested_at)


# --- rules and dedup --------------------------------------------------------------------------


def clean_table(
    frame: pd.DataFrame, model: type[pa.DataFrameModel], key: list[str], keep: str
) -> pd.DataFrame:
    """Valid rows, one per key, with the columns of the clean table in `model`'s order."""
    columns = list(model.to_schema().columns)
    return deduplicate(validate(frame, model), key, keep)[columns]


def validate(frame: pd.DataFrame, model: type[pa.DataFrameModel]) -> pd.DataFrame:
    """The rows that parse and pass `model` (duplicates are left to dedup)."""
    frame = frame[~frame["_invalid"]].drop(columns="_invalid")
    columns = list(model.to_schema().columns)
    try:
        model.validate(frame[columns], lazy=True)
        return frame
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
    if cases["index"].isna().any():
        raise ValueError(f"{model.__name__}: table-level failures:\n{cases.head()}")
    broken = cases.loc[~cases["check"].isin(UNIQUENESS_CHECKS), "index"].unique()
    return frame.drop(index=broken)


def deduplicate(frame: pd.DataFrame, key: list[str], keep: str) -> pd.DataFrame:
    """One row per key: the first or last received."""
    ordered = frame.sort_values(ORDER, kind="stable")
    return ordered.drop_duplicates(subset=key, keep=keep)


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, engine="pyarrow", index=False)


# --- aggregates (dbt marts) -------------------------------------------------------------------


def daily_revenue(orders: pd.DataFrame) -> pd.DataFrame:
    """fct_daily_revenue: latest state of each order, per created date and currency."""
    latest = orders.sort_values(["order_id", "updated_at"]).drop_duplicates("order_id", keep="last")
    cents = (latest["amount"] * 100).round().astype("int64")  # DECIMAL(18, 2) per row
    counted = latest["status"] != "cancelled"
    per_order = pd.DataFrame(
        {
            "date": latest["created_at"].dt.date,
            "currency": latest["currency"],
            "orders": counted.astype("int64"),
            "gross": cents.where(counted, 0),
            "refunds": cents.where(latest["status"] == "refunded", 0),
        }
    )
    sums = per_order.groupby(["date", "currency"], as_index=False).sum()
    return sums[["date", "currency", "orders"]].assign(
        gross_revenue=sums["gross"] / 100,
        refunds=sums["refunds"] / 100,
        net_revenue=(sums["gross"] - sums["refunds"]) / 100,
    )


def daily_engagement(events: pd.DataFrame) -> pd.DataFrame:
    """fct_daily_engagement (without sessions): per date and app."""
    purchasers = events["user_id"].where(events["event_type"] == "purchase")
    engagement = (
        events.assign(date=events["event_date"], purchaser=purchasers)
        .groupby(["date", "app"], as_index=False)
        .agg(
            dau=("user_id", "nunique"),
            events=("event_id", "size"),
            purchasing_users=("purchaser", "nunique"),
        )
    )
    return engagement.assign(conversion_rate=engagement["purchasing_users"] / engagement["dau"])


def checksums(clean_rows: dict, revenue: pd.DataFrame, engagement: pd.DataFrame, day: date) -> dict:
    """The benchmark's checksums (`platform_assets.bench.checksums`) of `day`, from its clean
    row counts and the final aggregates."""
    revenue = revenue[revenue["date"] == day]
    engagement = engagement[engagement["date"] == day]
    return {
        "clean_rows": clean_rows,
        "events": clean_rows["app_events"],
        "revenue": revenue_section(
            revenue[["currency", "orders", "gross_revenue", "net_revenue"]].itertuples(index=False)
        ),
        "engagement": engagement_section(
            engagement[["app", "dau", "events", "purchasing_users"]].itertuples(index=False)
        ),
    }

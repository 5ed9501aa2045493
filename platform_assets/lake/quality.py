"""Data contracts of the clean lake tables, as pandera (polars) models.

The same models drive row-level quarantine while cleaning (a failed rule becomes the row's
`_reason`) and run as blocking asset checks on what was published.
"""

from __future__ import annotations

import copy
import functools
from datetime import date
from pathlib import Path

import pandera.polars as pa
import polars as pl
from pandera.config import ValidationDepth, config_context
from pandera.engines.polars_engine import DateTime

from platform_assets.sources.specs import APPS, EVENT_TYPES, ORDER_STATUSES

UtcTimestamp = DateTime(time_zone="UTC", time_unit="us")
PRODUCT_EVENTS = ["product_view", "add_to_cart", "remove_from_cart", "purchase"]
CURRENCY = r"^[A-Z]{3}$"


class _Ingested(pa.DataFrameModel):
    source_file: str = pa.Field(nullable=False, alias="_source_file")
    ingested_at: UtcTimestamp = pa.Field(nullable=False, alias="_ingested_at")
    delivery_date: date = pa.Field(nullable=False, alias="_delivery_date")

    class Config:
        strict = True
        coerce = False


class CleanAppEvents(_Ingested):
    """One row per app event; `event_id` unique; no raw PII (email and IP are keyed hashes)."""

    event_id: str = pa.Field(nullable=False)
    user_id: str = pa.Field(nullable=False)
    session_id: str = pa.Field(nullable=False)
    app: str = pa.Field(isin=list(APPS))
    event_type: str = pa.Field(isin=list(EVENT_TYPES))
    event_time: UtcTimestamp = pa.Field(nullable=False)
    event_date: date = pa.Field(nullable=False)
    product_id: str = pa.Field(nullable=True)
    price: float = pa.Field(nullable=True, ge=0)
    currency: str = pa.Field(nullable=True, str_matches=CURRENCY)
    properties: str = pa.Field(nullable=True)
    email_hash: str = pa.Field(nullable=True)
    ip_hash: str = pa.Field(nullable=True)
    user_agent: str = pa.Field(nullable=True)
    locale: str = pa.Field(nullable=True)

    class Config:
        unique = ["event_id"]

    @pa.dataframe_check(error="product events (view, cart, purchase) need a product_id")
    def product_events_have_product(cls, data) -> pl.LazyFrame:
        needs = pl.col("event_type").is_in(PRODUCT_EVENTS)
        return data.lazyframe.select(~needs | pl.col("product_id").is_not_null())

    @pa.dataframe_check(error="a priced event needs a currency")
    def price_has_currency(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("price").is_null() | pl.col("currency").is_not_null())


class CleanOrders(_Ingested):
    """One row per order version (order_id, updated_at); the latest version is the order."""

    order_id: str = pa.Field(nullable=False)
    user_id: str = pa.Field(nullable=False)
    status: str = pa.Field(isin=list(ORDER_STATUSES))
    amount: float = pa.Field(nullable=False, ge=0)
    currency: str = pa.Field(nullable=False, str_matches=CURRENCY)
    created_at: UtcTimestamp = pa.Field(nullable=False)
    updated_at: UtcTimestamp = pa.Field(nullable=False)
    updated_date: date = pa.Field(nullable=False)

    class Config:
        unique = ["order_id", "updated_at"]

    @pa.dataframe_check(error="updated_at must not be before created_at")
    def updated_after_created(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("updated_at") >= pl.col("created_at"))


class CleanProducts(_Ingested):
    """The catalog as delivered on `snapshot_date`, one row per product."""

    product_id: str = pa.Field(nullable=False)
    name: str = pa.Field(nullable=False)
    category: str = pa.Field(nullable=False)
    price: float = pa.Field(nullable=False, ge=0)
    currency: str = pa.Field(nullable=False, str_matches=CURRENCY)
    active: bool = pa.Field(nullable=False)
    updated_at: UtcTimestamp = pa.Field(nullable=False)
    snapshot_date: date = pa.Field(nullable=False)

    class Config:
        unique = ["product_id"]


class CleanUsers(_Ingested):
    """User accounts without raw PII: email is a keyed hash; name and phone are dropped."""

    user_id: str = pa.Field(nullable=False)
    email_hash: str = pa.Field(nullable=True)
    country: str = pa.Field(nullable=True, str_matches=r"^[A-Z]{2}$")
    signup_at: UtcTimestamp = pa.Field(nullable=False)
    marketing_opt_in: bool = pa.Field(nullable=True)

    class Config:
        unique = ["user_id"]


CLEAN_MODELS: dict[str, type[pa.DataFrameModel]] = {
    "app_events": CleanAppEvents,
    "orders": CleanOrders,
    "products": CleanProducts,
    "users": CleanUsers,
}


def model_columns(model: type[pa.DataFrameModel]) -> list[str]:
    """Column order of a clean table, as its model declares it."""
    return list(model.to_schema().columns)


def row_failures(frame: pl.DataFrame, model: type[pa.DataFrameModel]) -> pl.DataFrame:
    """Per-row broken rules as (`_row`, `_reason`); uniqueness is left to dedup.

    `frame` carries a `_row` id column; only the model's columns are validated.
    """
    empty = pl.DataFrame(schema={"_row": pl.UInt32, "_reason": pl.Utf8})
    try:
        row_checks(model).validate(frame.select(model_columns(model)), lazy=True)
        return empty
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
    table_level = cases.filter(pl.col("index").is_null())
    if table_level.height:
        raise ValueError(f"{model.__name__}: schema-level failures: {table_level.to_dicts()[:5]}")
    reasons = cases.select(
        frame.get_column("_row").gather(cases.get_column("index")).alias("_row"),
        pl.format("check_failed:{}:{}", pl.col("column"), pl.col("check")).alias("_reason"),
    )
    return reasons.group_by("_row").agg(pl.col("_reason").unique().sort().str.join("; "))


def validate_file(path: Path, model: type[pa.DataFrameModel], failure_cases: int) -> None:
    """Validate a whole parquet file against the model's row checks, data included: pandera
    runs each check as a polars query over the file, which reads only the columns it checks
    (10M events: 1.3 s and 250 MB, against 4.4 s in batches of 150k rows, where the fixed cost
    of a validation dominates). Each check reports at most `failure_cases` failing rows (a
    table-wide check's are whole rows, which pandera turns into Python objects).
    Raises SchemaErrors."""
    depth = ValidationDepth.SCHEMA_AND_DATA  # a LazyFrame's default: the schema only
    with config_context(validation_enabled=True, validation_depth=depth):
        file_checks(model, failure_cases).validate(pl.scan_parquet(path), lazy=True)


@functools.cache
def row_checks(model: type[pa.DataFrameModel]) -> pa.DataFrameSchema:
    """The model's schema without its key's uniqueness, which is checked by hash over the whole
    partition (`duplicates`): a batch's uniqueness says nothing of the partition's, and pandera
    would collect every column of the frame to check it."""
    schema = copy.deepcopy(model.to_schema())
    schema.unique = None
    return schema


@functools.cache
def file_checks(model: type[pa.DataFrameModel], failure_cases: int) -> pa.DataFrameSchema:
    """`row_checks(model)`, each check reporting at most `failure_cases` failing rows."""
    schema = copy.deepcopy(row_checks(model))
    columns = schema.columns.values()
    for check in [*schema.checks, *(check for column in columns for check in column.checks)]:
        check.n_failure_cases = failure_cases
    return schema

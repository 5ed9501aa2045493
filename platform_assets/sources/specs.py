"""What each source system delivers, declared once: format, fields, keys, event time and PII.

Everything downstream (raw ingestion, typing, quarantine rules, dedup, PII protection, the
source assets) is driven from these specs, so adding a source starts here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path, PurePath

import polars as pl


@dataclass(frozen=True)
class SourceSpec:
    """A source system's delivery contract."""

    name: str
    description: str
    format: str  # "jsonl" or "csv"
    file_patterns: tuple[str, ...]
    fields: dict[str, pl.DataType]  # typed fields as delivered, in order
    key: tuple[str, ...]  # what makes a record unique after cleaning
    event_time: str | None  # column that places a record in a day; None = delivery date
    date_column: str  # the clean table's partition date column
    # Object fields, decoded as JSON text; one dropped for PII is read for its extracted keys only
    json_fields: tuple[str, ...] = ()
    # JSON only: extra columns pulled out of object fields, {column: (json_field, json_path)}
    json_extract: dict[str, tuple[str, str]] = field(default_factory=dict)
    # JSON only: keys removed from object fields before they reach clean (PII)
    json_scrub: dict[str, tuple[str, ...]] = field(default_factory=dict)
    owners: tuple[str, ...] = ("team:data-platform",)  # Dagster takes a team: or an email
    # PII: columns replaced by a keyed hash (join keys) and columns dropped outright
    pii_hashed: dict[str, str] = field(default_factory=dict)  # source column -> hash column
    pii_dropped: tuple[str, ...] = ()
    # Dedup among equal keys: keep the "first" or "last" received copy
    keep: str = "first"

    def delivered_files(self, folder: Path) -> set[Path]:
        """The files of a delivery-day folder that a run reads (`reads`)."""
        if not folder.is_dir():
            return set()
        return {
            path
            for path in folder.iterdir()
            if path.is_file() and self.reads(PurePath(folder.name, path.name))
        }

    def reads(self, relative: PurePath) -> bool:
        """Whether a run reads the file at `relative` to the source's landing folder: directly
        in a delivery-day folder, named for a file pattern, neither of them hidden (uploaders
        write under a hidden name and rename the file when it is complete)."""
        return (
            len(relative.parts) == 2
            and not any(part.startswith(".") for part in relative.parts)
            and any(fnmatchcase(relative.name, pattern) for pattern in self.file_patterns)
        )

    @property
    def reads_late_deliveries(self) -> bool:
        """Whether a day's records can arrive in later deliveries: records placed in a day by
        their own time can be delivered late; records dated by their delivery cannot."""
        return self.event_time is not None

    @property
    def typed_columns(self) -> dict[str, pl.DataType]:
        """Fields plus JSON extractions, as typed by the parse step (before PII protection; an
        object dropped for PII is not among its columns, only the keys taken from it)."""
        return {**self.fields, **{c: pl.Utf8 for c in self.json_extract}}


TS = pl.Datetime("us", "UTC")

# Enumerations of the source contract (contracts.md), shared by the rules and the simulator.
APPS = ("web", "ios", "android")
EVENT_TYPES = (
    "page_view",
    "product_view",
    "search",
    "add_to_cart",
    "remove_from_cart",
    "checkout_started",
    "purchase",
    "signup",
    "login",
)
ORDER_STATUSES = ("created", "paid", "shipped", "delivered", "cancelled", "refunded")

APP_EVENTS = SourceSpec(
    name="app_events",
    description="Clickstream events from the web, iOS and Android apps (JSON lines, maybe gzip).",
    format="jsonl",
    file_patterns=("*.jsonl", "*.jsonl.gz"),
    fields={
        "event_id": pl.Utf8,
        "user_id": pl.Utf8,
        "session_id": pl.Utf8,
        "app": pl.Utf8,
        "event_type": pl.Utf8,
        "event_time": TS,
        "product_id": pl.Utf8,
        "price": pl.Float64,
        "currency": pl.Utf8,
        "properties": pl.Utf8,
        "context": pl.Utf8,
    },
    json_fields=("properties", "context"),
    json_extract={
        "email": ("properties", "$.email"),
        "ip": ("context", "$.ip"),
        "user_agent": ("context", "$.user_agent"),
        "locale": ("context", "$.locale"),
    },
    json_scrub={"properties": ("email",)},
    pii_hashed={"email": "email_hash", "ip": "ip_hash"},
    pii_dropped=("context",),
    key=("event_id",),
    event_time="event_time",
    date_column="event_date",
    owners=("team:product-analytics",),
)

ORDERS = SourceSpec(
    name="orders",
    description="Order state changes from the order system (CSV); an order reappears when it "
    "changes and the latest updated_at wins.",
    format="csv",
    file_patterns=("*.csv",),
    fields={
        "order_id": pl.Utf8,
        "user_id": pl.Utf8,
        "status": pl.Utf8,
        "amount": pl.Float64,
        "currency": pl.Utf8,
        "created_at": TS,
        "updated_at": TS,
    },
    key=("order_id", "updated_at"),
    event_time="updated_at",
    date_column="updated_date",
    owners=("team:commerce",),
)

PRODUCTS = SourceSpec(
    name="products",
    description="Full product catalog snapshot, delivered daily as products.csv.",
    format="csv",
    file_patterns=("products.csv",),
    fields={
        "product_id": pl.Utf8,
        "name": pl.Utf8,
        "category": pl.Utf8,
        "price": pl.Float64,
        "currency": pl.Utf8,
        "active": pl.Boolean,
        "updated_at": TS,
    },
    key=("product_id",),
    event_time=None,
    date_column="snapshot_date",
    owners=("team:commerce",),
    keep="last",
)

USERS = SourceSpec(
    name="users",
    description="User accounts from the identity service (JSON lines; holds PII).",
    format="jsonl",
    file_patterns=("*.jsonl",),
    fields={
        "user_id": pl.Utf8,
        "email": pl.Utf8,
        "full_name": pl.Utf8,
        "country": pl.Utf8,
        "signup_at": TS,
        "marketing_opt_in": pl.Boolean,
        "phone": pl.Utf8,
    },
    key=("user_id",),
    event_time=None,
    date_column="_delivery_date",
    owners=("team:identity",),
    pii_hashed={"email": "email_hash"},
    pii_dropped=("full_name", "phone"),
    keep="last",
)

SOURCES: dict[str, SourceSpec] = {s.name: s for s in (APP_EVENTS, ORDERS, PRODUCTS, USERS)}

"""Pure polars transforms from raw deliveries to one clean partition.

    raw deliveries -> typed (parse) -> owned by this partition -> PII protected
      -> rules (pandera) -> deduplicated -> clean          (+ quarantine with `_reason`)

Every row received for the partition ends up in exactly one of: clean, quarantine, duplicates.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

import polars as pl

from platform_assets.frames import scratch_duckdb
from platform_assets.lake.parse import parse_raw
from platform_assets.lake.quality import CLEAN_MODELS, model_columns, row_failures
from platform_assets.partitions import FIRST_DAY
from platform_assets.sources.specs import SourceSpec

SHA256_BLOCK = 64  # bytes
ORDER = ["_delivery_date", "_source_file", "_line_number"]


@dataclass(frozen=True)
class CleanResult:
    clean: pl.DataFrame
    quarantine: pl.DataFrame
    received: int
    duplicates: int

    @property
    def counts(self) -> dict[str, int]:
        return {
            "rows_received": self.received,
            "rows_clean": self.clean.height,
            "rows_quarantined": self.quarantine.height,
            "duplicates_dropped": self.duplicates,
        }


def assign_partition(
    typed: pl.DataFrame, spec: SourceSpec, lateness_days: int, first_day: date = FIRST_DAY
) -> pl.DataFrame:
    """Add `_partition_date`: the day a record belongs to, and a reason when it is out of bounds.

    A record belongs to its event day if it arrived within `lateness_days` of it. Records that
    arrived later (`too_late`), claim to happen after they arrived (`event_after_delivery`),
    happened before the first partition (`before_first_partition`: no partition would ever
    read them), or have no valid event time are owned by their delivery day, so they are
    quarantined once.
    """
    delivered = pl.col("_delivery_date")
    if spec.event_time is None:
        return typed.with_columns(delivered.alias("_partition_date"))
    event_date = pl.col(spec.event_time).dt.date()
    lag = (delivered - event_date).dt.total_days()
    reason = (
        pl.when(lag > lateness_days)
        .then(pl.lit("too_late"))
        .when(lag < 0)
        .then(pl.lit("event_after_delivery"))
        .when(event_date < first_day)
        .then(pl.lit("before_first_partition"))
    )
    return typed.with_columns(
        pl.when(lag.is_between(0, lateness_days) & (event_date >= first_day))
        .then(event_date)
        .otherwise(delivered)
        .alias("_partition_date"),
        pl.coalesce(pl.col("_reason"), reason).alias("_reason"),
    )


def keyed_hash(values: pl.Series, key: str) -> pl.Series:
    """HMAC-SHA256 of each (trimmed, lower-cased) value: a stable join key that hides the value.
    A blank value has no hash (null): a hash of "" would join every user without an email.
    Each distinct value is hashed once; where no value repeats (a delivery of users' emails),
    the values are hashed as they stand, without looking the digests up again."""
    normalised = values.str.strip_chars().str.to_lowercase()
    normalised = pl.select(pl.when(normalised != "").then(normalised)).to_series()
    uniques = normalised.drop_nulls().unique()
    if uniques.len() == normalised.len() - normalised.null_count():
        return hmac_sha256(normalised, key)  # null stays null
    digests = hmac_sha256(uniques, key)
    return normalised.replace_strict(uniques, digests, default=None, return_dtype=pl.Utf8)


def hmac_sha256(values: pl.Series, key: str) -> pl.Series:
    """Hex HMAC-SHA256 (RFC 2104) of each value, computed by DuckDB's vectorised sha256 (twice
    as fast as Python's hmac per value): sha256(key^opad || sha256(key^ipad || value))."""
    secret = key.encode()
    if len(secret) > SHA256_BLOCK:
        secret = hashlib.sha256(secret).digest()
    secret = secret.ljust(SHA256_BLOCK, b"\0")
    inner, outer = bytes(b ^ 0x36 for b in secret), bytes(b ^ 0x5C for b in secret)
    with scratch_duckdb() as con:
        con.register("keyed", values.alias("value").to_frame())
        digests = con.sql(
            "SELECT sha256(?::BLOB || unhex(sha256(?::BLOB || encode(value)))) AS digest "
            "FROM keyed",
            params=[outer, inner],
        )
        return digests.pl().get_column("digest").alias(values.name)


def protect_pii(frame: pl.DataFrame, spec: SourceSpec, key: str) -> pl.DataFrame:
    """Replace join-key PII by keyed hashes and drop the rest."""
    hashed = [
        keyed_hash(frame.get_column(src), key).alias(dst) for src, dst in spec.pii_hashed.items()
    ]
    # `strict=False`: a dropped object may not have been decoded at all (`parse_raw`)
    return frame.with_columns(hashed).drop(*spec.pii_hashed, *spec.pii_dropped, strict=False)


def key_hashes(frame: pl.DataFrame | pl.LazyFrame, spec: SourceSpec) -> pl.Series:
    """A 64-bit hash of each row's key (the same key, the same hash)."""
    hashed = frame.lazy().select(pl.struct(list(spec.key)).hash().alias("_hash"))
    return hashed.collect().to_series()


def duplicates(good: pl.LazyFrame, spec: SourceSpec, hashes: pl.Series | None = None) -> pl.Series:
    """Positions (row numbers, in received order) of the rows dedup drops: all rows of a key
    but the first received (`keep="first"`) or the last (`keep="last"`).

    Holds only a 64-bit key hash per row (`hashes`, computed from `good` if not given); real
    keys are compared only for the rows whose hash repeats.
    """
    key = list(spec.key)
    hashes = key_hashes(good, spec) if hashes is None else hashes
    if hashes.n_unique() == hashes.len():  # no hash repeats (5x faster than is_duplicated)
        return pl.Series("_pos", [], pl.UInt32)
    positions = hashes.to_frame("_hash").with_row_index("_pos")
    repeated = positions.filter(pl.col("_hash").is_duplicated()).get_column("_pos")
    rows = good.with_row_index("_pos").filter(pl.col("_pos").is_in(repeated.implode()))
    keep = pl.col("_pos").min() if spec.keep == "first" else pl.col("_pos").max()
    kept = rows.select("_pos", *key).collect().group_by(key).agg(keep).get_column("_pos")
    return repeated.filter(~repeated.is_in(kept.implode())).sort()


def without_rows(frame: pl.LazyFrame, positions: pl.Series) -> pl.LazyFrame:
    """`frame` without the rows at `positions`, in its order."""
    dropped = pl.col("_pos").is_in(positions.implode())
    return frame.with_row_index("_pos").filter(~dropped).drop("_pos")


def with_date_column(frame: pl.DataFrame, spec: SourceSpec) -> pl.DataFrame:
    if spec.date_column == "_delivery_date":
        return frame
    return frame.with_columns(pl.col("_partition_date").alias(spec.date_column))


@dataclass(frozen=True)
class Screened:
    """One batch of raw rows, screened: rows that may be clean (in received order, not yet
    deduplicated), rejected rows, and how many of the batch belong to the partition."""

    good: pl.DataFrame
    quarantine: pl.DataFrame
    received: int


def screen(
    raw: pl.DataFrame, spec: SourceSpec, partition: date, *, lateness_days: int, pii_key: str
) -> Screened:
    """Type, place, protect and check one batch of raw rows for one partition (row by row:
    batches of the same deliveries can be screened one at a time)."""
    typed = assign_partition(parse_raw(raw, spec), spec, lateness_days)
    mine = typed.filter(pl.col("_partition_date") == partition)
    candidates = with_date_column(protect_pii(mine, spec, pii_key), spec).with_row_index("_row")
    model = CLEAN_MODELS[spec.name]
    rejected = pl.concat(
        [
            candidates.filter(pl.col("_reason").is_not_null()).select("_row", "_reason"),
            row_failures(candidates.filter(pl.col("_reason").is_null()), model),
        ]
    )
    good = candidates.join(rejected, on="_row", how="anti", maintain_order="left")
    return Screened(
        good=good.select(model_columns(model)),
        quarantine=quarantine_rows(candidates, rejected),
        received=mine.height,
    )


def clean_partition(
    raw: pl.DataFrame, spec: SourceSpec, partition: date, *, lateness_days: int, pii_key: str
) -> CleanResult:
    """Clean one daily partition from the raw deliveries that may hold its records, in memory
    (the lake assets stream the same steps: `lake/partition.py`)."""
    received_order = raw.sort(ORDER, nulls_last=True, maintain_order=True)
    screened = screen(received_order, spec, partition, lateness_days=lateness_days, pii_key=pii_key)
    dropped = duplicates(screened.good.lazy(), spec)
    return CleanResult(
        clean=without_rows(screened.good.lazy(), dropped).collect(),
        quarantine=screened.quarantine,
        received=screened.received,
        duplicates=dropped.len(),
    )


QUARANTINE_SCHEMA = {
    "_record": pl.Utf8,
    "_reason": pl.Utf8,
    "_source_file": pl.Utf8,
    "_line_number": pl.Int64,
    "_delivery_date": pl.Date,
    "_ingested_at": pl.Datetime("us", "UTC"),
}
QUARANTINE_COLUMNS = list(QUARANTINE_SCHEMA)


def quarantine_rows(candidates: pl.DataFrame, rejected: pl.DataFrame) -> pl.DataFrame:
    """Rejected rows as received (`_record` holds the delivered line) with their `_reason`."""
    return (
        candidates.drop("_reason")
        .join(rejected, on="_row", how="inner")
        .sort("_row")
        .select(QUARANTINE_COLUMNS)
    )

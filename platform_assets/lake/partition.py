"""Build one clean partition from its raw deliveries in bounded memory, whatever the day's size:

    raw files --batches--> screen --> good parts (+ quarantine parts)     lake/transforms.py
    good parts --minus duplicates--> staged clean file
    staged file --pandera, batch by batch, and one global key check--> published (or not)

Parts live in `<lake>/.work/` and are removed afterwards; readers never see anything but a
whole published file.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandera.polars as pa
import polars as pl

from platform_assets.lake.quality import CLEAN_MODELS, validate_table
from platform_assets.lake.storage import staged_path
from platform_assets.lake.transforms import QUARANTINE_SCHEMA, duplicates, screen, without_rows
from platform_assets.sources.specs import SourceSpec

BATCH_ROWS = 250_000


@dataclass(frozen=True)
class BuiltPartition:
    """What building a partition did: counts, why rows were rejected, the first rows, and the
    contract failures if it was not published."""

    received: int
    clean: int
    quarantined: int
    duplicates: int
    reasons: pl.DataFrame  # _reason, len
    preview: pl.DataFrame
    failure: str | None = None

    @property
    def counts(self) -> dict[str, int]:
        return {
            "rows_received": self.received,
            "rows_clean": self.clean,
            "rows_quarantined": self.quarantined,
            "duplicates_dropped": self.duplicates,
        }


def build_partition(
    raw_files: list[Path],
    spec: SourceSpec,
    day: date,
    *,
    lateness_days: int,
    pii_key: str,
    clean: Path,
    quarantine: Path,
    publish: bool = True,
) -> BuiltPartition:
    """Clean `day` from `raw_files` (oldest delivery first) into `clean` and `quarantine`.

    The quarantine is always written; the clean file only if it passes its contract (and
    `publish`). With `publish=False` nothing is written: only the counts are returned.
    """
    with _workspace(clean) as work:
        received = _screen_all(raw_files, spec, day, lateness_days, pii_key, work)
        good = _scan(work, "good", CLEAN_MODELS[spec.name])
        dropped = duplicates(good, spec)
        staged = work / "clean.parquet"
        without_rows(good, dropped).sink_parquet(staged, compression="zstd")
        failure = contract_failures(staged, spec)
        rejected = _scan(work, "quarantine")
        result = BuiltPartition(
            received=received,
            clean=_rows(staged),
            quarantined=_rows(rejected),
            duplicates=dropped.len(),
            reasons=rejected.group_by("_reason").len().sort("len", descending=True).collect(),
            preview=pl.scan_parquet(staged).head(5).collect(),
            failure=failure,
        )
        if publish:
            _move(rejected, quarantine)
            if failure is None:
                _move(pl.scan_parquet(staged), clean)
    return result


def contract_failures(path: Path, spec: SourceSpec) -> str | None:
    """Validate a staged partition against its pandera model, one batch at a time, and its
    key over the whole file. The failures as text, or None if it passes."""
    model = CLEAN_MODELS[spec.name]
    broken: list[pl.DataFrame] = []
    for batch in pl.scan_parquet(path).collect_batches(chunk_size=BATCH_ROWS):
        try:
            validate_table(batch, model)
        except pa.errors.SchemaErrors as exc:
            broken.append(exc.failure_cases.group_by("column", "check").len())
    repeated = duplicates(pl.scan_parquet(path), spec).len()
    if repeated:
        check = "multiple_fields_uniqueness" if len(spec.key) > 1 else "field_uniqueness"
        key = ", ".join(spec.key)
        broken.append(pl.DataFrame({"column": [key], "check": [check], "len": [repeated]}))
    if not broken:
        return None
    totals = (
        pl.concat(broken, how="vertical_relaxed").group_by("column", "check").agg(pl.sum("len"))
    )
    return "; ".join(
        f"{c}: {k} ({n} rows)" for c, k, n in totals.sort("column", "check").iter_rows()
    )


def _screen_all(raw_files, spec, day, lateness_days, pii_key, work: Path) -> int:
    received = 0
    for number, batch in enumerate(_raw_batches(raw_files)):
        screened = screen(batch, spec, day, lateness_days=lateness_days, pii_key=pii_key)
        received += screened.received
        if screened.good.height:
            screened.good.write_parquet(work / f"good-{number:05}.parquet")
        if screened.quarantine.height:
            screened.quarantine.write_parquet(work / f"quarantine-{number:05}.parquet")
    return received


def _raw_batches(raw_files: list[Path]) -> Iterator[pl.DataFrame]:
    """Raw rows in received order, a batch at a time (deliveries may differ in columns)."""
    for path in raw_files:
        yield from pl.scan_parquet(path).collect_batches(chunk_size=BATCH_ROWS)


def _scan(work: Path, kind: str, model=None) -> pl.LazyFrame:
    parts = sorted(work.glob(f"{kind}-*.parquet"))
    if parts:
        return pl.scan_parquet(parts)
    if model is not None:
        return pl.LazyFrame(schema={n: c.dtype.type for n, c in model.to_schema().columns.items()})
    return pl.LazyFrame(schema=QUARANTINE_SCHEMA)


def _rows(frame: pl.LazyFrame | Path) -> int:
    lazy = pl.scan_parquet(frame) if isinstance(frame, Path) else frame
    return lazy.select(pl.len()).collect().item()


def _move(frame: pl.LazyFrame, final: Path) -> None:
    with staged_path(final) as staged:
        frame.sink_parquet(staged, compression="zstd")


@contextmanager
def _workspace(beside: Path) -> Iterator[Path]:
    """A scratch folder under `<lake>/.work/`, out of every reader's glob."""
    lake = beside.parents[3]  # <lake>/clean/<source>/date=.../data.parquet
    work = lake / ".work" / f"{beside.parents[1].name}-{beside.parent.name}-{uuid.uuid4().hex}"
    work.mkdir(parents=True)
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)

"""Where lake data lives, and atomic parquet writes (write aside, then rename into place)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import polars as pl


def raw_path(lake_root: str, source: str, day: date) -> Path:
    return Path(lake_root) / "raw" / source / f"delivery_date={day.isoformat()}" / "data.parquet"


def clean_path(lake_root: str, source: str, day: date) -> Path:
    return Path(lake_root) / "clean" / source / f"date={day.isoformat()}" / "data.parquet"


def clean_files(lake_root: str, source: str) -> list[Path]:
    """Every published clean partition of a source, oldest first."""
    return sorted((Path(lake_root) / "clean" / source).glob("date=*/data.parquet"))


def quarantine_path(lake_root: str, source: str, day: date) -> Path:
    return Path(lake_root) / "quarantine" / source / f"date={day.isoformat()}" / "data.parquet"


def features_path(lake_root: str, feature_set: str, partition: str) -> Path:
    return Path(lake_root) / "features" / feature_set / partition / "data.parquet"


@contextmanager
def scratch_folder(lake_root: str | Path, name: str) -> Iterator[Path]:
    """A new folder `<lake>/.work/<name>-<id>` for a step's intermediate files, out of every
    reader's glob; removed afterwards, whatever happens."""
    work = Path(lake_root) / ".work" / f"{name}-{uuid.uuid4().hex}"
    work.mkdir(parents=True)
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


@contextmanager
def staged_path(final: Path) -> Iterator[Path]:
    """A hidden path beside `final` to write to; it replaces `final` only if the block succeeds.

    Readers glob `*.parquet`, so the staged file (`.data.parquet.<id>.staged`) is never seen,
    and the rename makes the new partition appear whole or not at all.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    staged = final.with_name(f".{final.name}.{uuid.uuid4().hex}.staged")
    try:
        yield staged
        os.replace(staged, final)
    finally:
        staged.unlink(missing_ok=True)


@contextmanager
def staged_parquet(frame: pl.DataFrame, final: Path) -> Iterator[Path]:
    """Write `frame` to a staged path (see `staged_path`); publish it if the block succeeds."""
    with staged_path(final) as staged:
        frame.write_parquet(staged, compression="zstd", statistics=True)
        yield staged


def write_parquet_atomically(frame: pl.DataFrame, final: Path) -> None:
    with staged_parquet(frame, final):
        pass

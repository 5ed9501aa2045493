"""Write deliveries into the landing zone: byte-deterministic JSON lines, gzip and CSV files."""

from __future__ import annotations

import gzip
import io
import shutil
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

GZIP_LEVEL = 1  # fast; the files are still ~8x smaller than plain JSON lines


def folder(landing: Path, source: str, day: date) -> Path:
    """An empty delivery folder landing/source/YYYY-MM-DD (stale files of a rerun removed)."""
    path = Path(landing) / source / day.isoformat()
    path.mkdir(parents=True, exist_ok=True)
    for old in path.iterdir():
        if old.is_file() and old.name.endswith((".jsonl", ".jsonl.gz", ".csv")):
            old.unlink()
    return path


def lines_bytes(lines: pl.Series) -> bytes:
    """Lines joined with '\\n' (and a final newline), written verbatim."""
    buffer = io.BytesIO()
    lines.to_frame("line").write_csv(buffer, include_header=False, quote_style="never")
    return buffer.getvalue()


def write_event_files(
    rng: np.random.Generator, path: Path, day: date, lines: pl.DataFrame, n_on_time: int
) -> list[tuple[Path, int]]:
    """Split a day's lines (`line`, `key`) into 2-4 files by key, some of them gzipped.

    Keys 0..n_on_time-1 are the on-time events in time order; extra lines carry fractional
    keys, so a duplicate keyed `k + 0.5` lands in the same file right after its original.
    """
    n_files = int(min(rng.integers(2, 5), max(1, n_on_time)))
    cuts = np.sort(rng.choice(np.arange(1, max(2, n_on_time)), n_files - 1, replace=False))
    gz = rng.random(n_files) < 0.4
    if n_files > 1 and (gz.all() or not gz.any()):
        gz[rng.integers(0, n_files)] ^= True
    file_of = np.searchsorted(cuts, np.floor(lines["key"].to_numpy()), side="right")
    order = np.lexsort((lines["key"].to_numpy(), file_of))
    bounds = np.searchsorted(file_of[order], np.arange(n_files + 1))
    jobs = []
    for k in range(n_files):
        name = f"events_{day:%Y%m%d}_{k + 1:03d}.jsonl" + (".gz" if gz[k] else "")
        rows = lines["line"].gather(pl.Series(order[bounds[k] : bounds[k + 1]]))
        jobs.append((path / name, rows, bool(gz[k])))
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(lambda job: _write_lines(*job), jobs))


def _write_lines(path: Path, lines: pl.Series, gz: bool) -> tuple[Path, int]:
    if gz:
        data = gzip.compress(lines_bytes(lines), compresslevel=GZIP_LEVEL, mtime=0)
        path.write_bytes(data)
    else:
        lines.to_frame("line").write_csv(path, include_header=False, quote_style="never")
    return path, lines.len()


def redeliver(source_file: Path, path: Path) -> Path:
    """Place an exact copy of an earlier delivery's file into this delivery folder."""
    target = path / source_file.name
    shutil.copyfile(source_file, target)
    return target


def write_csv(frame: pl.DataFrame, file: Path) -> None:
    frame.write_csv(file, float_precision=2)


def write_jsonl(frame: pl.DataFrame, file: Path) -> None:
    frame.write_ndjson(file)

"""Vectorised value builders: random ids, digit templates, pick-from-list, RFC 3339 text."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

MS_PER_DAY = 86_400_000
_HEX = "0123456789abcdef"
# Two lower-case hex digits per byte value, as one little-endian uint16.
_HEX_PAIRS = np.array([ord(_HEX[b >> 4]) | ord(_HEX[b & 15]) << 8 for b in range(256)], "<u2")
_UUID_GROUPS = ((0, 0, 8), (9, 8, 12), (14, 12, 16), (19, 16, 20), (24, 20, 32))


def uuid4(rng: np.random.Generator, n: int) -> pl.Series:
    """n random version-4 UUID strings."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hex_chars = _HEX_PAIRS[raw].view(np.uint8)
    chars = np.full((n, 36), ord("-"), dtype=np.uint8)
    for at, lo, hi in _UUID_GROUPS:
        chars[:, at : at + hi - lo] = hex_chars[:, lo:hi]
    return _bytes_rows(chars)


def digits(rng: np.random.Generator, template: str, n: int) -> pl.Series:
    """n strings from a template whose '#' characters become random digits."""
    base = np.frombuffer(template.encode(), dtype=np.uint8)
    chars = np.tile(base, (n, 1))
    holes = np.flatnonzero(base == ord("#"))
    chars[:, holes] = rng.integers(ord("0"), ord("9") + 1, size=(n, holes.size), dtype=np.uint8)
    return _bytes_rows(chars)


def _bytes_rows(chars: np.ndarray) -> pl.Series:
    """A (rows, width) uint8 ASCII matrix as a string Series."""
    n, width = chars.shape
    if n == 0:
        return pl.Series([], dtype=pl.Utf8)
    return pl.Series(np.ascontiguousarray(chars).view(f"S{width}").ravel()).cast(pl.Utf8)


def pick(values: Sequence, idx: np.ndarray | pl.Series) -> pl.Series:
    """values[idx] as a Series (cheap for repeated strings)."""
    return pl.Series(list(values)).gather(pl.Series(np.asarray(idx, dtype=np.int64)))


def choice(rng: np.random.Generator, weights: Sequence[float], n: int) -> np.ndarray:
    """n indices drawn with the given (unnormalised) weights."""
    cdf = np.cumsum(np.asarray(weights, dtype=np.float64))
    return np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right").clip(0, len(cdf) - 1)


def prefixed(prefix: str, numbers: np.ndarray | pl.Series, width: int) -> pl.Series:
    """Ids like 'usr_0000042' from integers."""
    text = pl.Series(np.asarray(numbers, dtype=np.int64)).cast(pl.Utf8).str.zfill(width)
    return prefix + text


def utc_text(ms: pl.Expr) -> pl.Expr:
    """Epoch milliseconds as RFC 3339 UTC with whole seconds: 2026-03-01T10:15:30Z."""
    return pl.from_epoch(ms, time_unit="ms").dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def offset_text(minutes: int) -> str:
    """A UTC offset in minutes as '+05:30'."""
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


def local_text(local_ms: pl.Series, offset: pl.Series) -> pl.Expr:
    """Local wall-clock milliseconds and their offset as RFC 3339: 2026-03-01T10:15:30.123+01:00."""
    local = pl.lit(local_ms).cast(pl.Datetime("ms")).dt.strftime("%Y-%m-%dT%H:%M:%S%.3f")
    return pl.concat_str(local, pl.lit(offset))


def within_group_index(counts: np.ndarray) -> np.ndarray:
    """0..count-1 for each group, concatenated (counts of a repeat)."""
    total = int(counts.sum())
    starts = np.cumsum(counts) - counts
    return np.arange(total) - np.repeat(starts, counts)

"""Read one delivery from the landing zone into a raw frame, exactly as received.

JSON-lines sources keep each line as text in `_record` (parsing happens in the clean step, so
a malformed line is kept and quarantined, never lost). CSV sources keep every column as text.
A line or CSV row that is not UTF-8 is kept with its bytes escaped (`\\xff`) and `_error`
`bad_encoding`; what cannot be read of a file (corrupt or truncated gzip) becomes one row whose
`_error` says why, after the lines read before it. A CSV missing a required column marks its
rows with `_error` too.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import tempfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import BinaryIO

import polars as pl

from platform_assets.sources.specs import SourceSpec

META_COLUMNS = ("_line_number", "_source_file", "_ingested_at", "_delivery_date", "_error")
BAD_ENCODING = "bad_encoding"
UTF8_BOM = b"\xef\xbb\xbf"
# What reading a damaged file raises: a truncated gzip stream EOFError, a corrupt one zlib.error,
# a bad header gzip.BadGzipFile (an OSError).
UNREADABLE = (OSError, EOFError, zlib.error)
NOT_UTF8 = re.compile("[\udc80-\udcff]")  # what `surrogateescape` makes of a byte that is not UTF-8
LONE_CR = re.compile(rb"\r(?!\n)")  # a classic-Mac line end: polars' CSV reader keeps it
DUPLICATED = re.compile(r"^(.+)_duplicated_\d+$")  # polars' name for a header's second `x`


@dataclass(frozen=True)
class Salvaged:
    """What could be read of a damaged JSON-lines file: a plain copy with each line that is not
    UTF-8 left empty, those lines' text (bytes escaped) by line number, and why the rest of the
    file, if any, could not be read."""

    copy: Path
    bad_lines: dict[int, str]
    rest_error: str | None


def delivery_files(landing_root: Path, spec: SourceSpec, delivery_date: date) -> list[Path]:
    """The files a source delivered on one day, in a stable order."""
    folder = Path(landing_root) / spec.name / delivery_date.isoformat()
    if not folder.is_dir():
        return []
    return sorted(spec.delivered_files(folder))


def read_delivery(
    files: list[Path], spec: SourceSpec, delivery_date: date, ingested_at: datetime
) -> pl.DataFrame:
    """All rows of one delivery, with `_source_file`, `_line_number`, `_ingested_at`, `_error`."""
    return _despite_unreadable_files(
        files,
        spec,
        lambda bad: scan_delivery(files, spec, delivery_date, ingested_at, bad).collect(),
    )


def write_delivery(
    files: list[Path], spec: SourceSpec, delivery_date: date, ingested_at: datetime, path: Path
) -> None:
    """`read_delivery` streamed into a parquet file: a day's lines never sit in memory whole."""
    _despite_unreadable_files(
        files,
        spec,
        lambda bad: scan_delivery(files, spec, delivery_date, ingested_at, bad).sink_parquet(
            path,
            compression="zstd",
            compression_level=1,  # level 3: 50% slower, same size
        ),
    )


def scan_delivery(
    files: list[Path],
    spec: SourceSpec,
    delivery_date: date,
    ingested_at: datetime,
    unreadable: dict[Path, str | Salvaged] | None = None,
) -> pl.LazyFrame:
    """`read_delivery` as a lazy frame; a file in `unreadable` becomes one `_error` row, or what
    was salvaged of it."""
    unreadable = unreadable or {}
    reader = _scan_jsonl if spec.format == "jsonl" else _read_csv

    def frame(path: Path) -> pl.LazyFrame:
        problem = unreadable.get(path)
        if problem is None:
            return reader(path, spec).lazy()
        if isinstance(problem, Salvaged):
            return _scan_salvaged(path, problem, spec)
        return _file_error(path, problem, spec).lazy()

    frames = [frame(path) for path in files]
    raw = pl.concat(frames or [_empty(spec).lazy()], how="diagonal_relaxed")
    return raw.with_columns(
        pl.lit(ingested_at.astimezone(UTC).replace(tzinfo=None))
        .cast(pl.Datetime("us"))
        .dt.replace_time_zone("UTC")
        .alias("_ingested_at"),
        pl.lit(delivery_date).alias("_delivery_date"),
    )


def _despite_unreadable_files(files: list[Path], spec: SourceSpec, read):
    """`read(unreadable)`: first trusting every file; if reading fails, again with the damaged
    files (corrupt gzip, lines that are not UTF-8) marked or salvaged, so the rest arrive."""
    not_gzip = {
        path: f"unreadable_file: {path.name} is not gzip" for path in files if _fake_gz(path)
    }
    try:
        return read(not_gzip)
    except (pl.exceptions.ComputeError, *UNREADABLE) as exc:
        exc.add_note(f"reading the delivery {', '.join(str(path) for path in files)}")
        with tempfile.TemporaryDirectory(prefix="salvaged-") as scratch:
            unreadable = {
                path: problem
                for number, path in enumerate(files)
                if path not in not_gzip
                and (problem := _salvaged(path, spec, Path(scratch) / str(number)))
            }
            if not unreadable:
                raise
            return read(not_gzip | unreadable)


def _fake_gz(path: Path) -> bool:
    """A `.gz` file without gzip's magic bytes (polars would read it as plain text)."""
    if not path.name.endswith(".gz"):
        return False
    with path.open("rb") as handle:
        return handle.read(2) != b"\x1f\x8b"


def _salvaged(path: Path, spec: SourceSpec, copy: Path) -> Salvaged | None:
    """What can be read of a JSON-lines file, line by line, or None if it has no damage and
    polars reads it: a first pass only looks; a damaged file is then copied, its bad lines left
    empty. (CSV files are read eagerly, with their own error rows.)"""
    if spec.format != "jsonl":
        return None
    bad_lines, rest_error = _damage(path)
    if not bad_lines and rest_error is None and _polars_reads(path):
        return None
    with copy.open("wb") as out:
        _damage(path, out)
    return Salvaged(copy, bad_lines, rest_error)


def _polars_reads(path: Path) -> bool:
    """Whether polars reads the file's lines: it refuses some that gzip itself reads, such as
    a gzip stream followed by NUL bytes (block padding); those are read through a copy."""
    try:
        pl.scan_lines(path).select(pl.len()).collect()
    except (pl.exceptions.ComputeError, *UNREADABLE):
        return False
    return True


def _damage(path: Path, out: BinaryIO | None = None) -> tuple[dict[int, str], str | None]:
    """The lines of `path` that are not UTF-8 (escaped, by line number) and why the file stops
    being readable, if it does; each line read is written to `out`, a bad one as an empty line.
    An error writing `out` is raised, never blamed on the source file."""
    bad_lines: dict[int, str] = {}
    lines, number = _lines(path), 0
    while True:
        try:
            line = next(lines)
        except StopIteration:
            return bad_lines, None
        except UNREADABLE as exc:
            return bad_lines, f"unreadable_file: {type(exc).__name__}: {exc} (after line {number})"
        number += 1
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            bad_lines[number] = _escaped(line.rstrip(b"\r\n"))
            line = b"\n"
        if out is not None:
            out.write(line)


def _lines(path: Path) -> Iterator[bytes]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as source:
        yield from source


def _escaped(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")


def _scan_salvaged(path: Path, salvaged: Salvaged, spec: SourceSpec) -> pl.LazyFrame:
    """The salvaged lines of `path`: each line that is not UTF-8 as its escaped text with
    `_error` `bad_encoding`, then one row for an unreadable rest."""
    lines = _scan_jsonl(salvaged.copy, spec).with_columns(pl.lit(str(path)).alias("_source_file"))
    if salvaged.bad_lines:
        bad = pl.col("_line_number").replace_strict(
            salvaged.bad_lines, default=None, return_dtype=pl.Utf8
        )
        lines = lines.with_columns(
            pl.coalesce(bad, pl.col("_record")).alias("_record"),
            pl.when(bad.is_not_null()).then(pl.lit(BAD_ENCODING)).alias("_error"),
        )
    if salvaged.rest_error is None:
        return lines
    rest = _file_error(path, salvaged.rest_error, spec).lazy()
    return pl.concat([lines, rest], how="diagonal_relaxed")


def _empty(spec: SourceSpec) -> pl.DataFrame:
    text_cols = ["_record"] if spec.format == "jsonl" else list(spec.fields)
    return pl.DataFrame(
        schema={
            **{c: pl.Utf8 for c in text_cols},
            "_line_number": pl.Int64,
            "_source_file": pl.Utf8,
            "_error": pl.Utf8,
        }
    )


def _file_error(path: Path, reason: str, spec: SourceSpec) -> pl.DataFrame:
    row = {"_line_number": None, "_source_file": str(path), "_error": reason}
    return pl.concat([_empty(spec), pl.DataFrame([row])], how="diagonal_relaxed")


def _read_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(".gz") else data


def _scan_jsonl(path: Path, spec: SourceSpec) -> pl.LazyFrame:
    """One row per line (gzip is decompressed, a final newline ends the last line, `\\r` is
    stripped, a UTF-8 byte order mark before the first line too), read lazily."""
    lines = pl.scan_lines(path, name="_record", row_index_name="_line_number", row_index_offset=1)
    if _starts_with_bom(path):
        first = pl.col("_line_number") == 1
        lines = lines.with_columns(
            pl.when(first).then(pl.col("_record").str.strip_prefix("\ufeff")).otherwise("_record")
        )
    return lines.with_columns(
        pl.col("_line_number").cast(pl.Int64),
        pl.lit(str(path)).alias("_source_file"),
        pl.lit(None, pl.Utf8).alias("_error"),
    )


def _starts_with_bom(path: Path) -> bool:
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as source:
            return source.read(len(UTF8_BOM)) == UTF8_BOM
    except UNREADABLE:
        return False


def _read_csv(path: Path, spec: SourceSpec) -> pl.DataFrame:
    try:
        data = _read_bytes(path)
        frame = _parse_csv(data)
    except (*UNREADABLE, UnicodeError, csv.Error) as exc:
        return _file_error(path, f"unreadable_file: {type(exc).__name__}: {exc}", spec)
    if frame.width == 0:
        return _empty(spec)
    missing = [c for c in spec.fields if c not in frame.columns]
    twice = [m[1] for c in frame.columns if (m := DUPLICATED.match(c)) and m[1] in spec.fields]
    error = None  # marks every row: which of two `amount` columns is the amount?
    if missing:
        error = f"missing_required_column: {', '.join(missing)}"
    elif twice:
        error = f"duplicate_column: {', '.join(dict.fromkeys(twice))}"
    row_error = pl.col("_error") if "_error" in frame.columns else pl.lit(None, pl.Utf8)
    return frame.with_columns(
        pl.lit(str(path)).alias("_source_file"),
        pl.coalesce(row_error, pl.lit(error, pl.Utf8)).alias("_error"),
    )


def _parse_csv(data: bytes) -> pl.DataFrame:
    """All columns as text, empty fields null. polars reads a regular file; the csv module
    reads the rest row by row, to isolate ragged rows: a row with too many fields (polars
    fails), too few or none (polars fills them with nulls: the last column has one), and
    files whose lines end in a lone `\\r` (polars would read the rows as header names)."""
    if not data.removeprefix(UTF8_BOM).strip():  # empty, or a BOM alone (an empty Excel sheet)
        return pl.DataFrame()
    if not LONE_CR.search(data):
        try:
            frame = pl.read_csv(io.BytesIO(data), infer_schema=False)
        except pl.exceptions.ComputeError:
            pass
        else:
            if frame.width and not frame.get_column(frame.columns[-1]).has_nulls():
                lines = pl.int_range(2, frame.height + 2).cast(pl.Int64).alias("_line_number")
                ours = {c: f"delivered{c}" for c in frame.columns if c.startswith("_")}
                frame = frame.rename(ours)
                return frame.with_columns(pl.all().replace("", None), lines)
    text = data.removeprefix(UTF8_BOM).decode("utf-8", "surrogateescape")
    return _parse_csv_slowly(io.StringIO(text, newline="").readlines())


def _parse_csv_slowly(lines: list[str]) -> pl.DataFrame:
    """Row by row: a ragged row, one holding bytes that are not UTF-8 (`bad_encoding`), or the
    first line of a row the csv module cannot read (a quote never closed) is kept whole, as
    text, in `_record`. Every column of the header is in the frame, rows or not. Rows are
    numbered as polars numbers them (the header is 1; a quoted field over two lines is one)."""
    rows = _csv_rows(lines, width=None)
    header, text = next(rows)
    if header is None:
        raise csv.Error(f"its header cannot be read as CSV: {text[:200]!r}")
    if NOT_UTF8.search(text):
        raise UnicodeError("its header is not UTF-8")
    header = _column_names(header)
    records = []
    for number, (row, text) in enumerate(_csv_rows(lines, width=len(header), start=1), start=2):
        if NOT_UTF8.search(text):
            escaped = _escaped(text.encode("utf-8", "surrogateescape"))
            records.append({"_record": escaped, "_error": BAD_ENCODING, "_line_number": number})
        elif not text.strip():
            records.append({"_record": text, "_error": "empty_line", "_line_number": number})
        elif row is not None and len(row) == len(header):
            values = [value or None for value in row]  # empty is null, as polars reads it
            records.append({**dict(zip(header, values, strict=True)), "_line_number": number})
        else:  # ragged or unreadable: kept verbatim and flagged for quarantine
            records.append({"_record": text, "_line_number": number})
    schema = {c: pl.Utf8 for c in [*header, "_record", "_error"]} | {"_line_number": pl.Int64}
    return pl.DataFrame(records, schema=schema)


def _column_names(header: list[str]) -> list[str]:
    """Header names as polars makes them (a second `x` is `x_duplicated_0`), and a delivered
    name of the platform's own kind (`_error`) as `delivered_error`."""
    names, seen = [], Counter()
    for name in header:
        names.append(f"{name}_duplicated_{seen[name] - 1}" if seen[name] else name)
        seen[name] += 1
    return [f"delivered{n}" if n.startswith("_") else n for n in names]


def _csv_rows(
    lines: list[str], *, width: int | None, start: int = 0
) -> Iterator[tuple[list[str] | None, str]]:
    """(fields, text) of each row from `lines[start:]`. A row the csv module refuses (strict:
    a quote never closed, or closed before anything but a comma), or that spans lines without
    `width` fields, is its first line alone with no fields, and reading goes on at the next
    line, so the rows after it still arrive, each on its own."""
    while start < len(lines):
        reader = csv.reader((lines[i] for i in range(start, len(lines))), strict=True)
        done = 0  # lines taken by the rows yielded since `start`
        try:
            for row in reader:
                if reader.line_num - done > 1 and width is not None and len(row) != width:
                    break
                yield row, "".join(lines[start + done : start + reader.line_num]).rstrip("\r\n")
                done = reader.line_num
            else:
                return
        except csv.Error:
            pass
        yield None, lines[start + done].rstrip("\r\n")
        start += done + 1


def extra_fields(raw: pl.LazyFrame, spec: SourceSpec, sample: int = 1000) -> list[str]:
    """Delivered fields the contract does not know (kept in raw, ignored by clean): a CSV's
    extra columns; the keys of a JSON-lines delivery's first and last `sample` lines of each
    file, where a field a sender starts to send shows (from a file on, or from some time of the
    day on). Every line's keys would cost 8.5 s of CPU for a 10M-event day, these 0.65 s."""
    if spec.format == "csv":
        names = raw.collect_schema().names()
        return [c for c in names if not c.startswith("_") and c not in spec.fields]
    seen: set[str] = set()
    for line in _file_ends(raw, sample).drop_nulls():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            seen.update(record)
    return sorted(seen - set(spec.fields))


def _file_ends(raw: pl.LazyFrame, lines: int) -> pl.Series:
    """`_record` of the first and last `lines` lines of each file: the files' line counts first,
    so that the scan reads the text of the row groups holding those lines only."""
    counts = raw.group_by("_source_file").agg(pl.col("_line_number").max()).collect()
    near_end = [
        (pl.col("_source_file") == file) & (pl.col("_line_number") > last - lines)
        for file, last in counts.iter_rows()
        if last is not None  # a file that could not be read at all: its error row only
    ]
    wanted = pl.any_horizontal(pl.col("_line_number") <= lines, *near_end)
    return raw.filter(wanted).select("_record").collect().to_series()

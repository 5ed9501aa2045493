"""What each source system has delivered into the landing zone, as observable source assets.

Observing one lists its landing folder: the data version changes whenever a file arrives or
changes, so the lineage starts at the source system and shows when it last delivered.
"""

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path, PurePath

import dagster as dg

from platform_assets.sources.specs import SourceSpec


def deliveries_key(spec: SourceSpec) -> dg.AssetKey:
    return dg.AssetKey(f"{spec.name}_deliveries")


def landing_inventory(
    landing_root: str, spec: SourceSpec, problems: dict[str, str] | None = None
) -> list[tuple[str, int, int]]:
    """(relative path, size, mtime ns) of every delivered file of a source, sorted. A folder
    or file that cannot be listed or read (permissions) is left out and noted in `problems`
    (its path relative to the landing root -> the error); one removed meanwhile is left out."""
    root = Path(landing_root) / spec.name
    problems = {} if problems is None else problems
    try:
        days = list(root.iterdir()) if root.is_dir() else []
    except OSError as exc:
        problems[spec.name] = os_error_text(exc)
        return []
    rows = []
    for day in days:
        try:
            files = spec.delivered_files(day)
        except FileNotFoundError:
            continue  # removed while listed
        except OSError as exc:
            problems[f"{spec.name}/{day.name}"] = os_error_text(exc)
            continue
        for path in files:
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue  # removed while listed
            except OSError as exc:
                problems[f"{spec.name}/{day.name}/{path.name}"] = os_error_text(exc)
                continue
            rows.append((str(path.relative_to(root)), stat.st_size, stat.st_mtime_ns))
    return sorted(rows)


def os_error_text(exc: OSError) -> str:
    """An OS error in a few words: `PermissionError: Permission denied`."""
    return f"{type(exc).__name__}: {exc.strerror or exc}"


def visible_files(root: Path) -> Iterator[PurePath]:
    """Every file under `root`, relative to it, hidden folders and files left out (uploads in
    progress). A folder renamed or removed while it is walked is skipped, not an error."""
    for folder, folders, files in os.walk(root):
        folders[:] = [name for name in folders if not name.startswith(".")]
        for name in files:
            if not name.startswith("."):
                yield (Path(folder) / name).relative_to(root)


def unmatched_files(landing_root: str, spec: SourceSpec) -> list[str]:
    """Files in a source's landing folder that no run will read, sorted: named for none of its
    patterns (`orders.CSV`, `events.json`) or not directly in a delivery-day folder. Decided
    from each path alone, so a file renamed meanwhile is never taken for an unread one."""
    root = Path(landing_root) / spec.name
    return sorted(str(path) for path in visible_files(root) if not spec.reads(path))


def deliveries_asset(spec: SourceSpec) -> dg.SourceAsset:
    @dg.observable_source_asset(
        key=deliveries_key(spec),
        group_name="sources",
        description=f"{spec.description} Lands in `landing/{spec.name}/<delivery-date>/`.",
        required_resource_keys={"lake"},
        metadata={
            "format": spec.format,
            "file_patterns": ", ".join(spec.file_patterns),
            "owners": ", ".join(spec.owners),
        },
    )
    def _observe(context) -> dg.ObserveResult:
        inventory = landing_inventory(context.resources.lake.landing_root, spec)
        fingerprint = hashlib.sha256(repr(inventory).encode()).hexdigest()[:16]
        days = sorted({path.split("/")[0] for path, _, _ in inventory})
        unmatched = unmatched_files(context.resources.lake.landing_root, spec)
        if unmatched:
            context.log.warning(
                f"{len(unmatched)} file(s) in landing/{spec.name} match none of "
                f"{', '.join(spec.file_patterns)} in a delivery-day folder and are not read: "
                + ", ".join(unmatched[:10])
            )
        return dg.ObserveResult(
            data_version=dg.DataVersion(fingerprint),
            metadata={
                "files": len(inventory),
                "bytes": sum(size for _, size, _ in inventory),
                "delivery_days": len(days),
                "latest_delivery": days[-1] if days else "none",
                "unmatched_files": len(unmatched),
                "unmatched_examples": ", ".join(unmatched[:10]) or "none",
            },
        )

    return _observe

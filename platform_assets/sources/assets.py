"""What each source system has delivered into the landing zone, as observable source assets.

Observing one lists its landing folder: the data version changes whenever a file arrives or
changes, so the lineage starts at the source system and shows when it last delivered.
"""

import hashlib
from pathlib import Path

import dagster as dg

from platform_assets.sources.specs import SourceSpec


def deliveries_key(spec: SourceSpec) -> dg.AssetKey:
    return dg.AssetKey(f"{spec.name}_deliveries")


def landing_inventory(landing_root: str, spec: SourceSpec) -> list[tuple[str, int, int]]:
    """(relative path, size, mtime ns) of every delivered file of a source, sorted."""
    root = Path(landing_root) / spec.name
    if not root.is_dir():
        return []
    files = {
        path for day in root.iterdir() if _is_day_folder(day) for path in spec.delivered_files(day)
    }
    return sorted((str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns) for p in files)


def _is_day_folder(path: Path) -> bool:
    return path.is_dir() and not path.name.startswith(".")


def unmatched_files(landing_root: str, spec: SourceSpec) -> list[str]:
    """Files in a source's landing folder that no run will read, sorted: named for none of its
    patterns (`orders.CSV`, `events.json`) or not directly in a delivery-day folder. Hidden
    files are left out: uploaders write under a hidden name and rename when done."""
    root = Path(landing_root) / spec.name
    if not root.is_dir():
        return []
    read = {path for path, _, _ in landing_inventory(landing_root, spec)}
    found = (p.relative_to(root) for p in root.rglob("*") if p.is_file())
    return sorted(
        str(path)
        for path in found
        if str(path) not in read and not any(part.startswith(".") for part in path.parts)
    )


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

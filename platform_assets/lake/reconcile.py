"""Nightly reconciliation: recompute the most recent clean partitions from raw and compare
with what is published. A difference means a partition missed an update (e.g. a late
delivery that never triggered a re-run) or was changed outside the platform."""

from datetime import date

import dagster as dg
import polars as pl

from platform_assets.lake.assets import raw_window
from platform_assets.lake.partition import build_partition
from platform_assets.lake.storage import clean_files, quarantine_path
from platform_assets.metadata import markdown_table
from platform_assets.resources import LakeStorage, PiiHasher
from platform_assets.sources.specs import SOURCES

RECONCILE_PARTITIONS = 7


def reconcile_source(lake: LakeStorage, pii_key: str, source: str, lateness_days: int) -> list:
    """(day, published clean/quarantined, recomputed clean/quarantined) for recent partitions."""
    spec = SOURCES[source]
    rows = []
    for path in clean_files(lake.lake_root, source)[-RECONCILE_PARTITIONS:]:
        day = date.fromisoformat(path.parent.name.removeprefix("date="))
        raw = raw_window(lake.lake_root, spec, day, lateness_days)
        if not raw:
            continue
        quarantined = quarantine_path(lake.lake_root, source, day)
        result = build_partition(
            raw,
            spec,
            day,
            lateness_days=lateness_days,
            pii_key=pii_key,
            clean=path,
            quarantine=quarantined,
            publish=False,
        )
        published = (
            pl.scan_parquet(path).select(pl.len()).collect().item(),
            pl.scan_parquet(quarantined).select(pl.len()).collect().item()
            if quarantined.exists()
            else 0,
        )
        rows.append(
            {
                "date": day.isoformat(),
                "published": published,
                "recomputed": (result.clean, result.quarantined),
            }
        )
    return rows


def reconciliation_check(lateness_days: int) -> dg.AssetChecksDefinition:
    specs = [
        dg.AssetCheckSpec(
            "reconciled_with_raw",
            asset=f"clean_{source}",
            description=f"The last {RECONCILE_PARTITIONS} partitions, recomputed from raw, have "
            "the published clean and quarantine row counts.",
        )
        for source in SOURCES
    ]

    @dg.multi_asset_check(specs=specs, name="lake_reconciliation", can_subset=True)
    def _reconcile(context: dg.AssetCheckExecutionContext, lake: LakeStorage, pii: PiiHasher):
        selected = {key.asset_key for key in context.selected_asset_check_keys}
        for source in SOURCES:
            if dg.AssetKey(f"clean_{source}") not in selected:
                continue
            rows = reconcile_source(lake, pii.key, source, lateness_days)
            stale = [r for r in rows if r["published"] != r["recomputed"]]
            yield dg.AssetCheckResult(
                asset_key=f"clean_{source}",
                check_name="reconciled_with_raw",
                passed=not stale,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata={
                    "partitions_checked": len(rows),
                    "stale_partitions": ", ".join(r["date"] for r in stale) or "none",
                    "counts": markdown_table(
                        [
                            {
                                **r,
                                "published": str(r["published"]),
                                "recomputed": str(r["recomputed"]),
                            }
                            for r in rows
                        ]
                    ),
                },
            )

    return _reconcile

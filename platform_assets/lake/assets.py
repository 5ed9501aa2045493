"""Lake assets per source: `raw_<source>` (as delivered, by delivery date) and
`clean_<source>` (typed, validated, deduplicated, PII-safe, by event date)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl

from platform_assets.lake.landing import delivery_files, extra_fields, write_delivery
from platform_assets.lake.partition import BuiltPartition, build_partition
from platform_assets.lake.quality import CLEAN_MODELS
from platform_assets.lake.storage import clean_path, quarantine_path, raw_path, staged_path
from platform_assets.metadata import COLUMN_SCHEMA, column_schema, markdown_table, preview
from platform_assets.partitions import daily_partitions, days_around, partition_days
from platform_assets.policies import IO_RETRY
from platform_assets.resources import LakeStorage, PiiHasher
from platform_assets.sources.assets import deliveries_key
from platform_assets.sources.specs import SourceSpec

LAKE_CODE_VERSION = "1"
QUARANTINE_ALERT_RATE = 0.2


def raw_asset(spec: SourceSpec) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"raw_{spec.name}",
        group_name="lake",
        description=f"{spec.description} As received, one row per delivered line/row, plus "
        "`_source_file`, `_line_number`, `_ingested_at`, `_delivery_date`, `_error`. "
        "Partitioned by delivery date.",
        partitions_def=daily_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        deps=[deliveries_key(spec)],
        kinds={"polars", "parquet"},
        owners=list(spec.owners),
        code_version=LAKE_CODE_VERSION,
        retry_policy=IO_RETRY,
    )
    def _raw(context: dg.AssetExecutionContext, lake: LakeStorage) -> dg.MaterializeResult:
        ingested_at = datetime.now(UTC)
        for day in partition_days(context):
            files = delivery_files(lake.landing_root, spec, day)
            path = raw_path(lake.lake_root, spec.name, day)
            with staged_path(path) as staged:
                write_delivery(files, spec, day, ingested_at, staged)
            written = pl.scan_parquet(path)
            first = written.head(1000).collect()
            summary = _delivery_summary(files, written, spec)
            rows = written.select(pl.len()).collect().item()
            metadata = {"dagster/row_count": rows, **summary, "preview": preview(first)}
            context.add_asset_metadata(metadata, partition_key=day.isoformat())
            context.log.info(f"{spec.name} delivery {day}: {summary}")
        return dg.MaterializeResult()

    return _raw


def _delivery_summary(files, raw: pl.LazyFrame, spec: SourceSpec) -> dict:
    errors = raw.filter(pl.col("_error").is_not_null()).select("_source_file", "_error").collect()
    return {
        "files": len(files),
        "empty_files": sum(1 for f in files if f.stat().st_size == 0),
        "files_with_errors": errors.get_column("_source_file").n_unique(),
        "file_errors": "; ".join(sorted(set(errors.get_column("_error").to_list())))[:300],
        "extra_fields": ", ".join(extra_fields(raw, spec)) or "none",
    }


def clean_asset(spec: SourceSpec, lateness_days: int) -> dg.AssetsDefinition:
    key = dg.AssetKey(f"clean_{spec.name}")
    reads_late = spec.reads_late_deliveries
    mapping = days_around(0, lateness_days if reads_late else 0)
    model = CLEAN_MODELS[spec.name]

    @dg.asset(
        key=key,
        group_name="lake",
        description=f"{spec.description} Typed, validated against the `{model.__name__}` "
        f"pandera contract, deduplicated on {', '.join(spec.key)}, PII replaced by keyed hashes. "
        f"Partitioned by `{spec.date_column}`"
        + (f"; reads deliveries up to {lateness_days} days late." if reads_late else ".")
        + " Rejected rows go to quarantine with a `_reason`.",
        partitions_def=daily_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        deps=[dg.AssetDep(f"raw_{spec.name}", partition_mapping=mapping)],
        check_specs=[
            dg.AssetCheckSpec(
                "pandera_contract",
                asset=key,
                blocking=True,
                description=f"The staged partition passes `{model.__name__}` (all data checks); "
                "it is published only if it does.",
            ),
            dg.AssetCheckSpec(
                "nothing_lost",
                asset=key,
                description="rows received = clean + quarantined + duplicates dropped.",
            ),
            dg.AssetCheckSpec(
                "quarantine_rate",
                asset=key,
                description=f"Fails (ERROR, alerts) when a partition quarantines more than "
                f"{QUARANTINE_ALERT_RATE:.0%} of the rows it received: a broken delivery.",
            ),
        ],
        kinds={"polars", "parquet", "pandera"},
        owners=list(spec.owners),
        code_version=LAKE_CODE_VERSION,
        retry_policy=IO_RETRY,
        metadata={COLUMN_SCHEMA: column_schema(model.to_schema().dtypes)},
    )
    def _clean(context: dg.AssetExecutionContext, lake: LakeStorage, pii: PiiHasher):
        results: dict[str, BuiltPartition] = {}
        for day in partition_days(context):
            raw = raw_window(lake.lake_root, spec, day, lateness_days)
            if not raw:
                raise dg.Failure(
                    f"No raw {spec.name} for {day}: materialize raw_{spec.name} first."
                )
            result = build_partition(
                raw,
                spec,
                day,
                lateness_days=lateness_days,
                pii_key=pii.key,
                clean=clean_path(lake.lake_root, spec.name, day),
                quarantine=quarantine_path(lake.lake_root, spec.name, day),
            )
            if result.failure is not None:
                yield dg.AssetCheckResult(
                    check_name="pandera_contract",
                    passed=False,
                    metadata={"day": str(day), "failures": result.failure},
                )
                raise _contract_failure(spec, day, results)
            results[day.isoformat()] = result
            context.add_asset_metadata(_clean_metadata(result), partition_key=day.isoformat())
            context.log.info(f"clean_{spec.name} {day}: {result.counts}")
        yield from _check_results(results)
        yield dg.MaterializeResult()

    return _clean


def _contract_failure(spec: SourceSpec, day, published: dict[str, BuiltPartition]) -> dg.Failure:
    """The step's failure when `day` fails its contract. Not retried: the same rows fail again.
    Days of the run published before it (each day is published once it passes) get no
    materialization, so their counts are recorded here."""
    description = f"clean_{spec.name} {day} failed its contract; {day} not published."
    if published:
        description += (
            f" Published before it: {', '.join(published)} (counts in this failure's metadata;"
            " a run of the range records them on a materialization)."
        )
    per_day = [{"date": d, **r.counts} for d, r in published.items()]
    return dg.Failure(
        description,
        metadata={"published_before_failure": markdown_table(per_day)} if per_day else None,
        allow_retries=False,
    )


def raw_window(lake_root: str, spec: SourceSpec, day, lateness_days: int) -> list[Path]:
    """The ingested raw deliveries that can hold records of `day`, oldest first."""
    reach = lateness_days if spec.reads_late_deliveries else 0
    deliveries = [day + timedelta(days=i) for i in range(reach + 1)]
    paths = [raw_path(lake_root, spec.name, d) for d in deliveries]
    return [p for p in paths if p.exists()]


def _clean_metadata(result: BuiltPartition) -> dict:
    """What the person in the UI sees on one partition's materialization."""
    return {
        "dagster/row_count": result.clean,
        **result.counts,
        "quarantine_reasons": markdown_table(result.reasons.head(10).to_dicts()),
        "preview": preview(result.preview),
    }


def _check_results(results: dict[str, BuiltPartition]):
    per_day = [{"date": day, **r.counts} for day, r in results.items()]
    balanced = all(r.received == r.clean + r.quarantined + r.duplicates for r in results.values())
    yield dg.AssetCheckResult(
        check_name="pandera_contract", passed=True, metadata={"partitions": len(results)}
    )
    yield dg.AssetCheckResult(
        check_name="nothing_lost",
        passed=balanced,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"per_partition": markdown_table(per_day)},
    )
    rates = {day: r.quarantined / r.received for day, r in results.items() if r.received}
    worst = max(rates.values(), default=0.0)
    yield dg.AssetCheckResult(
        check_name="quarantine_rate",
        passed=worst <= QUARANTINE_ALERT_RATE,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "worst_rate": round(worst, 4),
            "threshold": QUARANTINE_ALERT_RATE,
            "worst_partition": max(rates, key=rates.get) if rates else "none",
        },
    )

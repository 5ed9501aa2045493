"""The landing sensor: new or changed deliveries become one `daily_pipeline` run per delivery
day (and, when the next day was already built, a run of what it reads of this one). Files are
identified by path + content hash, so a re-touched or re-dropped identical file never runs twice;
the cursor keeps that state across daemon restarts."""

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path, PurePath

import dagster as dg

from platform_assets.partitions import daily_partitions
from platform_assets.resources import LakeStorage
from platform_assets.sources.assets import landing_inventory, visible_files
from platform_assets.sources.specs import SOURCES

SETTLE_SECONDS = 1.0  # a day with a file modified more recently waits for a later tick
# Tags of the runs this sensor requests; fresh deliveries go ahead of backfills and late-data
# runs in the run queue.
LANDING_RUN = {"platform/trigger": "landing"}
LANDING_RUN_PRIORITY = "10"
# A landing run for a day D whose next day was already built is followed by a run of what the
# next day builds on D: its sessions (they continue D's) and its features (they read D). The
# late-data automation ignores what landing runs update (see conditions.py), so nothing else
# would bring D+1 up to date; the follow-up's own updates do reach the days after, within the
# automation's window.
FOLLOW_UP_RUN = {"platform/trigger": "landing-follow-up"}
READS_THE_DAY_BEFORE = (
    "stg_app_events",
    "fct_events",
    "fct_sessions",
    "fct_daily_engagement",
    "user_features",
)
# The cursor's entries that are not files (no file path starts with "~"): the folders and
# unread files already warned about, and how many runs the sensor requested per delivery day.
WAITING = "~waiting"
UNREAD = "~unread"
RUNS = "~runs"


@dataclass(frozen=True)
class LandingRun:
    partition: str
    run_key: str
    files: tuple[str, ...]


def plan_landing_runs(
    files: dict[str, tuple[int, int]],
    cursor: dict,
    *,
    digest: Callable[[str], str],
    ingested_at: Callable[[str, str], float | None],
    is_partition: Callable[[str], bool],
    now: float,
) -> tuple[list[LandingRun], dict]:
    """Decide which delivery days need a run.

    `files` maps `<source>/<YYYY-MM-DD>/<name>` to (size, mtime_ns); `cursor` holds
    [size, mtime_ns, sha256] per file already handled, and under `RUNS` the number of runs
    requested per day. A file counts as new when its content
    hash is new to the cursor. Only on a fresh (empty) cursor, a file no newer than the last
    ingestion of its raw partition is taken as done (so a new or reset sensor does not re-run
    what was already ingested); afterwards every unseen file runs, including one that landed
    while its day's raw step was running.
    A delivery day with a file still being written (modified in the last `SETTLE_SECONDS`)
    waits whole for a later tick, so a burst of files becomes one run. A folder that is not a
    day of the pipeline's partitions (not a date, before the first, or tomorrow's) waits too,
    without holding up the others. A run key numbers the day's runs and names each file's
    content and modification time: a file put back as it was before (`cp -p`) is a new change,
    not the earlier run, which Dagster would skip; a tick that fails before saving its cursor
    asks for the same keys again.
    """
    new_cursor = dict(cursor)
    fresh = not cursor
    changed: dict[str, list[str]] = {}
    settling = {
        path.split("/")[1]
        for path, (_, mtime_ns) in files.items()
        if now - mtime_ns / 1e9 < SETTLE_SECONDS
    }
    ready = {day for day in {path.split("/")[1] for path in files} - settling if is_partition(day)}
    for path, (size, mtime_ns) in sorted(files.items()):
        source, day, _ = path.split("/", 2)
        if day not in ready:
            continue
        seen = cursor.get(path)
        if seen and seen[:2] == [size, mtime_ns]:
            continue
        sha = digest(path)
        new_cursor[path] = [size, mtime_ns, sha]
        if seen and seen[2] == sha:
            continue  # touched or re-dropped with the same content
        last = ingested_at(source, day) if fresh else None
        if last is not None and mtime_ns / 1e9 <= last:
            continue  # ingested before this cursor existed
        changed.setdefault(day, []).append(f"{path}:{sha}:{mtime_ns}")
    requested = dict(cursor.get(RUNS, {}))
    runs = []
    for day, items in sorted(changed.items()):
        requested[day] = number = requested.get(day, 0) + 1
        key = f"landing:{day}:{number}:{_short_hash(items)}"
        runs.append(LandingRun(day, key, tuple(items)))
    if requested:
        new_cursor[RUNS] = requested
    return runs, new_cursor


def follow_up_days(run_days: list[str], built: Callable[[str], bool]) -> list[str]:
    """The days after the delivery days in `run_days` that were already `built` and are not
    delivered in this tick too (their own landing run reads the new data anyway)."""
    after = {(date.fromisoformat(day) + timedelta(days=1)).isoformat() for day in run_days}
    return sorted(day for day in after - set(run_days) if built(day))


def not_pipeline_days(files: dict[str, tuple[int, int]]) -> list[str]:
    """The delivery folders named for no partition of the pipeline."""
    days = {path.split("/")[1] for path in files}
    return sorted(day for day in days if not daily_partitions.has_partition_key(day))


def unread_files(landing_root: str) -> list[str]:
    """Files under the landing root that no run reads, relative to it: a source's files that
    match none of its patterns or lie outside a delivery-day folder, and anything in a folder
    named for no source (hidden files aside, as uploads in progress)."""
    unread = []
    for path in visible_files(Path(landing_root)):
        spec = SOURCES.get(path.parts[0]) if len(path.parts) > 1 else None
        if spec is None or not spec.reads(PurePath(*path.parts[1:])):
            unread.append(str(path))
    return sorted(unread)


def _short_hash(items: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(items)).encode()).hexdigest()[:20]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def landing_files(landing_root: str) -> dict[str, tuple[int, int]]:
    """Every delivered file of every source as `<source>/<day>/<name>` -> (size, mtime_ns)."""
    return {
        f"{spec.name}/{path}": (size, mtime)
        for spec in SOURCES.values()
        for path, size, mtime in landing_inventory(landing_root, spec)
    }


def _latest(instance: dg.DagsterInstance, key: str, day: str) -> dg.EventLogRecord | None:
    """The latest materialization of asset `key`'s partition `day`, if any."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(key), asset_partitions=[day]), limit=1
    ).records
    return records[0] if records else None


def _last_ingestion(instance: dg.DagsterInstance) -> Callable[[str, str], float | None]:
    def ingested_at(source: str, day: str) -> float | None:
        record = _latest(instance, f"raw_{source}", day)
        return record.timestamp if record else None

    return ingested_at


def _built(instance: dg.DagsterInstance, landed: set[str]) -> Callable[[str], bool]:
    """Whether a day was built, or its landing run requested on an earlier tick (`landed`):
    still queued, it runs before this tick's runs, on the old data of the day before."""

    def built(day: str) -> bool:
        return day in landed or (
            daily_partitions.has_partition_key(day)
            and _latest(instance, READS_THE_DAY_BEFORE[0], day) is not None
        )

    return built


@dg.sensor(
    name="landing_sensor",
    job_name="daily_pipeline",
    # Every pass of the sensor daemon (it loops every 5 s): an interval of 5 would measure from
    # the previous tick's end and skip every other pass.
    minimum_interval_seconds=1,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Watches every source's landing folder and runs `daily_pipeline` for each "
    "delivery day with new or changed files (one run per day, keyed by the files' content), "
    "followed by a run of the next day's sessions and features when that day was already built.",
)
def landing_sensor(context: dg.SensorEvaluationContext, lake: LakeStorage) -> dg.SensorResult:
    root = Path(lake.landing_root)
    files = landing_files(lake.landing_root)
    state = json.loads(context.cursor) if context.cursor else {}
    warned = state.pop(WAITING, [])
    told, unread = state.pop(UNREAD, []), unread_files(lake.landing_root)
    waiting = not_pipeline_days(files)
    runs, cursor = plan_landing_runs(
        files,
        state,
        digest=lambda path: file_sha256(root / path),
        ingested_at=_last_ingestion(context.instance),
        is_partition=lambda day: day not in waiting,
        now=time.time(),
    )
    for day in sorted(set(waiting) - set(warned)):  # once, not on every tick
        context.log.warning(
            f"landing folder {day!r} is not a day of daily_pipeline "
            f"(from {daily_partitions.start.date()} to today, UTC): waiting"
        )
    if waiting:
        cursor = {**cursor, WAITING: waiting}
    for path in sorted(set(unread) - set(told)):  # once per file
        context.log.warning(
            f"landing file {path!r} is not read: a source's files are "
            "landing/<source>/<YYYY-MM-DD>/<name> with a name matching its file patterns "
            + "; ".join(
                f"{spec.name}: {', '.join(spec.file_patterns)}" for spec in SOURCES.values()
            )
        )
    if unread:
        cursor = {**cursor, UNREAD: unread}
    for run in runs:
        context.log.info(f"delivery {run.partition}: {len(run.files)} new or changed files")
    requests = [
        dg.RunRequest(
            run_key=run.run_key,
            partition_key=run.partition,
            tags={**LANDING_RUN, "dagster/priority": LANDING_RUN_PRIORITY},
        )
        for run in runs
    ]
    by_day = {run.partition: run for run in runs}
    built = _built(context.instance, set(state.get(RUNS, {})))
    for day in follow_up_days(list(by_day), built):
        landing = by_day[(date.fromisoformat(day) - timedelta(days=1)).isoformat()]
        context.log.info(f"{day}: its sessions and features follow {landing.partition}'s run")
        requests.append(
            dg.RunRequest(
                run_key=f"follow-up:{day}:{landing.run_key}",
                partition_key=day,
                asset_selection=[dg.AssetKey(name) for name in READS_THE_DAY_BEFORE],
                tags={**FOLLOW_UP_RUN, "dagster/priority": LANDING_RUN_PRIORITY},
            )
        )
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(cursor, sort_keys=True))

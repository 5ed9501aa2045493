"""The landing sensor: new or changed deliveries become one `daily_pipeline` run per delivery
day (and, when the next day was already built, a run of what it reads of this one). Files are
identified by path + content hash, so a re-touched or re-dropped identical file never runs twice;
that state (sensor_state.py) survives daemon restarts."""

import functools
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path, PurePath

import dagster as dg

from platform_assets.automation.sensor_state import StateNotFound, load_state, save_state
from platform_assets.partitions import daily_partitions
from platform_assets.resources import LakeStorage
from platform_assets.sources.assets import landing_inventory, os_error_text, visible_files
from platform_assets.sources.specs import SOURCES

SETTLE_SECONDS = 1.0  # a day with a file modified more recently waits for a later tick
CLOCK_SKEW_SECONDS = 60.0  # a modification time further ahead is a wrong clock, not a write
# Files are hashed for this long per tick at most (Dagster gives a sensor 60 s); the days left
# wait for the next tick, which starts from the cursor saved by this one.
TICK_BUDGET_SECONDS = 20.0
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
# The cursor's entries that are not files (no file path starts with "~"): the folders, unread
# files and unreadable paths already warned about, and how many runs the sensor requested per
# delivery day.
WAITING = "~waiting"
UNREAD = "~unread"
UNREADABLE = "~unreadable"
RUNS = "~runs"


@dataclass(frozen=True)
class LandingRun:
    partition: str
    run_key: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class LandingPlan:
    """The runs to request, the cursor to save, and what held days back: files that could not
    be read (path -> error) and the days left for the next tick (over the tick's budget)."""

    runs: list[LandingRun]
    cursor: dict
    unreadable: dict[str, str]
    deferred: list[str]


def plan_landing_runs(
    files: dict[str, tuple[int, int]],
    cursor: dict,
    *,
    digest: Callable[[str], str],
    ingested_at: Callable[[str, str], float | None],
    is_partition: Callable[[str], bool],
    now: float,
    budget_seconds: float = TICK_BUDGET_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> LandingPlan:
    """Decide which delivery days need a run.

    `files` maps `<source>/<YYYY-MM-DD>/<name>` to (size, mtime_ns); `cursor` holds
    [size, mtime_ns, sha256] per file already handled (entries of files no longer listed are
    dropped: one put back later is new), and under `RUNS` the number of runs requested per
    day. A file counts as new when its content hash is new to the cursor. Only on a fresh
    (empty) cursor, a file no newer than the last ingestion of its raw partition is taken as
    done, without reading it (so a new or reset sensor does not re-run, or hash, what was
    already ingested); afterwards every unseen file runs, including one that landed while its
    day's raw step was running.
    A delivery day with a file still being written (modified in the last `SETTLE_SECONDS`; a
    time further in the future than `CLOCK_SKEW_SECONDS` is a wrong clock, not a write) waits
    whole for a later tick, so a burst of files becomes one run; so does a day with a file that
    cannot be read, until it can. A folder that is not a day of the pipeline's partitions (not
    a date, before the first, or tomorrow's) waits too, without holding up the others. Days
    are hashed in order until `budget_seconds` have passed; the rest wait for the next tick.
    A run key numbers the day's runs and names each file's content and modification time: a
    file put back as it was before (`cp -p`) is a new change, not the earlier run, which
    Dagster would skip; a tick that fails before saving its cursor asks for the same keys again.
    """
    fresh = not cursor
    new_cursor = {key: entry for key, entry in cursor.items() if key in files or key[0] == "~"}
    by_day: dict[str, list[str]] = {}
    for path in sorted(files):
        by_day.setdefault(path.split("/")[1], []).append(path)
    ingested = functools.cache(ingested_at) if fresh else None
    changed: dict[str, list[str]] = {}
    unreadable: dict[str, str] = {}
    deferred: list[str] = []
    deadline, worked = clock() + budget_seconds, False
    for day, paths in sorted(by_day.items()):
        if not is_partition(day) or any(being_written(files[path][1], now) for path in paths):
            continue
        if worked and clock() > deadline:  # one day's work at least
            deferred.append(day)
            continue
        entries, items, problems = _day_changes(paths, files, cursor, digest, ingested)
        worked = worked or bool(entries or problems)
        if problems:  # the day waits whole; a file removed meanwhile has no message
            unreadable.update({path: why for path, why in problems.items() if why})
            continue
        new_cursor.update(entries)
        if items:
            changed[day] = items
    requested = dict(cursor.get(RUNS, {}))
    runs = []
    for day, items in sorted(changed.items()):
        requested[day] = number = requested.get(day, 0) + 1
        key = f"landing:{day}:{number}:{_short_hash(items)}"
        runs.append(LandingRun(day, key, tuple(items)))
    if requested:
        new_cursor[RUNS] = requested
    return LandingPlan(runs, new_cursor, unreadable, deferred)


def being_written(mtime_ns: int, now: float) -> bool:
    """Modified in the last `SETTLE_SECONDS` (a time in the future within the clock skew)."""
    return -CLOCK_SKEW_SECONDS < now - mtime_ns / 1e9 < SETTLE_SECONDS


def files_from_the_future(run: LandingRun, now: float) -> list[str]:
    """The run's files modified further in the future than the clock skew."""
    items = (item.rsplit(":", 2) for item in run.files)
    return [path for path, _, mtime in items if int(mtime) / 1e9 > now + CLOCK_SKEW_SECONDS]


def _day_changes(
    paths: list[str],
    files: dict[str, tuple[int, int]],
    cursor: dict,
    digest: Callable[[str], str],
    ingested: Callable[[str, str], float | None] | None,
) -> tuple[dict, list[str], dict[str, str]]:
    """A day's new cursor entries, its new or changed files as run items, and its files that
    could not be read (path -> error; "" for one removed meanwhile)."""
    entries, items, problems = {}, [], {}
    for path in paths:
        size, mtime_ns = files[path]
        seen = cursor.get(path)
        if seen and seen[:2] == [size, mtime_ns]:
            continue
        source, day, _ = path.split("/", 2)
        last = ingested(source, day) if ingested else None
        if last is not None and mtime_ns / 1e9 <= last:
            entries[path] = [size, mtime_ns, None]  # ingested before this cursor existed
            continue
        try:
            sha = digest(path)
        except FileNotFoundError:
            problems[path] = ""
            continue
        except OSError as exc:
            problems[path] = os_error_text(exc)
            continue
        entries[path] = [size, mtime_ns, sha]
        if not (seen and seen[2] == sha):  # else touched or re-dropped with the same content
            items.append(f"{path}:{sha}:{mtime_ns}")
    return entries, items, problems


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


def landing_files(
    landing_root: str, problems: dict[str, str] | None = None
) -> dict[str, tuple[int, int]]:
    """Every delivered file of every source as `<source>/<day>/<name>` -> (size, mtime_ns);
    what cannot be listed is noted in `problems` (path -> error)."""
    return {
        f"{spec.name}/{path}": (size, mtime)
        for spec in SOURCES.values()
        for path, size, mtime in landing_inventory(landing_root, spec, problems)
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


SENSOR_NAME = "landing_sensor"  # also the name its state is kept under in the instance


def follow_up_request(day: str, after: str) -> dg.RunRequest:
    """The run of what `day` builds on the day before, following the run (key or id) `after`."""
    return dg.RunRequest(
        run_key=f"follow-up:{day}:{after}",
        partition_key=day,
        asset_selection=[dg.AssetKey(name) for name in READS_THE_DAY_BEFORE],
        tags={**FOLLOW_UP_RUN, "dagster/priority": LANDING_RUN_PRIORITY},
    )


def was_built(instance: dg.DagsterInstance, landed: set[str]) -> Callable[[str], bool]:
    """Whether a day was built, or its landing run requested on an earlier tick (`landed`):
    still queued, it runs before this tick's runs, on the old data of the day before."""

    def built(day: str) -> bool:
        return day in landed or (
            daily_partitions.has_partition_key(day)
            and _latest(instance, READS_THE_DAY_BEFORE[0], day) is not None
        )

    return built


@dg.sensor(
    name=SENSOR_NAME,
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
    problems: dict[str, str] = {}
    files = landing_files(lake.landing_root, problems)
    try:
        state = load_state(context.instance, SENSOR_NAME, context.cursor)
        before = dict(state)
    except StateNotFound as exc:
        context.log.warning(f"{exc}: starting afresh (files ingested before count as done)")
        state, before = {}, None
    warned = state.pop(WAITING, [])
    told, unread = state.pop(UNREAD, []), unread_files(lake.landing_root)
    blocked_before = state.pop(UNREADABLE, [])
    waiting = not_pipeline_days(files)
    now = time.time()
    plan = plan_landing_runs(
        files,
        state,
        digest=lambda path: file_sha256(root / path),
        ingested_at=_last_ingestion(context.instance),
        is_partition=lambda day: day not in waiting,
        now=now,
    )
    runs, cursor = plan.runs, plan.cursor
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
    blocked = {**problems, **plan.unreadable}
    for path in sorted(set(blocked) - set(blocked_before)):  # once, until it can be read
        context.log.warning(
            f"landing path {path!r} cannot be read ({blocked[path]}): its files wait, and a "
            "day with a file that cannot be read waits whole, until the sensor can read them"
        )
    if blocked:
        cursor = {**cursor, UNREADABLE: sorted(blocked)}
    if plan.deferred:
        context.log.info(
            f"{len(plan.deferred)} delivery day(s) left for the next tick (from "
            f"{plan.deferred[0]}): this tick hashed files for {TICK_BUDGET_SECONDS:.0f} s"
        )
    for run in runs:
        context.log.info(f"delivery {run.partition}: {len(run.files)} new or changed files")
        if ahead := files_from_the_future(run, now):
            context.log.warning(
                f"delivery {run.partition}: modification time in the future, taken as "
                f"delivered (a wrong clock on the sender's side?): {', '.join(ahead)}"
            )
    requests = [
        dg.RunRequest(
            run_key=run.run_key,
            partition_key=run.partition,
            tags={**LANDING_RUN, "dagster/priority": LANDING_RUN_PRIORITY},
        )
        for run in runs
    ]
    by_day = {run.partition: run for run in runs}
    built = was_built(context.instance, set(state.get(RUNS, {})))
    for day in follow_up_days(list(by_day), built):
        landing = by_day[(date.fromisoformat(day) - timedelta(days=1)).isoformat()]
        context.log.info(f"{day}: its sessions and features follow {landing.partition}'s run")
        requests.append(follow_up_request(day, landing.run_key))
    cursor = save_state(context.instance, SENSOR_NAME, context.cursor, before, cursor)
    return dg.SensorResult(run_requests=requests, cursor=cursor)

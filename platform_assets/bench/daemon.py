"""The real Dagster daemon on a throw-away instance, for the latency benchmark and the
end-to-end automation test: start it on the repo's workspace and dagster.yaml, drop
deliveries, wait for what they should cause."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from platform_assets.automation.conditions import late_data_automation
from platform_assets.sources.specs import SOURCES

ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
# Automation requests spanning partition ranges run as asset backfills: the backfill daemon
# submits their downstream runs on a later pass (every 30 s), so a quiet run queue alone
# does not mean the platform is done.
ACTIVE_BACKFILLS = {"REQUESTED", "CANCELING", "FAILING"}


# Each automation tick reads the event log up to the position it started at, also where it
# asks which runs made the updates it sees (Dagster's opt-in; without it an update committed
# during a tick was seen as new but not as a landing run's). The Makefile sets the same.
AUTOMATION_SETTLE = {"DAGSTER_AUTOMATION_TICK_SETTLE_SECONDS": "0.5"}


def _default_signals() -> None:
    # A background process inherits an ignored SIGINT, which the daemon would copy to SIGTERM.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def platform_environ(platform_home: Path, dagster_home: Path) -> dict[str, str]:
    """The environment of a process of this platform (daemon, `dagster` CLI): a `test`
    platform under `platform_home`, an instance in `dagster_home`, nothing phoning home."""
    return {
        **os.environ,
        "PLATFORM_ENV": "test",
        "PLATFORM_HOME": str(platform_home),
        "DAGSTER_HOME": str(dagster_home),
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        **AUTOMATION_SETTLE,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


@contextmanager
def running_daemon(
    repo: Path, platform_home: Path, dagster_home: Path, log: Path | None = None
) -> Iterator[dg.DagsterInstance]:
    """`dagster-daemon run -w workspace.yaml` in `repo`, on a `test` platform under
    `platform_home` and an instance in `dagster_home` configured by the repo's dagster.yaml.
    Yields the instance; the daemon is stopped (SIGINT, then SIGKILL) on exit."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    config = dagster_home / "dagster.yaml"
    if not config.exists():
        config.symlink_to(repo / "dagster.yaml")
    # The instance's storage is created here, before the daemon and its code server start: on
    # a new DAGSTER_HOME, three processes creating the SQLite tables at once were seen to stamp
    # two alembic heads, and the code server then failed to load ("more than one head").
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        output = log.open("w") if log else subprocess.DEVNULL
        daemon = subprocess.Popen(
            [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-w", "workspace.yaml"],
            cwd=repo,
            env=platform_environ(platform_home, dagster_home),
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=_default_signals,
            start_new_session=True,
        )
        try:
            yield instance
        finally:
            os.killpg(daemon.pid, signal.SIGINT)
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(daemon.pid, signal.SIGKILL)
                daemon.wait()
            if log:
                output.close()


def deliver(staged: Path, landing: Path, day: str, sources: Iterable[str] = SOURCES) -> float:
    """Copy one delivery day of simulated deliveries into the landing zone, the way a source
    system drops files (new files, modified now); returns when the drop began."""
    dropped = time.time()
    for source in sources:
        if (staged / source / day).exists():
            shutil.copytree(
                staged / source / day,
                landing / source / day,
                dirs_exist_ok=True,
                copy_function=shutil.copy,
            )
    return dropped


def wait_for_materialization(
    instance: dg.DagsterInstance, key: str, partition: str, after: float, timeout: float = 300
) -> dg.EventLogRecord:
    """The first materialization of `key` / `partition` later than `after` (a timestamp)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(key), asset_partitions=[partition]),
            limit=1,
        ).records
        if records and records[0].timestamp > after:
            return records[0]
        time.sleep(0.2)
    raise TimeoutError(
        f"{key} {partition} was not materialized within {timeout:.0f}s; "
        f"runs, newest first: {recent_runs(instance)}"
    )


def recent_runs(instance: dg.DagsterInstance, limit: int = 12) -> str:
    """The latest runs, one line each (status, partition, what launched it, assets): what a
    timeout message needs to tell a missing request from a failed or slow run."""
    lines = []
    for record in instance.get_run_records(limit=limit):
        run = record.dagster_run
        assets = sorted(key.to_user_string() for key in run.asset_selection or []) or ["(job)"]
        launcher = run.tags.get("dagster/sensor_name", "manual")
        partition = run.tags.get("dagster/partition", "-")
        lines.append(f"{run.status.value} {partition} by {launcher}: {', '.join(assets)}")
    return "\n  " + "\n  ".join(lines)


def wait_until_idle(instance: dg.DagsterInstance, timeout: float = 300) -> None:
    """Until no run or backfill is in progress and the late-data automation, which may still
    request runs after one ends, has evaluated since the last run ended."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not _busy(instance) and _automation_evaluated_since(instance, _last_run_end(instance)):
            return
        time.sleep(0.5)
    raise TimeoutError(f"runs still active after {timeout:.0f}s")


def _busy(instance: dg.DagsterInstance) -> bool:
    if instance.get_run_records(dg.RunsFilter(statuses=ACTIVE), limit=1):
        return True
    return any(b.status.value in ACTIVE_BACKFILLS for b in instance.get_backfills(limit=20))


def _last_run_end(instance: dg.DagsterInstance) -> float:
    return max((r.end_time or 0 for r in instance.get_run_records(limit=10)), default=0)


def _automation_evaluated_since(instance: dg.DagsterInstance, since: float) -> bool:
    """Whether a tick of the late-data automation started after `since` and has finished."""
    for state in instance.all_instigator_state():
        if state.name == late_data_automation.name:
            ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=1)
            return bool(ticks) and ticks[0].timestamp > since and bool(ticks[0].end_timestamp)
    return False

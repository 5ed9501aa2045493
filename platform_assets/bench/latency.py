"""`data-platform bench latency`: how long a delivery takes, with nobody clicking, from its
files landing to its day's `user_features`, with the repo's own dagster.yaml and workspace.

The real daemon runs on a throw-away instance and platform home. Each day's simulated
deliveries (dev defaults: 20,000 events a day, with faults) are dropped onto an idle platform,
at a random moment of the sensor daemon's 5 s cycle (seeded), and the time until that day's
`user_features` is split into stages from the run's event log:

    sensor     files dropped -> the landing sensor's run created
    queue      run created -> launched (run queue)
    code_load  launched -> the run process has loaded the code location
    lake       raw_* and clean_* steps
    warehouse  the dbt step
    features   the user_features step
    other      what is left: gaps between steps, waiting for the warehouse pool
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

from platform_assets.automation.landing import LANDING_RUN
from platform_assets.bench.daemon import (
    deliver,
    running_daemon,
    wait_for_materialization,
    wait_until_idle,
)
from platform_assets.bench.measure import run_events, step_seconds
from platform_assets.simulate import simulate

STAGES = ("sensor", "queue", "code_load", "lake", "warehouse", "features", "other", "total")
SENSOR_CYCLE_SECONDS = 5  # the sensor daemon's loop (fixed in Dagster)


def breakdown(
    dropped: float, run_created: float, events: Iterable[tuple[str, str | None, float]], done: float
) -> dict[str, float]:
    """Stage durations (seconds) of one delivery. `events` are the run's
    (event type name, step key, timestamp); `done` is when `user_features` was materialized."""
    events = list(events)
    stages = dict.fromkeys(STAGES, 0.0)
    first = {kind: at for kind, _, at in sorted(events, key=lambda e: e[2], reverse=True)}
    launched, begun = first.get("RUN_STARTING"), first.get("RUN_START")
    steps = step_seconds(e for e in events if e[1] != "user_features")
    stages["warehouse"] = steps.pop("warehouse_models", 0.0)
    stages["lake"] = sum(steps.values())
    features = [at for kind, step, at in events if (kind, step) == ("STEP_START", "user_features")]
    if features:  # its step, until the materialization we waited for
        stages["features"] = done - features[0]
    launched = launched or run_created
    begun = begun or launched
    stages["sensor"] = run_created - dropped
    stages["queue"] = launched - run_created
    stages["code_load"] = begun - launched
    stages["total"] = done - dropped
    stages["other"] = stages["total"] - sum(stages[s] for s in STAGES[:-2])
    return {stage: round(value, 2) for stage, value in stages.items()}


def _delivery_latency(
    instance: dg.DagsterInstance, staged: Path, home: Path, day: str, pause: float
) -> dict:
    wait_until_idle(instance)
    time.sleep(pause)  # idle is reached in step with the daemons: drop at a random phase
    dropped = deliver(staged, home / "landing", day)
    record = wait_for_materialization(instance, "user_features", day, dropped)
    run = instance.get_run_record_by_id(record.run_id)
    events = run_events(instance, record.run_id)
    stages = breakdown(dropped, run.create_timestamp.timestamp(), events, record.timestamp)
    landing = LANDING_RUN.items() <= run.dagster_run.tags.items()
    return {"day": day, "trigger": "landing" if landing else "other", **stages}


def measure(repo: Path, workdir: Path, runs: int, events_per_day: int, seed: int) -> list[dict]:
    """One warm-up delivery (the first after the daemon starts), then `runs` measured ones,
    for the days ending today (so late data falls within the automation's lateness)."""
    today = datetime.now(UTC).date()
    first = today - timedelta(days=runs)
    staged, home = workdir / "staged", workdir / "platform"
    simulate(staged, first, runs + 1, events_per_day, seed, faults=True)
    days = [(first + timedelta(days=i)).isoformat() for i in range(runs + 1)]
    phase = random.Random(seed)
    with running_daemon(repo, home, workdir / "dagster_home", workdir / "daemon.log") as instance:
        return [
            _delivery_latency(instance, staged, home, day, phase.uniform(0, SENSOR_CYCLE_SECONDS))
            for day in days
        ]


def report(rows: list[dict]) -> str:
    """The table: the warm-up first, then the measured deliveries and their median."""
    header = f"{'day':<12}" + "".join(f"{s:>10}" for s in STAGES) + "  trigger"

    def line(label: str, row: dict, trigger: str = "") -> str:
        return f"{label:<12}" + "".join(f"{row[s]:>10.1f}" for s in STAGES) + f"  {trigger}"

    warmup, measured = rows[0], rows[1:]
    lines = [header, line(warmup["day"], warmup, "warm-up: first after start, not in median")]
    lines += [line(r["day"], r, r["trigger"]) for r in measured]
    median = {s: statistics.median(r[s] for r in measured) for s in STAGES}
    lines.append(line(f"median of {len(measured)}", median))
    return "\n".join(lines)


def run(repo: Path, runs: int, events_per_day: int, seed: int, workdir: Path | None) -> str:
    for needed in ("workspace.yaml", "dagster.yaml"):
        if not (repo / needed).exists():
            raise FileNotFoundError(f"no {needed} in {repo}: run from the repository's root")
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        return report(measure(repo, workdir, runs, events_per_day, seed))
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        return report(measure(repo, Path(tmp), runs, events_per_day, seed))

"""Run a command as a child process tree and measure its wall time and peak memory; time a
run's steps from its events."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_rss_mb: float
    returncode: int


def measure(command: list[str], env: dict[str, str], cwd: Path, log: Path) -> Measured:
    """Run `command`, its output to `log`. Peak RSS is the larger of: the sum over the live
    process tree, sampled every 100 ms (dbt runs beside the Dagster process), and the largest
    peak of any single process of the tree (its `VmHWM`), which catches spikes between samples.
    (Not `wait4`'s maxrss: a forked child starts with its parent's high-water mark.)"""
    with log.open("w") as out:
        began = time.perf_counter()
        child = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        sampler = _TreeSampler(child.pid)
        sampler.start()
        child.wait()
        seconds = time.perf_counter() - began
        sampler.stop()
    return Measured(round(seconds, 2), round(sampler.peak_mb, 1), child.returncode)


class _TreeSampler(threading.Thread):
    def __init__(self, root: int, interval: float = 0.1):
        super().__init__(daemon=True)
        self.root, self.interval, self.peak_mb = root, interval, 0.0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.interval):
            self.peak_mb = max(self.peak_mb, *tree_memory_mb(self.root))

    def stop(self) -> None:
        self._done.set()
        self.join()


def tree_memory_mb(root: int) -> tuple[float, float]:
    """(resident memory of `root` and all its descendants, the largest peak of one of them),
    in MiB; zeros once the tree is gone."""
    parents: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as stat_file:
                    stat = stat_file.read()
            except OSError:
                continue
            parents[int(name)] = int(stat[stat.rindex(b")") + 2 :].split()[1])
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        tree.update(children)
        frontier.extend(children)
    rss = hwm = 0
    for pid in tree:
        status = _status(pid)
        rss += status.get("VmRSS", 0)
        hwm = max(hwm, status.get("VmHWM", 0))
    return rss / 1024, hwm / 1024


def _status(pid: int) -> dict[str, int]:
    """The kB fields of /proc/<pid>/status ({} if the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            lines = status.read().splitlines()
    except OSError:
        return {}
    fields = (line.split(":", 1) for line in lines if line.endswith(" kB"))
    return {name: int(value.split()[0]) for name, value in fields}


def run_events(instance, run_id: str) -> list[tuple[str, str | None, float]]:
    """A run's Dagster events as (event type name, step key, timestamp)."""
    return [
        (e.dagster_event_type.name, e.step_key, e.timestamp)
        for e in instance.all_logs(run_id)
        if e.is_dagster_event
    ]


def step_seconds(events) -> dict[str, float]:
    """Seconds of each step, from (event type name, step key, timestamp) events: summed over
    the runs the events come from."""
    started: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for kind, step, at in sorted(events, key=lambda e: e[2]):
        if kind == "STEP_START" and step:
            started[step] = at
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE") and step in started:
            seconds[step] = seconds.get(step, 0.0) + at - started.pop(step)
    return seconds

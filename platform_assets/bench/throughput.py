"""`data-platform bench`: the platform against its engines and against the pandas way, on the
same simulated days, one after another, each in its own process tree:

    platform  `dagster job execute -m platform_assets -j daily_pipeline` once per day, in order,
              as the landing sensor runs it: the code, resources and executor users run,
              landing -> user_features, stages from the runs' events
    raw       the same transformations as one straight polars + DuckDB script (bench/raw.py)
    pandas    the same work, landing -> user_features, the tutorial way (bench/pandas_way.py)

Each baseline's checksums of each day (counts and money sums, bench/checksums.py) must equal
the platform's, or the benchmark fails. Peak RSS covers each variant's whole process tree (the
platform's: the largest of its runs).

With `pairs` > 1, the platform and raw run that many times, alternately, on the same data (each
platform repetition in a fresh home and instance, reading the same landing zone); their
outputs must agree every time. A pair runs back to back, so a slow spell of a noisy machine
slows both of its sides: `platform_over_raw` is the median of the pairs' ratios, the seconds
are the median repetitions'. pandas runs once.
"""

from __future__ import annotations

import json
import os
import platform as host
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from importlib.metadata import distributions, version
from pathlib import Path

from platform_assets.bench.baseline import BENCH_PANDAS
from platform_assets.bench.checksums import differences, platform_checksums
from platform_assets.bench.daemon import platform_environ
from platform_assets.bench.measure import Measured, measure, run_events, step_seconds
from platform_assets.resources import DEV_PII_HASH_KEY
from platform_assets.simulate import simulate
from platform_assets.warehouse.assets import dbt_target_path
from platform_assets.warehouse.project import dbt_executable, installed_dbt_version

DAY = date(2026, 3, 1)
PACKAGES = ("dagster", "dagster-dbt", "duckdb", "polars", "pandera")
DBT_PACKAGES = ("dbt-core", "dbt-duckdb")  # in dbt's own environment
STEP_STAGES = {"warehouse_models": "warehouse", "user_features": "features"}
LOAD_SCRIPT = """
import os, time
began = time.perf_counter()
from platform_assets.definitions import build_definitions
build_definitions(os.environ).get_repository_def()
print(time.perf_counter() - began)
"""


class BenchmarkFailed(Exception):
    pass


@dataclass(frozen=True)
class PlatformMeasured:
    """One repetition of the platform: its runs' total and largest peak, each run's seconds,
    the seconds per stage, and its checksums per day."""

    total: Measured
    runs: list[float]
    stages: dict[str, float]
    checksums: dict[str, dict]


def run(
    repo: Path,
    events_per_day: int,
    seed: int,
    workdir: Path | None,
    days: int = 1,
    pairs: int = 1,
) -> dict:
    """Simulate `days` days, measure the three variants on them (the platform and raw `pairs`
    times, alternately), compare their outputs."""
    if not (repo / "dagster.yaml").exists():
        raise FileNotFoundError(f"no dagster.yaml in {repo}: run from the repository's root")
    if workdir is not None:
        if workdir.is_dir() and any(workdir.iterdir()):
            raise FileExistsError(f"--workdir {workdir} is not empty: give a new or empty folder")
        workdir.mkdir(parents=True, exist_ok=True)
        return _run(repo, events_per_day, seed, workdir, days, pairs)
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        return _run(repo, events_per_day, seed, Path(tmp), days, pairs)


def _run(repo: Path, events_per_day: int, seed: int, workdir: Path, days: int, pairs: int) -> dict:
    env = platform_environ(*_homes(workdir, 1))
    landing = Path(env["PLATFORM_HOME"]) / "landing"
    report = simulate(landing, DAY, days, events_per_day, seed)
    dates = [DAY + timedelta(days=i) for i in range(days)]
    platforms, raws = [], []
    for number in range(1, pairs + 1):
        platforms.append(_platform_repetition(repo, workdir, number, dates, landing))
        if platforms[-1].checksums != platforms[0].checksums:
            raise BenchmarkFailed(f"the platform's repetition {number} differs from its first")
        raws.append(_baseline("raw", repo, workdir, env, platforms[0].checksums))
    pandas = _baseline("pandas", repo, workdir, env, platforms[0].checksums)
    summary = summarize_pairs(platforms, raws)
    return {
        "events": report["app_events"]["rows"],
        "day": DAY.isoformat(),
        "days": days,
        **summary,
        "pandas_seconds": pandas.seconds,
        "pandas_over_platform": round(pandas.seconds / summary["platform_seconds"], 2),
        "pandas_peak_rss_mb": pandas.peak_rss_mb,
        "code_location_load_seconds": code_location_load_seconds(repo, env),
        "checksums": platforms[0].checksums,
        "versions": versions(repo),
        "machine": machine(),
    }


def summarize_pairs(platforms: list[PlatformMeasured], raws: list[Measured]) -> dict:
    """The platform's and raw's figures over their pairs: the median of the pairs' ratios, the
    median repetition of each (the lower middle one for an even count: a measured run, not an
    average; its runs, stages and orchestration), and the largest peaks."""
    ratios = [round(p.total.seconds / r.seconds, 2) for p, r in zip(platforms, raws, strict=True)]
    platform = sorted(platforms, key=lambda p: p.total.seconds)[(len(platforms) - 1) // 2]
    return {
        "pairs": [
            {
                "platform_seconds": p.total.seconds,
                "raw_seconds": r.seconds,
                "platform_over_raw": q,
                "orchestration_seconds": _orchestration(p),
            }
            for p, r, q in zip(platforms, raws, ratios, strict=True)
        ],
        "platform_seconds": platform.total.seconds,
        "platform_run_seconds": platform.runs,
        "raw_seconds": statistics.median_low(r.seconds for r in raws),
        "platform_over_raw": round(statistics.median(ratios), 2),
        "platform_peak_rss_mb": max(p.total.peak_rss_mb for p in platforms),
        "raw_peak_rss_mb": max(r.peak_rss_mb for r in raws),
        "stages": {name: round(seconds, 2) for name, seconds in platform.stages.items()},
        "orchestration_seconds": _orchestration(platform),
    }


def _orchestration(platform: PlatformMeasured) -> float:
    """The platform's seconds outside its steps."""
    return round(platform.total.seconds - sum(platform.stages.values()), 2)


def _homes(workdir: Path, number: int) -> tuple[Path, Path]:
    """The platform home and Dagster home of the platform's repetition `number`."""
    suffix = "" if number == 1 else f"-{number}"
    return workdir / f"platform{suffix}", workdir / f"dagster_home{suffix}"


def _platform_repetition(
    repo: Path, workdir: Path, number: int, days: list[date], landing: Path
) -> PlatformMeasured:
    """The platform's repetition `number` in a home and instance of its own, on `landing` (the
    first home's); and its checksums."""
    home, dagster_home = _homes(workdir, number)
    if number > 1:  # the first home holds the landing zone itself
        home.mkdir()
        (home / "landing").symlink_to(landing, target_is_directory=True)
    env = platform_environ(home, dagster_home)
    total, runs, stages = _platform(repo, workdir, env, days)
    checksums = {
        day.isoformat(): platform_checksums(home, home / "warehouse.duckdb", day) for day in days
    }
    return PlatformMeasured(total, runs, stages, checksums)


def _platform(
    repo: Path, workdir: Path, env: dict, days: list[date]
) -> tuple[Measured, list[float], dict[str, float]]:
    """One `daily_pipeline` run per day, in order; their total time and largest peak, each
    run's seconds, and the seconds per stage over all runs."""
    dagster_home = Path(env["DAGSTER_HOME"])
    dagster_home.mkdir(parents=True, exist_ok=True)
    (dagster_home / "dagster.yaml").write_bytes((repo / "dagster.yaml").read_bytes())
    # Untimed, as a deployment does once: the instance's storage, and dbt's parse.
    subprocess.run(
        [_script("dagster"), "instance", "migrate"],
        env=env,
        check=True,
        text=True,
        capture_output=True,
    )
    _parse_dbt_project(repo, env)
    runs = [_platform_run(repo, workdir, env, day) for day in days]
    total = Measured(
        round(sum(r.seconds for r in runs), 2), max(r.peak_rss_mb for r in runs), returncode=0
    )
    return total, [r.seconds for r in runs], stage_seconds(_step_events(dagster_home))


def _platform_run(repo: Path, workdir: Path, env: dict, day: date) -> Measured:
    tags = json.dumps({"dagster/partition": day.isoformat()})
    command = [_script("dagster"), "job", "execute", "-m", "platform_assets"]
    command += ["-j", "daily_pipeline", "--tags", tags]
    log = workdir / f"{Path(env['PLATFORM_HOME']).name}-{day}.log"
    return _checked(measure(command, env, repo, log), log, "platform")


def _parse_dbt_project(repo: Path, env: dict) -> None:
    """Parse the dbt project for this platform home before timing, as a deployment does once:
    dbt's saved parse depends on the warehouse path and lake root, so the first run of a new
    home would otherwise re-parse the whole project (5-7 s), which no later run pays."""
    home = Path(env["PLATFORM_HOME"])
    warehouse = str(home / "warehouse.duckdb")
    dbt_env = {
        **env,
        "PLATFORM_WAREHOUSE_PATH": warehouse,
        "PLATFORM_LAKE_ROOT": str(home / "lake"),
    }
    command = [dbt_executable(), "parse", "--quiet", "--target", env["PLATFORM_ENV"]]
    command += ["--target-path", str(dbt_target_path(warehouse))]
    subprocess.run(command, env=dbt_env, cwd=repo / "dbt", check=True)


def _baseline(name: str, repo: Path, workdir: Path, env: dict, expected: dict) -> Measured:
    """Run a baseline on the days of `expected` ({day: the platform's checksums})."""
    result = workdir / f"{name}.json"
    command = [sys.executable, "-m", "platform_assets.bench.baseline", name]
    command += ["--landing", env["PLATFORM_HOME"] + "/landing"]
    command += ["--start", min(expected), "--days", str(len(expected))]
    command += ["--workdir", str(workdir / name), "--result", str(result)]
    command += ["--pii-key", env.get("PLATFORM_PII_HASH_KEY") or DEV_PII_HASH_KEY]
    log = workdir / f"{name}.log"
    measured = _checked(measure(command, baseline_environ(name, repo, env), repo, log), log, name)
    actual = json.loads(result.read_text())
    wrong = [
        f"{day} {line}"
        for day in expected
        for line in differences(expected[day], actual.get(day, {}))
    ]
    if wrong:
        raise BenchmarkFailed(f"{name} differs from the platform:\n  " + "\n  ".join(wrong))
    return measured


def baseline_environ(name: str, repo: Path, env: dict[str, str]) -> dict[str, str]:
    """The pandas baseline also imports from the repo's .bench-pandas, where `make install` puts
    pandas: the platform's own environment holds none."""
    if name != "pandas":
        return env
    paths = [str(repo / BENCH_PANDAS), env.get("PYTHONPATH", "")]
    return {**env, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def _checked(measured: Measured, log: Path, name: str) -> Measured:
    if measured.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-20:])
        raise BenchmarkFailed(f"{name} exited with {measured.returncode} (log {log}):\n{tail}")
    return measured


def _step_events(dagster_home: Path) -> list[tuple[str, str | None, float]]:
    """The events of every run in the benchmark's own instance (its runs are one after
    another)."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        runs = instance.get_run_records()
        return [e for r in runs for e in run_events(instance, r.dagster_run.run_id)]


def stage_seconds(events) -> dict[str, float]:
    """Seconds per stage: lake (raw_* and clean_* steps), warehouse (dbt), features."""
    stages = {"lake": 0.0, "warehouse": 0.0, "features": 0.0}
    for step, seconds in step_seconds(events).items():
        stages[STEP_STAGES.get(step, "lake")] += seconds
    return stages


def code_location_load_seconds(repo: Path, env: dict) -> float:
    """Import the code location and build its definitions (dbt manifest included) in a fresh
    interpreter, as a run process does; the interpreter's own start is not counted."""
    out = subprocess.run(
        [sys.executable, "-c", LOAD_SCRIPT], env=env, cwd=repo, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise BenchmarkFailed(f"loading the code location failed:\n{out.stderr[-2000:]}")
    return round(float(out.stdout.strip().splitlines()[-1]), 2)


def machine() -> dict:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(memory, 1),
        "python": host.python_version(),
        "system": f"{host.system()} {host.machine()}",
    }


def table(result: dict) -> str:
    """The printed summary."""
    rows = [
        ("platform", result["platform_seconds"], result["platform_peak_rss_mb"]),
        ("raw", result["raw_seconds"], result["raw_peak_rss_mb"]),
        ("pandas", result["pandas_seconds"], result["pandas_peak_rss_mb"]),
    ]
    days = f"{result['days']} days from {result['day']}" if result["days"] > 1 else result["day"]
    lines = [f"{result['events']:,} events on {days}", f"{'':<10}{'s':>10}{'MB':>10}"]
    lines += [f"{name:<10}{s:>10.1f}{mb:>10.0f}" for name, s, mb in rows]
    lines.append(f"platform/raw {result['platform_over_raw']:.2f}   ")
    lines[-1] += f"pandas/platform {result['pandas_over_platform']:.2f}"
    if len(result["pairs"]) > 1:
        pairs = ", ".join(f"{p['platform_over_raw']:.2f}" for p in result["pairs"])
        lines.append(f"platform/raw of each pair, in order: {pairs} (median above)")
    stages = "  ".join(f"{k} {v:.1f}" for k, v in result["stages"].items())
    lines.append(f"platform stages: {stages}  orchestration {result['orchestration_seconds']:.1f}")
    lines.append(f"code location load {result['code_location_load_seconds']:.1f} s")
    return "\n".join(lines)


def versions(repo: Path) -> dict[str, str | None]:
    dbt = dbt_executable()
    return {
        **{name: version(name) for name in PACKAGES},
        "pandas": _bench_pandas_version(repo),
        **{name: installed_dbt_version(dbt, name) for name in DBT_PACKAGES},
    }


def _bench_pandas_version(repo: Path) -> str | None:
    found = distributions(name="pandas", path=[str(repo / BENCH_PANDAS)])
    return next((d.version for d in found), None)


def _script(name: str) -> str:
    return str(Path(sys.executable).with_name(name))

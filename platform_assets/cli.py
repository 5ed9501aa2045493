"""The `data-platform` console script: one argparse subcommand per tool."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and run the chosen subcommand; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    return args.run(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="data-platform", description="Data platform tools.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_simulate(commands)
    _add_bench(commands)
    return parser


def _add_simulate(commands: argparse._SubParsersAction) -> None:
    cmd = commands.add_parser(
        "simulate",
        help="write simulated source deliveries into a landing zone",
        description="Write realistic daily deliveries of app_events, orders, products and "
        "users (one folder per arrival day) into the landing zone.",
    )
    cmd.add_argument("--landing", type=Path, required=True, help="landing zone directory")
    cmd.add_argument("--start", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
    cmd.add_argument("--days", type=_positive, required=True, help="number of delivery days")
    cmd.add_argument(
        "--events-per-day", type=_positive, required=True, help="approximate app events per day"
    )
    cmd.add_argument("--seed", type=int, required=True, help="random seed (same seed, same bytes)")
    cmd.add_argument(
        "--faults", action="store_true", help="inject late, duplicate and malformed data"
    )
    cmd.set_defaults(run=_run_simulate)


def _add_bench(commands: argparse._SubParsersAction) -> None:
    bench = commands.add_parser(
        "bench",
        help="benchmarks: the platform against raw polars + DuckDB and pandas",
        description="Simulate days of deliveries, then run on them one after another: the "
        "platform's daily_pipeline through Dagster (one run per day), the same transformations "
        "as a straight "
        "polars + DuckDB script, and the pandas + pandera way; fail if their outputs differ. "
        "Prints a table and writes JSON. Run from the repository's root. "
        "`bench latency` measures delivery-to-features latency through the daemon instead.",
    )
    # Defaults are applied by each benchmark (`latency` takes a smaller day), so that an option
    # given before `latency` is honoured, or refused, never silently replaced by its default.
    bench.add_argument(
        "--events-per-day", type=_positive, help="(default 1000000; `latency`: 20000)"
    )
    bench.add_argument("--days", type=_positive, help="simulated days (default 1)")
    bench.add_argument(
        "--pairs",
        type=_positive,
        help="run the platform and raw this many times, alternately, on the same data, and "
        "report the median of the pairs' platform/raw (default 1)",
    )
    bench.add_argument("--seed", type=int, default=7)
    bench.add_argument("--output", type=Path, help="write the result as JSON here")
    bench.add_argument(
        "--workdir", type=Path, help="keep data, logs and outputs here (a new or empty folder)"
    )
    bench.set_defaults(run=_run_bench)
    benchmarks = bench.add_subparsers(dest="benchmark", metavar="BENCHMARK")
    cmd = benchmarks.add_parser(
        "latency",
        help="delivery landed -> its user_features, through the real daemon",
        description="Start the real Dagster daemon with this repository's workspace.yaml and "
        "dagster.yaml on a temporary instance, drop one day of simulated deliveries at a time "
        "and time each until its day's user_features is materialized, split into stages. "
        "Run from the repository's root.",
    )
    cmd.add_argument("--runs", type=_positive, default=5, help="measured deliveries (default 5)")
    kept = argparse.SUPPRESS  # when not given here, what was given before `latency` holds
    cmd.add_argument(
        "--events-per-day", type=_positive, default=kept, help="as `make dev` (default 20000)"
    )
    cmd.add_argument("--seed", type=int, default=kept)
    cmd.add_argument(
        "--workdir", type=Path, default=kept, help="keep the instance and data here (default: temp)"
    )
    cmd.set_defaults(run=_run_bench_latency)


def _run_bench(args: argparse.Namespace) -> int:
    from platform_assets.bench.throughput import BenchmarkFailed, run, table

    try:
        events = args.events_per_day or 1_000_000
        result = run(Path.cwd(), events, args.seed, args.workdir, args.days or 1, args.pairs or 1)
    except (OSError, ValueError, BenchmarkFailed) as exc:
        print(f"data-platform bench: {exc}", file=sys.stderr)
        return 1
    print(table(result))
    if args.output:
        args.output.write_text(json.dumps(result, indent=2))
    return 0


def _run_bench_latency(args: argparse.Namespace) -> int:
    from platform_assets.bench.latency import run

    extra = [f"--{name}" for name in ("days", "pairs", "output") if getattr(args, name) is not None]
    if extra:
        print(f"data-platform bench latency: takes no {', '.join(extra)}", file=sys.stderr)
        return 2
    events = args.events_per_day or 20000
    try:
        table = run(Path.cwd(), args.runs, events, args.seed, args.workdir)
    except (OSError, ValueError) as exc:  # TimeoutError is an OSError
        print(f"data-platform bench latency: {exc}", file=sys.stderr)
        return 2
    print("seconds per stage, delivery landed -> user_features materialized")
    print(table)
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _run_simulate(args: argparse.Namespace) -> int:
    from platform_assets.simulate import simulate

    began = time.perf_counter()
    try:
        report = simulate(
            args.landing, args.start, args.days, args.events_per_day, args.seed, args.faults
        )
    except (OSError, ValueError) as exc:
        print(f"data-platform simulate: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print(
            f"data-platform simulate: not enough memory for {args.events_per_day:,} events a "
            "day (a day is simulated in memory)",
            file=sys.stderr,
        )
        return 2
    for source in ("app_events", "orders", "products", "users"):
        counts = report[source]
        print(f"{source:<10}  {counts['files']:>5} files  {counts['rows']:>12,} rows")
    if "faults" in report:
        kinds = ", ".join(f"{k}={v}" for k, v in report["faults"].items())
        print(f"faults      {kinds}")
    print(f"wrote {args.landing} in {time.perf_counter() - began:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

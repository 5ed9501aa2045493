"""One baseline of `data-platform bench` in its own process, so that its time and memory are
its own: `python -m platform_assets.bench.baseline raw|pandas --landing ... --result F.json`."""

from __future__ import annotations

import argparse
import json
from datetime import date, timedelta
from pathlib import Path

# Where `make install` puts pandas, beside the platform's environment (pyproject, bench-pandas).
BENCH_PANDAS = ".bench-pandas"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="platform_assets.bench.baseline")
    parser.add_argument("name", choices=["raw", "pandas"])
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--start", type=date.fromisoformat, required=True, help="first day")
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--result", type=Path, required=True, help="checksums per day, as JSON")
    parser.add_argument("--pii-key", required=True)
    args = parser.parse_args(argv)
    if args.name == "raw":
        from platform_assets.bench.raw import run
    else:
        try:
            from platform_assets.bench.pandas_way import run
        except ModuleNotFoundError as missing:
            if missing.name != "pandas":
                raise
            hint = f"`make install` puts it in {BENCH_PANDAS}, beside the platform's environment"
            parser.exit(2, f"the pandas baseline needs pandas ({missing}): {hint}\n")
    days = [args.start + timedelta(days=i) for i in range(args.days)]
    checksums = run(args.landing, args.workdir, days, args.pii_key)
    args.result.write_text(json.dumps(checksums, indent=2))


if __name__ == "__main__":
    main()

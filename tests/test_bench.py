"""`data-platform bench`: the platform and its two baselines on the same simulated days, their
outputs compared day by day. The smoke test runs the real thing at 100k events a day for two
days (no timing assertions: figures are for the README, measured by the benchmark itself)."""

import json
import sys
from pathlib import Path

import pytest

from platform_assets.bench.checksums import differences
from platform_assets.bench.daemon import platform_environ
from platform_assets.bench.measure import Measured, measure
from platform_assets.bench.throughput import (
    BENCH_PANDAS,
    DAY,
    BenchmarkFailed,
    PlatformMeasured,
    _baseline,
    baseline_environ,
    stage_seconds,
    summarize_pairs,
)
from platform_assets.cli import main
from platform_assets.simulate import simulate

CHECKSUMS = {
    "clean_rows": {"app_events": 10, "orders": 2},
    "revenue": {"EUR": {"orders": 2, "gross_revenue": "10.00", "net_revenue": "10.00"}},
    "user_features": {"rows": 3},
}


def test_equal_checksums_have_no_differences():
    assert differences(CHECKSUMS, json.loads(json.dumps(CHECKSUMS))) == []


def test_a_different_sum_or_count_is_named():
    other = json.loads(json.dumps(CHECKSUMS))
    other["revenue"]["EUR"]["net_revenue"] = "9.99"
    other["clean_rows"]["orders"] = 3
    assert differences(CHECKSUMS, other) == [
        "clean_rows.orders: expected 2, got 3",
        "revenue.EUR.net_revenue: expected '10.00', got '9.99'",
    ]


def test_a_baseline_may_leave_out_features_but_not_the_required_sections():
    without_features = {k: v for k, v in CHECKSUMS.items() if k != "user_features"}
    assert differences(CHECKSUMS, without_features) == []
    assert differences(CHECKSUMS, {"revenue": CHECKSUMS["revenue"]}) == ["clean_rows: missing"]


def test_stages_are_the_steps_seconds_grouped():
    events = [
        ("STEP_START", "raw_orders", 1.0),
        ("STEP_SUCCESS", "raw_orders", 2.0),
        ("STEP_START", "clean_orders", 2.0),
        ("STEP_SUCCESS", "clean_orders", 2.5),
        ("STEP_START", "warehouse_models", 3.0),
        ("STEP_SUCCESS", "warehouse_models", 7.0),
        ("STEP_START", "user_features", 7.0),
        ("STEP_SUCCESS", "user_features", 7.25),
    ]
    assert stage_seconds(events) == {"lake": 1.5, "warehouse": 4.0, "features": 0.25}


def _platform(seconds: float, peak: float, lake: float) -> PlatformMeasured:
    stages = {"lake": lake, "warehouse": 2.0, "features": 1.0}
    return PlatformMeasured(Measured(seconds, peak, 0), [seconds], stages, checksums={})


def test_pairs_report_the_median_ratio_the_median_platform_run_and_the_largest_peaks():
    platforms = [
        _platform(30.0, 900, 20.0),
        _platform(20.0, 1000, 12.0),
        _platform(26.0, 800, 18.0),
    ]
    raws = [Measured(20.0, 500, 0), Measured(10.0, 400, 0), Measured(20.0, 450, 0)]
    summary = summarize_pairs(platforms, raws)
    assert [p["platform_over_raw"] for p in summary["pairs"]] == [1.5, 2.0, 1.3]
    assert summary["platform_over_raw"] == 1.5  # the pairs' median, not 26 / 20
    assert summary["platform_seconds"] == 26.0 and summary["raw_seconds"] == 20.0
    assert summary["stages"]["lake"] == 18.0  # the median platform run's own stages
    assert summary["orchestration_seconds"] == 26.0 - 18.0 - 2.0 - 1.0
    assert [p["orchestration_seconds"] for p in summary["pairs"]] == [7.0, 5.0, 5.0]
    assert summary["platform_peak_rss_mb"] == 1000 and summary["raw_peak_rss_mb"] == 500


def test_an_even_number_of_pairs_reports_the_lower_middle_run_not_an_average():
    summary = summarize_pairs(
        [_platform(30.0, 900, 20.0), _platform(20.0, 900, 12.0)],
        [Measured(15.0, 500, 0), Measured(10.0, 400, 0)],
    )
    assert summary["platform_seconds"] == 20.0 and summary["raw_seconds"] == 10.0
    assert summary["platform_over_raw"] == 2.0  # median of 2.0 and 2.0


def test_peak_memory_covers_the_childs_own_children(tmp_path):
    grandchild = "b = bytearray(300 * 2**20); import time; time.sleep(0.5)"
    script = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {grandchild!r}])"
    measured = measure([sys.executable, "-c", script], {}, tmp_path, tmp_path / "log")
    assert measured.returncode == 0
    assert measured.peak_rss_mb > 300


def test_a_small_child_of_a_big_parent_is_measured_small(tmp_path):
    ballast = bytearray(400 * 2**20)  # the bench process holds Dagster and the data it read
    measured = measure([sys.executable, "-c", "pass"], {}, tmp_path, tmp_path / "log")
    assert len(ballast) and measured.peak_rss_mb < 100


@pytest.mark.integration
def test_the_benchmark_runs_all_three_on_two_days_and_their_outputs_agree(tmp_path, capsys):
    output = tmp_path / "bench.json"
    code = main(
        [
            "bench",
            "--events-per-day",
            "100000",
            "--days",
            "2",
            "--output",
            str(output),
            "--workdir",
            str(tmp_path / "work"),
        ]
    )
    assert code == 0, capsys.readouterr().err
    result = json.loads(output.read_text())
    assert result["events"] > 2 * 100_000 * 0.9
    assert result["days"] == 2 and len(result["platform_run_seconds"]) == 2
    assert sum(result["platform_run_seconds"]) == pytest.approx(result["platform_seconds"])
    for key in ("platform_seconds", "raw_seconds", "pandas_seconds", "platform_peak_rss_mb"):
        assert result[key] > 0
    assert result["platform_over_raw"] == round(
        result["platform_seconds"] / result["raw_seconds"], 2
    )
    assert set(result["stages"]) == {"lake", "warehouse", "features"}
    assert 0 < result["orchestration_seconds"] < result["platform_seconds"]
    first, second = result["checksums"].values()  # the platform's, which both baselines equal
    assert (
        first["clean_rows"]["app_events"] + second["clean_rows"]["app_events"] == (result["events"])
    )
    # the second day's run saw the first day: its features count both days' events
    assert second["user_features"]["events_28d"] == first["events"] + second["events"]
    assert {"dagster", "dbt-core", "polars", "duckdb", "pandera"} <= set(result["versions"])
    assert None not in result["versions"].values()
    assert "platform/raw" in capsys.readouterr().out


@pytest.mark.integration
def test_pairs_repeat_the_platform_and_raw_on_the_same_landing_and_agree(tmp_path, capsys):
    work, output = tmp_path / "work", tmp_path / "bench.json"
    argv = ["bench", "--events-per-day", "5000", "--pairs", "2", "--workdir", str(work)]
    code = main([*argv, "--output", str(output)])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "platform/raw of each pair, in order: " in out.out
    pairs = json.loads(output.read_text())["pairs"]
    assert len(pairs) == 2 and all(p["platform_seconds"] > 0 < p["raw_seconds"] for p in pairs)
    # the second repetition ran in a home and instance of its own, on the first's landing
    landing = (work / "platform" / "landing").resolve()
    assert (work / "platform-2" / "landing").resolve() == landing
    assert (work / "platform-2" / "warehouse.duckdb").exists()
    assert (work / "dagster_home-2" / "history").is_dir()
    assert (work / "platform-2-2026-03-01.log").exists()


def test_the_benchmark_refuses_a_workdir_that_holds_an_earlier_run(tmp_path, capsys):
    (tmp_path / "dagster_home").mkdir()  # an earlier run's instance would count its runs too
    assert main(["bench", "--events-per-day", "1000", "--workdir", str(tmp_path)]) == 1
    assert f"--workdir {tmp_path} is not empty" in capsys.readouterr().err


def test_a_baseline_that_disagrees_with_the_platform_fails_the_benchmark(tmp_path):
    home = tmp_path / "platform"
    simulate(home / "landing", DAY, 1, 2000, seed=3)
    env = platform_environ(home, tmp_path / "dagster_home")
    wrong = {DAY.isoformat(): {"clean_rows": {"app_events": 1}, "revenue": {}}}
    with pytest.raises(BenchmarkFailed, match="pandas differs from the platform") as failed:
        _baseline("pandas", Path.cwd(), tmp_path, env, wrong)
    assert f"{DAY} clean_rows.app_events: expected 1, got " in str(failed.value)


def test_only_the_pandas_baseline_imports_from_the_bench_pandas_folder():
    env = {"PYTHONPATH": "/elsewhere"}
    assert baseline_environ("raw", Path("/repo"), env) == env
    assert baseline_environ("pandas", Path("/repo"), env)["PYTHONPATH"] == (
        f"/repo/{BENCH_PANDAS}:/elsewhere"
    )


def test_the_pandas_baseline_without_pandas_says_how_to_install_it(tmp_path):
    """The platform's environment holds no pandas: without .bench-pandas the baseline stops."""
    command = [sys.executable, "-m", "platform_assets.bench.baseline", "pandas"]
    command += ["--landing", str(tmp_path), "--start", DAY.isoformat(), "--pii-key", "k"]
    command += ["--workdir", str(tmp_path), "--result", str(tmp_path / "result.json")]
    measured = measure(command, {"PATH": "/usr/bin"}, Path.cwd(), tmp_path / "log")
    assert measured.returncode == 2
    assert "`make install` puts it in .bench-pandas" in (tmp_path / "log").read_text()

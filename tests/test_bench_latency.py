"""The latency benchmark splits a delivery's way to `user_features` into stages that add up."""

from pathlib import Path

import pytest

from platform_assets.bench import latency
from platform_assets.bench.latency import STAGES, breakdown, report
from platform_assets.cli import main


def run_events(t0: float) -> list[tuple[str, str | None, float]]:
    return [
        ("RUN_STARTING", None, t0 + 5),
        ("RUN_START", None, t0 + 7.5),
        ("STEP_START", "raw_orders", t0 + 7.6),
        ("STEP_SUCCESS", "raw_orders", t0 + 8.0),
        ("STEP_START", "clean_orders", t0 + 8.0),
        ("STEP_SUCCESS", "clean_orders", t0 + 8.5),
        ("STEP_START", "warehouse_models", t0 + 8.6),
        ("STEP_SUCCESS", "warehouse_models", t0 + 13.6),
        ("STEP_START", "user_features", t0 + 13.7),
        ("STEP_SUCCESS", "user_features", t0 + 14.0),
    ]


def test_stages_come_from_the_runs_events_and_add_up():
    t0 = 1_000.0
    stages = breakdown(t0, t0 + 3, run_events(t0), done=t0 + 13.9)
    assert stages["sensor"] == 3.0
    assert stages["queue"] == 2.0
    assert stages["code_load"] == 2.5
    assert stages["lake"] == 0.9
    assert stages["warehouse"] == 5.0
    assert stages["features"] == 0.2  # step start -> materialized, whatever the step did after
    assert stages["total"] == 13.9
    assert round(sum(stages[s] for s in STAGES[:-1]), 2) == stages["total"]


def test_features_count_the_same_whether_or_not_the_step_had_ended():
    t0 = 0.0
    events = [e for e in run_events(t0) if e[:2] != ("STEP_SUCCESS", "user_features")]
    assert breakdown(t0, t0 + 3, events, done=t0 + 13.9) == breakdown(
        t0, t0 + 3, run_events(t0), done=t0 + 13.9
    )


def test_the_report_shows_the_warm_up_apart_and_the_median_of_the_rest():
    rows = [
        {"day": f"2026-03-0{i}", "trigger": "landing", **dict.fromkeys(STAGES, float(i))}
        for i in (1, 2, 3, 9)
    ]
    table = report(rows).splitlines()
    assert "warm-up" in table[1]
    assert table[-1].startswith("median of 3")
    assert table[-1].split()[-1] == "3.0"


@pytest.mark.parametrize(
    "argv",
    [
        ["bench", "--events-per-day", "500", "--seed", "3", "--workdir", "W", "latency"],
        ["bench", "latency", "--events-per-day", "500", "--seed", "3", "--workdir", "W"],
    ],
)
def test_latency_options_hold_before_or_after_its_name(monkeypatch, argv):
    """Given before `latency`, they were parsed and then replaced by its defaults: the
    benchmark ran on 20,000 events in a temporary folder."""
    calls = []
    monkeypatch.setattr(latency, "run", lambda *args: calls.append(args) or "table")
    assert main(argv) == 0
    [(_, runs, events, seed, workdir)] = calls
    assert (runs, events, seed, workdir) == (5, 500, 3, Path("W"))


def test_latency_refuses_the_throughput_benchmarks_options(monkeypatch, capsys):
    monkeypatch.setattr(latency, "run", lambda *args: pytest.fail("ran"))
    assert main(["bench", "--pairs", "3", "latency"]) == 2
    assert "bench latency: takes no --pairs" in capsys.readouterr().err


def test_latency_defaults_to_a_small_day(monkeypatch):
    calls = []
    monkeypatch.setattr(latency, "run", lambda *args: calls.append(args) or "table")
    assert main(["bench", "latency"]) == 0
    assert calls[0][2:] == (20000, 7, None)

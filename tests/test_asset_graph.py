"""The shape of the asset graph is a contract: this snapshot changes only on purpose.

Regenerate after a deliberate change with `UPDATE_SNAPSHOTS=1 make test`.
"""

import json
import os
from dataclasses import fields
from pathlib import Path

import dagster as dg
import pytest

from platform_assets.automation.landing import READS_THE_DAY_BEFORE
from platform_assets.definitions import build_definitions
from platform_assets.lake.assets import raw_asset
from platform_assets.metadata import COLUMN_SCHEMA
from platform_assets.sources.specs import SOURCES, SourceSpec

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.json"


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    defs = build_definitions({"PLATFORM_ENV": "test", "PLATFORM_HOME": str(home)})
    return defs.resolve_asset_graph()


def dep_windows(graph, key) -> dict[str, list[int]]:
    """The deps read over a window of partitions, as [start, end] offsets from the asset's own
    (late deliveries, the day before's sessions, the features' 28 days)."""
    windows = {}
    for parent in graph.get(key).parent_keys:
        mapping = graph.get_partition_mapping(key, parent)
        if isinstance(mapping, dg.TimeWindowPartitionMapping):
            offsets = [mapping.start_offset, mapping.end_offset]
            if offsets != [0, 0]:
                windows[parent.to_user_string()] = offsets
    return windows


def describe(graph) -> dict:
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "deps": sorted(p.to_user_string() for p in node.parent_keys),
            "dep_windows": dep_windows(graph, key),
            "partitions": type(node.partitions_def).__name__ if node.partitions_def else None,
            "checks": sorted(c.name for c in node.check_keys),
        }
    return assets


def test_asset_graph_matches_snapshot(graph):
    current = describe(graph)
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    assert SNAPSHOT.exists(), "no snapshot yet: run with UPDATE_SNAPSHOTS=1 and review it"
    assert current == json.loads(SNAPSHOT.read_text())


def test_every_asset_is_in_one_of_the_four_stage_groups(graph):
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert groups == {"sources", "lake", "warehouse", "ml_features"}


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_every_source_reaches_user_features(graph, source):
    start = dg.AssetKey(f"{source}_deliveries")
    downstream = dg.AssetSelection.assets(start).downstream().resolve(graph)
    assert dg.AssetKey("user_features") in downstream
    assert {dg.AssetKey(f"raw_{source}"), dg.AssetKey(f"clean_{source}")} <= downstream


def test_no_asset_depends_on_an_undefined_key(graph):
    keys = graph.get_all_asset_keys()
    for key in keys:
        assert set(graph.get(key).parent_keys) <= keys, key


def test_clean_assets_read_deliveries_up_to_two_days_late(graph):
    events = graph.get(dg.AssetKey("clean_app_events"))
    upstream = graph.get_parent_partition_keys_for_child(
        "2026-03-02", dg.AssetKey("raw_app_events"), events.key
    ).partitions_subset.get_partition_keys()
    assert sorted(upstream) == ["2026-03-02", "2026-03-03", "2026-03-04"]


def test_every_daily_pipeline_step_retries_with_backoff_and_jitter(tmp_path):
    defs = build_definitions({"PLATFORM_ENV": "test", "PLATFORM_HOME": str(tmp_path)})
    steps = defs.resolve_job_def("daily_pipeline").graph.node_defs
    assert {s.name for s in steps} >= {"raw_orders", "clean_orders", "warehouse_models"}
    for step in steps:
        policy = step.retry_policy
        assert policy and policy.backoff and policy.jitter, step.name


def test_a_marts_columns_show_what_its_contract_refuses(graph):
    """The not_null constraints of a mart's enforced dbt contract reach its column schema in
    the UI; a staging view declares none."""

    def not_nullable(name: str) -> set[str]:
        schema = graph.get(dg.AssetKey(name)).metadata[COLUMN_SCHEMA]
        return {column.name for column in schema.columns if not column.constraints.nullable}

    assert not_nullable("fct_events") == {
        "event_id", "user_id", "session_key", "app", "event_type", "event_time", "event_date",
        "session_start",
    }  # fmt: skip
    assert "email_hash" not in not_nullable("dim_users")
    assert not_nullable("stg_app_events") == set()


def test_a_source_declared_with_the_specs_defaults_gets_assets_dagster_accepts():
    """The default owner was "data-platform", which Dagster refuses (a team: or an email):
    following the README's "Adding a source" made a code location that would not load."""
    orders = SOURCES["orders"]
    given = {f.name: getattr(orders, f.name) for f in fields(SourceSpec) if f.name != "owners"}
    spec = SourceSpec(**{**given, "name": "stores"})
    assert raw_asset(spec).owners_by_key[dg.AssetKey("raw_stores")] == ["team:data-platform"]


def test_the_follow_up_of_a_landing_run_rebuilds_every_asset_that_reads_the_day_before(graph):
    """A landing run for D is followed by a run of D+1's READS_THE_DAY_BEFORE: the assets whose
    inputs reach back to earlier days, and the daily assets downstream of them."""
    readers = [
        key
        for key in graph.get_all_asset_keys()
        if any(start < 0 for start, _ in dep_windows(graph, key).values())
    ]
    downstream = dg.AssetSelection.assets(*readers).downstream().resolve(graph)
    daily = {key for key in downstream if graph.get(key).partitions_def is not None}
    assert {key.to_user_string() for key in daily} == set(READS_THE_DAY_BEFORE)

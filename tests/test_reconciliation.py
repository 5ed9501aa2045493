"""The nightly reconciliation recomputes recent clean partitions from raw; its checks can run
for any subset of the clean assets (a run of one clean asset must not need the others)."""

import dagster as dg

from platform_assets.definitions import build_definitions


def test_a_single_clean_partition_can_be_materialized_with_its_checks(tmp_path):
    defs = build_definitions({"PLATFORM_ENV": "test", "PLATFORM_HOME": str(tmp_path)})
    graph = defs.resolve_asset_graph()
    job = defs.resolve_implicit_global_asset_job_def()
    subset = job.get_subset(
        asset_selection={dg.AssetKey("clean_orders")},
        asset_check_selection={
            k for k in graph.asset_check_keys if k.asset_key == dg.AssetKey("clean_orders")
        },
    )
    assert dg.AssetKey("clean_orders") in subset.asset_layer.selected_asset_keys


def test_the_daily_pipeline_leaves_reconciliation_to_the_nightly_schedule(tmp_path):
    defs = build_definitions({"PLATFORM_ENV": "test", "PLATFORM_HOME": str(tmp_path)})
    daily = defs.resolve_job_def("daily_pipeline").asset_layer.asset_graph
    nightly = defs.resolve_job_def("lake_reconciliation_job").asset_layer.asset_graph
    reconciled = {k for k in nightly.asset_check_keys if k.name == "reconciled_with_raw"}
    assert reconciled and not reconciled & set(daily.asset_check_keys)
    assert {k.name for k in daily.asset_check_keys} >= {"pandera_contract", "nothing_lost"}

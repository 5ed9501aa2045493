"""The one place where the code location's Definitions are assembled."""

from __future__ import annotations

import os
from collections.abc import Mapping

import dagster as dg

from platform_assets.lake.assets import clean_asset, raw_asset
from platform_assets.ml.assets import training_set, user_features_asset
from platform_assets.resources import build_resources
from platform_assets.sources.assets import deliveries_asset
from platform_assets.sources.specs import SOURCES
from platform_assets.warehouse.assets import warehouse_models

DEFAULT_LATENESS_DAYS = 2

daily_pipeline_selection = dg.AssetSelection.groups("lake", "warehouse") | dg.AssetSelection.assets(
    "user_features"
)


def build_definitions(environ: Mapping[str, str]) -> dg.Definitions:
    """Everything the platform defines, wired to the resources `environ` selects."""
    lateness = int(environ.get("PLATFORM_ALLOWED_LATENESS_DAYS", DEFAULT_LATENESS_DAYS))
    specs = list(SOURCES.values())
    assets = [
        *(deliveries_asset(s) for s in specs),
        *(raw_asset(s) for s in specs),
        *(clean_asset(s, lateness) for s in specs),
        warehouse_models,
        user_features_asset,
        training_set,
    ]
    daily_pipeline = dg.define_asset_job(
        "daily_pipeline",
        selection=daily_pipeline_selection,
        description="One day (or a range) from landing through lake, warehouse and features.",
    )
    training_set_job = dg.define_asset_job(
        "training_set_job",
        selection=dg.AssetSelection.assets("training_set"),
        description="Rebuild the versioned training set from all feature partitions.",
    )
    return dg.Definitions(
        assets=assets,
        jobs=[daily_pipeline, training_set_job],
        resources=build_resources(environ),
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """Loaded by Dagster (workspace.yaml, `-m platform_assets`): reads the environment here,
    at load time, never at import time."""
    return build_definitions(os.environ)

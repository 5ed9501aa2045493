"""Resources per environment, built in one place.

`PLATFORM_ENV` picks the environment: `dev` (default) and `test` keep everything under
`PLATFORM_HOME` (default `./.platform/<env>`); `prod` takes every location and secret from
environment variables and refuses to load, naming each one that is missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource
from dagster_duckdb import DuckDBResource

from platform_assets.warehouse.project import dbt_executable, dbt_project

ENVIRONMENTS = ("dev", "test", "prod")
PROD_VARIABLES = (
    "PLATFORM_LANDING_ROOT",
    "PLATFORM_LAKE_ROOT",
    "PLATFORM_WAREHOUSE_PATH",
    "PLATFORM_PII_HASH_KEY",
)
DEV_PII_HASH_KEY = "dev-only-not-a-secret"


class LakeStorage(dg.ConfigurableResource):
    """Roots of the landing zone (what sources deliver) and of the lake (raw/clean/features)."""

    landing_root: str
    lake_root: str


class PiiHasher(dg.ConfigurableResource):
    """The secret key of the keyed hashes that replace PII (HMAC-SHA256)."""

    key: str


class MissingEnvironment(Exception):
    pass


def platform_env(environ: Mapping[str, str]) -> str:
    env = environ.get("PLATFORM_ENV", "dev")
    if env not in ENVIRONMENTS:
        raise MissingEnvironment(f"PLATFORM_ENV={env!r} is not one of {', '.join(ENVIRONMENTS)}")
    return env


def build_resources(environ: Mapping[str, str]) -> dict[str, object]:
    """The resources of the environment that `environ` selects."""
    env = platform_env(environ)
    if env == "prod":
        missing = [name for name in PROD_VARIABLES if not environ.get(name)]
        if missing:
            raise MissingEnvironment(
                "\n".join(f"prod needs environment variable {name}" for name in missing)
            )
        lake = LakeStorage(
            landing_root=dg.EnvVar("PLATFORM_LANDING_ROOT"),
            lake_root=dg.EnvVar("PLATFORM_LAKE_ROOT"),
        )
        warehouse: str | dg.EnvVar = dg.EnvVar("PLATFORM_WAREHOUSE_PATH")
        pii = PiiHasher(key=dg.EnvVar("PLATFORM_PII_HASH_KEY"))
    else:
        home = Path(environ.get("PLATFORM_HOME") or f".platform/{env}").resolve()
        lake = LakeStorage(landing_root=str(home / "landing"), lake_root=str(home / "lake"))
        warehouse = str(home / "warehouse.duckdb")
        pii = PiiHasher(key=environ.get("PLATFORM_PII_HASH_KEY") or DEV_PII_HASH_KEY)
    return {
        "lake": lake,
        "pii": pii,
        "duckdb": DuckDBResource(database=warehouse),
        "dbt": DbtCliResource(project_dir=dbt_project, target=env, dbt_executable=dbt_executable()),
    }

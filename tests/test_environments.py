"""PLATFORM_ENV picks the resources; prod takes everything from the environment and refuses to
load, one line per missing variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from platform_assets.definitions import build_definitions
from platform_assets.resources import (
    PROD_VARIABLES,
    InvalidSetting,
    MissingEnvironment,
    UnsupportedLocation,
    build_resources,
)

REPO = Path(__file__).resolve().parents[1]


def test_dev_and_test_keep_all_data_under_platform_home(tmp_path):
    resources = build_resources({"PLATFORM_ENV": "test", "PLATFORM_HOME": str(tmp_path)})
    assert resources["lake"].landing_root == str(tmp_path / "landing")
    assert resources["lake"].lake_root == str(tmp_path / "lake")
    assert resources["duckdb"].database == str(tmp_path / "warehouse.duckdb")
    assert resources["dbt"].target == "test"


def test_the_hash_key_comes_from_the_environment_when_set(tmp_path):
    environ = {"PLATFORM_HOME": str(tmp_path), "PLATFORM_PII_HASH_KEY": "s3cret"}
    assert build_resources(environ)["pii"].key == "s3cret"


def test_prod_names_every_missing_variable_on_its_own_line():
    with pytest.raises(MissingEnvironment) as err:
        build_resources({"PLATFORM_ENV": "prod", "PLATFORM_LAKE_ROOT": "s3://lake"})
    lines = str(err.value).splitlines()
    assert lines == [
        f"prod needs environment variable {name}"
        for name in PROD_VARIABLES
        if name != "PLATFORM_LAKE_ROOT"
    ]


def test_prod_reads_its_locations_from_the_environment_at_run_time(tmp_path, monkeypatch):
    for name in PROD_VARIABLES:
        monkeypatch.setenv(name, str(tmp_path / name))
    resources = build_resources({**os.environ, "PLATFORM_ENV": "prod"})
    assert resources["dbt"].target == "prod"
    lake = resources["lake"].process_config_and_initialize()
    assert lake.lake_root == str(tmp_path / "PLATFORM_LAKE_ROOT")
    pii = resources["pii"].process_config_and_initialize()
    assert pii.key == str(tmp_path / "PLATFORM_PII_HASH_KEY")


def test_prod_refuses_a_lake_root_given_as_a_url(tmp_path):
    environ = {name: str(tmp_path / name) for name in PROD_VARIABLES}
    environ |= {"PLATFORM_ENV": "prod", "PLATFORM_LAKE_ROOT": "s3://bucket/lake"}
    with pytest.raises(UnsupportedLocation) as err:
        build_resources(environ)
    assert str(err.value).startswith("PLATFORM_LAKE_ROOT=s3://bucket/lake is a URL")
    environ |= {"PLATFORM_LAKE_ROOT": str(tmp_path), "PLATFORM_WAREHOUSE_PATH": "s3://b/w.duckdb"}
    with pytest.raises(UnsupportedLocation, match="^PLATFORM_WAREHOUSE_PATH=s3://b/w.duckdb"):
        build_resources(environ)


@pytest.mark.parametrize("value", ["-1", "two", "1.5"])
def test_an_allowed_lateness_that_is_not_a_whole_number_of_days_is_refused(value, tmp_path):
    """-1 used to load, and then the clean assets read no delivery at all."""
    environ = {"PLATFORM_HOME": str(tmp_path), "PLATFORM_ALLOWED_LATENESS_DAYS": value}
    with pytest.raises(InvalidSetting, match=f"^PLATFORM_ALLOWED_LATENESS_DAYS='{value}' is not"):
        build_definitions(environ)


def test_an_unknown_environment_is_refused():
    with pytest.raises(MissingEnvironment, match="staging"):
        build_resources({"PLATFORM_ENV": "staging"})


def test_the_code_location_fails_to_load_in_prod_without_its_variables(tmp_path):
    env = {"PLATFORM_ENV": "prod", "PATH": str(Path(sys.executable).parent), "HOME": str(tmp_path)}
    env |= {"DAGSTER_HOME": str(tmp_path), "DO_NOT_TRACK": "1"}
    proc = subprocess.run(
        [
            str(Path(sys.executable).with_name("dagster")),
            "definitions",
            "validate",
            "-m",
            "platform_assets",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    for name in PROD_VARIABLES:
        assert f"prod needs environment variable {name}" in proc.stdout + proc.stderr

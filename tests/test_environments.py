"""PLATFORM_ENV picks the resources; prod takes everything from the environment and refuses to
load, one line per missing variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from platform_assets.definitions import build_definitions
from platform_assets.resources import (
    PATH_LOCATIONS,
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


def prod(tmp_path: Path) -> dict[str, str]:
    """A complete prod environment: absolute paths, a key, a webhook."""
    return {
        "PLATFORM_ENV": "prod",
        **{name: str(tmp_path / name) for name in PATH_LOCATIONS},
        "PLATFORM_PII_HASH_KEY": "s3cret",
        "PLATFORM_ALERT_WEBHOOK_URL": "https://hooks.example.com/T0/B0",
    }


def test_prod_reads_its_locations_from_the_environment_at_run_time(tmp_path, monkeypatch):
    for name, value in prod(tmp_path).items():
        monkeypatch.setenv(name, value)
    resources = build_resources(os.environ)
    assert resources["dbt"].target == "prod"
    lake = resources["lake"].process_config_and_initialize()
    assert lake.lake_root == str(tmp_path / "PLATFORM_LAKE_ROOT")
    pii = resources["pii"].process_config_and_initialize()
    assert pii.key == "s3cret"


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("PLATFORM_PII_HASH_KEY", "   ", "prod needs environment variable PLATFORM_PII_HASH_KEY"),
        ("PLATFORM_LAKE_ROOT", "prod/lake", "PLATFORM_LAKE_ROOT=prod/lake is a relative path"),
        ("PLATFORM_ALERT_WEBHOOK_URL", "hooks.example.com/T0", "PLATFORM_ALERT_WEBHOOK_URL=hooks"),
    ],
)
def test_prod_refuses_a_setting_that_would_fail_only_later(tmp_path, name, value, error):
    """A relative lake root loaded, then dbt (which runs in dbt/) read another folder than the
    lake's steps wrote, and every run failed; a blank key or a webhook without a scheme loaded
    too, the webhook failing when an alert fired."""
    with pytest.raises(MissingEnvironment) as err:
        build_resources({**prod(tmp_path), name: value})
    assert str(err.value).startswith(error)
    assert len(str(err.value).splitlines()) == 1


def test_prod_refuses_a_lake_root_given_as_a_url(tmp_path):
    environ = prod(tmp_path) | {"PLATFORM_LAKE_ROOT": "s3://bucket/lake"}
    with pytest.raises(UnsupportedLocation) as err:
        build_resources(environ)
    assert str(err.value).startswith("PLATFORM_LAKE_ROOT=s3://bucket/lake is a URL")
    environ |= {"PLATFORM_LAKE_ROOT": str(tmp_path), "PLATFORM_WAREHOUSE_PATH": "s3://b/w.duckdb"}
    with pytest.raises(UnsupportedLocation, match="^PLATFORM_WAREHOUSE_PATH=s3://b/w.duckdb"):
        build_resources(environ)


@pytest.mark.parametrize("value", ["-1", "two", "1.5", "366", "99999999999"])
def test_an_allowed_lateness_that_is_not_a_whole_number_of_days_is_refused(value, tmp_path):
    """-1 used to load, and then the clean assets read no delivery at all; 99999999999 failed
    the code location with an OverflowError deep inside Dagster."""
    environ = {"PLATFORM_HOME": str(tmp_path), "PLATFORM_ALLOWED_LATENESS_DAYS": value}
    with pytest.raises(InvalidSetting, match=f"^PLATFORM_ALLOWED_LATENESS_DAYS='{value}' is not"):
        build_definitions(environ)


def test_an_allowed_lateness_of_a_year_loads(tmp_path):
    environ = {"PLATFORM_HOME": str(tmp_path), "PLATFORM_ALLOWED_LATENESS_DAYS": "365"}
    assert build_definitions(environ).resolve_asset_graph().get_all_asset_keys()


def test_an_empty_platform_env_is_the_default_dev(tmp_path):
    environ = {"PLATFORM_ENV": "", "PLATFORM_HOME": str(tmp_path)}
    assert build_resources(environ)["dbt"].target == "dev"


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


@pytest.mark.parametrize("own", ["file", "link"])
def test_make_leaves_a_dagster_yaml_of_the_users_own_alone(tmp_path, own):
    """With DAGSTER_HOME exported, `make install` replaced the user's instance file (say, a
    Postgres run storage) by a link to the repo's, silently."""
    home, mine = tmp_path / "home", tmp_path / "mine.yaml"
    home.mkdir()
    mine.write_text("run_storage: {}\n")
    target = home / "dagster.yaml"
    if own == "file":
        target.write_text(mine.read_text())
    else:
        target.symlink_to(mine)
    os.utime(target, (0, 0), follow_symlinks=False)
    os.utime(mine, (0, 0))  # older than the repo's dagster.yaml: make wants to remake it
    proc = subprocess.run(
        ["make", f"DAGSTER_HOME={home}", str(target)], cwd=REPO, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "left as it is" in proc.stderr
    assert target.read_text() == "run_storage: {}\n"
    assert target.is_symlink() == (own == "link")


@pytest.mark.parametrize("before", ["none", "broken link"])
def test_make_links_a_dagster_home_to_the_repos_dagster_yaml(tmp_path, before):
    target = tmp_path / "home" / "dagster.yaml"
    if before == "broken link":  # into a checkout since moved
        target.parent.mkdir()
        target.symlink_to(tmp_path / "moved" / "dagster.yaml")
    proc = subprocess.run(["make", f"DAGSTER_HOME={tmp_path / 'home'}", str(target)], cwd=REPO)
    assert proc.returncode == 0
    assert target.resolve() == REPO / "dagster.yaml"


def test_make_takes_an_empty_platform_env_for_dev():
    proc = subprocess.run(
        ["make", "-s", "-p", "-n", "PLATFORM_ENV=", "nothing"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert "PLATFORM_ENV := dev" in proc.stdout.splitlines()

"""Resources per environment, built in one place.

`PLATFORM_ENV` picks the environment: `dev` (default) and `test` keep everything under
`PLATFORM_HOME` (default `./.platform/<env>`); `prod` takes every location and secret from
environment variables and refuses to load, naming each one that is missing.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from urllib.error import HTTPError

import dagster as dg
from dagster_dbt import DbtCliResource
from dagster_duckdb import DuckDBResource
from packaging.version import Version

from platform_assets.warehouse.project import dbt_executable, dbt_project, installed_dbt_version

ENVIRONMENTS = ("dev", "test", "prod")
PROD_VARIABLES = (
    "PLATFORM_LANDING_ROOT",
    "PLATFORM_LAKE_ROOT",
    "PLATFORM_WAREHOUSE_PATH",
    "PLATFORM_PII_HASH_KEY",
    "PLATFORM_ALERT_WEBHOOK_URL",
)
DEV_PII_HASH_KEY = "dev-only-not-a-secret"
DEFAULT_LATENESS_DAYS = 2
MAX_LATENESS_DAYS = 365  # each clean partition reads this many days of deliveries after its own
PATH_LOCATIONS = ("PLATFORM_LANDING_ROOT", "PLATFORM_LAKE_ROOT", "PLATFORM_WAREHOUSE_PATH")
URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


class LakeStorage(dg.ConfigurableResource):
    """Roots of the landing zone (what sources deliver) and of the lake (raw/clean/features)."""

    landing_root: str
    lake_root: str


class PiiHasher(dg.ConfigurableResource):
    """The secret key of the keyed hashes that replace PII (HMAC-SHA256)."""

    key: str


class AlertNotDelivered(Exception):
    """The webhook refused an alert or could not be reached, every attempt."""


class Alerts(dg.ConfigurableResource):
    """Where alerts go. Set `jsonl_path`, `webhook_url`, or both. The webhook is tried
    `attempts` times, `retry_seconds` apart, doubling (a server error, 429 or no connection);
    an alert it never takes raises `AlertNotDelivered`, holding the alert."""

    jsonl_path: str | None = None
    webhook_url: str | None = None
    timeout_seconds: float = 10.0
    attempts: int = 3
    retry_seconds: float = 2.0

    def send(self, kind: str, summary: str, **details) -> dict:
        alert = {"kind": kind, "summary": summary, "at": datetime.now(UTC).isoformat(), **details}
        if self.jsonl_path:
            path = Path(self.jsonl_path)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a") as handle:
                handle.write(json.dumps(alert, default=str) + "\n")
        if self.webhook_url:
            self._post(alert)
        return alert

    def _post(self, alert: dict) -> None:
        body = json.dumps(alert, default=str).encode()
        for attempt in range(1, self.attempts + 1):
            request = urllib.request.Request(
                self.webhook_url,
                data=body,
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                    response.read()
                return
            except OSError as exc:  # urllib's URLError and HTTPError, timeouts
                retry = not isinstance(exc, HTTPError) or exc.code >= 500 or exc.code == 429
                if not retry or attempt == self.attempts:
                    raise AlertNotDelivered(
                        f"the webhook did not take the alert ({attempt} attempt(s), last: "
                        f"{exc}): {body.decode()}"
                    ) from exc
                time.sleep(self.retry_seconds * 2 ** (attempt - 1))


class WarehouseDbt(DbtCliResource):
    """dagster-dbt's dbt resource without two things it does before every dbt command, which
    cost 3.5 s of a 7.6 s warehouse step here (tests/test_dbt_invocation.py guards both hooks):

    - `dbt --version`, which asks the package index for the latest dbt release: a network call
      on every run (1.4 s; 4-5 s when the index is unreachable). The installed version is read
      from dbt's environment instead.
    - an in-process dbt adapter, built by parsing every dbt macro again (2 s), which serves
      only `fetch_row_counts()` / `fetch_column_metadata()`; the warehouse step calls neither.
      With dbt-core in its own environment it could not be built anyway: dagster-dbt would
      try, fail, and log a traceback on every run.
    """

    @cached_property
    def _cli_version(self) -> Version:
        installed = installed_dbt_version(self.dbt_executable)
        return Version(installed) if installed else super()._cli_version

    def _initialize_dbt_core_adapter(self, args):
        return None


class MissingEnvironment(Exception):
    pass


class UnsupportedLocation(MissingEnvironment):
    """A lake or warehouse location given as a URL: both are paths (local or mounted), and
    DuckDB's object-store extension (httpfs) is not bundled, so it cannot be loaded offline."""


class InvalidSetting(MissingEnvironment):
    pass


def allowed_lateness(environ: Mapping[str, str]) -> int:
    """PLATFORM_ALLOWED_LATENESS_DAYS: how many days late a delivery's rows may be (default 2),
    a whole number of days up to a year. A negative one would make the clean assets read no
    delivery; a huge one failed the code location with an OverflowError."""
    raw = environ.get("PLATFORM_ALLOWED_LATENESS_DAYS", "").strip()
    if not raw:
        return DEFAULT_LATENESS_DAYS
    if not re.fullmatch(r"[0-9]{1,4}", raw) or int(raw) > MAX_LATENESS_DAYS:
        raise InvalidSetting(
            f"PLATFORM_ALLOWED_LATENESS_DAYS={raw!r} is not a whole number of days "
            f"from 0 to {MAX_LATENESS_DAYS}"
        )
    return int(raw)


def platform_env(environ: Mapping[str, str]) -> str:
    env = environ.get("PLATFORM_ENV") or "dev"  # set but empty: the default too
    if env not in ENVIRONMENTS:
        raise MissingEnvironment(f"PLATFORM_ENV={env!r} is not one of {', '.join(ENVIRONMENTS)}")
    return env


def _check_prod(environ: Mapping[str, str]) -> None:
    """Refuse prod settings that would fail only later, with one line per variable."""
    missing = [name for name in PROD_VARIABLES if not environ.get(name, "").strip()]
    if missing:
        raise MissingEnvironment(
            "\n".join(f"prod needs environment variable {name}" for name in missing)
        )
    wrong = [
        f"{name}={environ[name]} {problem}"
        for name in PATH_LOCATIONS
        if (problem := _location_problem(environ[name]))
    ]
    if wrong:
        raise UnsupportedLocation("\n".join(wrong))
    webhook = environ["PLATFORM_ALERT_WEBHOOK_URL"]
    if not re.match(r"^https?://[^/\s]+", webhook):
        raise InvalidSetting(
            f"PLATFORM_ALERT_WEBHOOK_URL={webhook} is not an http(s) URL: alerts would fail "
            "only when one fires"
        )


def _location_problem(value: str) -> str | None:
    """Why a prod location cannot be used: a URL would name a local folder `s3:`, and a
    relative path another folder in dbt's steps (which run in dbt/) than in the lake's."""
    if URL.match(value):
        return "is a URL: give a local or mounted path (object stores are not supported yet)"
    if not Path(value).is_absolute():
        return "is a relative path: give an absolute one"
    return None


def build_resources(environ: Mapping[str, str]) -> dict[str, object]:
    """The resources of the environment that `environ` selects."""
    env = platform_env(environ)
    if env == "prod":
        _check_prod(environ)
        lake = LakeStorage(
            landing_root=dg.EnvVar("PLATFORM_LANDING_ROOT"),
            lake_root=dg.EnvVar("PLATFORM_LAKE_ROOT"),
        )
        warehouse: str | dg.EnvVar = dg.EnvVar("PLATFORM_WAREHOUSE_PATH")
        pii = PiiHasher(key=dg.EnvVar("PLATFORM_PII_HASH_KEY"))
        alerts = Alerts(webhook_url=dg.EnvVar("PLATFORM_ALERT_WEBHOOK_URL"))
    else:
        home = Path(environ.get("PLATFORM_HOME") or f".platform/{env}").resolve()
        lake = LakeStorage(landing_root=str(home / "landing"), lake_root=str(home / "lake"))
        warehouse = str(home / "warehouse.duckdb")
        pii = PiiHasher(key=environ.get("PLATFORM_PII_HASH_KEY") or DEV_PII_HASH_KEY)
        alerts = Alerts(jsonl_path=str(home / "alerts.jsonl"))
    return {
        "alerts": alerts,
        "lake": lake,
        "pii": pii,
        "duckdb": DuckDBResource(database=warehouse),
        "dbt": WarehouseDbt(project_dir=dbt_project, target=env, dbt_executable=dbt_executable()),
    }

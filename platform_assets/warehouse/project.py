"""The dbt project and the dbt that runs it. `make install` builds the manifest (`dbt parse`)
that `@dbt_assets` reads at load time."""

import shutil
import sys
from importlib import metadata
from pathlib import Path

from dagster_dbt import DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


# `make install` puts dbt in an environment of its own (pyproject.toml, the `dbt` extra)
DBT_ENVIRONMENT = DBT_PROJECT_DIR.parent / ".venv-dbt"


def dbt_executable() -> str:
    """dbt from its own environment, else beside this interpreter (dbt installed with the
    platform), else on PATH; found without an activated venv."""
    for candidate in (DBT_ENVIRONMENT / "bin" / "dbt", Path(sys.executable).with_name("dbt")):
        if candidate.exists():
            return str(candidate)
    return shutil.which("dbt") or "dbt"


def installed_dbt_version(executable: str, package: str = "dbt-core") -> str | None:
    """The version of `package` (dbt-core) in the environment that the dbt `executable` belongs
    to, from its package metadata; None when no environment is found beside it."""
    environment = Path(shutil.which(executable) or executable).absolute().parent.parent
    site_packages = [str(p) for p in environment.glob("lib/python*/site-packages")]
    found = metadata.distributions(name=package, path=site_packages) if site_packages else []
    return next((d.version for d in found), None)

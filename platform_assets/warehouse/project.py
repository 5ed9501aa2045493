"""The dbt project, and nothing else: `dagster-dbt project prepare-and-package` imports this
module to build the manifest before any `@dbt_assets` can load."""

import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def dbt_executable() -> str:
    """dbt next to this interpreter, so it is found without an activated venv."""
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")

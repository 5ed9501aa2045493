"""How the code location loads: every process that runs or serves the platform (a run, the
webserver, the daemon) pays this, so it stays small (README, Performance)."""

import os
import subprocess
import sys


def load_code_location(then: str) -> str:
    """Load the code location as Dagster does, in a fresh interpreter; what `then` prints."""
    script = f"import gc, sys\nfrom platform_assets.definitions import defs\n{then}"
    loaded = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PLATFORM_ENV": "test"},
        capture_output=True,
        text=True,
        check=True,
    )
    return loaded.stdout.strip()


def test_the_code_location_loads_without_importing_dbt_core():
    """dagster-dbt runs dbt as a command; importing dbt-core would add 1.1-1.4 s."""
    # (`dbt` alone may be this repo's dbt/ folder, seen as a namespace package from its root)
    dbt_modules = "sorted(m for m in sys.modules if m.startswith(('dbt.', 'dbt_')))"
    assert load_code_location(f"defs()\nprint({dbt_modules})") == "[]"


def test_what_the_code_location_loaded_is_left_out_of_garbage_collection():
    """Python would otherwise walk these objects in every full collection and at exit (1 s)."""
    counts = "before = gc.get_freeze_count()\ndefs()\nprint(before, gc.get_freeze_count())"
    before, after = map(int, load_code_location(counts).split())
    assert after > before + 100_000

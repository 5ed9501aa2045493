"""How the code location loads: every process that runs or serves the platform (a run, the
webserver, the daemon) pays this, so it stays small (README, Performance)."""

import os
import platform
import subprocess
import sys

import pytest


def run_after_loading(then: str, environ: dict | None = None) -> subprocess.CompletedProcess:
    """Run `then` in a fresh interpreter that imported the code location as Dagster does
    (`defs` is there to call), with `environ` (default: this one's)."""
    script = f"import gc, sys\nfrom platform_assets.definitions import defs\n{then}"
    return subprocess.run(
        [sys.executable, "-W", "ignore", "-c", script],
        env={**(os.environ if environ is None else environ), "PLATFORM_ENV": "test"},
        capture_output=True,
        text=True,
        check=True,
    )


def load_code_location(then: str) -> str:
    """Load the code location as Dagster does, in a fresh interpreter; what `then` prints."""
    return run_after_loading(then).stdout.strip()


def test_the_code_location_loads_without_importing_dbt_core():
    """dagster-dbt runs dbt as a command; importing dbt-core would add 1.1-1.4 s."""
    # (`dbt` alone may be this repo's dbt/ folder, seen as a namespace package from its root)
    dbt_modules = "sorted(m for m in sys.modules if m.startswith(('dbt.', 'dbt_')))"
    assert load_code_location(f"defs()\nprint({dbt_modules})") == "[]"


def test_the_code_location_loads_without_importing_pandas():
    """pandera imports pandas and its pandas engine wherever pandas is installed (0.9 s): the
    platform's environment holds none, the benchmark's pandas baseline has its own."""
    pandas_modules = "sorted(m for m in sys.modules if m.split('.')[0] == 'pandas')"
    assert load_code_location(f"defs()\nprint({pandas_modules})") == "[]"


def test_what_the_code_location_loaded_is_left_out_of_garbage_collection():
    """Python would otherwise walk these objects in every full collection and at exit (1 s)."""
    counts = "before = gc.get_freeze_count()\ndefs()\nprint(before, gc.get_freeze_count())"
    before, after = map(int, load_code_location(counts).split())
    assert after > before + 100_000


def test_a_process_that_loaded_the_code_location_exits_without_leak_reports():
    """Frozen, DuckDB's type constants were reported as leaked at exit: 48 lines on stderr
    after every command (`nanobind: leaked 27 instances!`)."""
    proc = run_after_loading("defs()\nimport duckdb\nduckdb.sql('SELECT 1').fetchall()")
    assert "leaked" not in proc.stderr, proc.stderr[-2000:]


ARENAS_AFTER_THREADS = """
import ctypes, threading
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]

def arenas():
    sys.stderr.flush()
    libc.malloc_stats()  # one "Arena N:" block per arena, on stderr
    sys.stderr.write("--\\n")
    sys.stderr.flush()

def allocate(barrier):
    libc.free(libc.malloc(4096))
    barrier.wait()  # all alive at once: none can take over an arena another has left

defs()
arenas()
barrier = threading.Barrier(8)
threads = [threading.Thread(target=allocate, args=(barrier,)) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
arenas()
"""


def arenas_before_and_after_threads(malloc_arena_max: str | None = None) -> tuple[int, int]:
    """Malloc arenas in a process that loaded the code location, then ran 8 threads that
    allocate (`MALLOC_ARENA_MAX` as given, or unset)."""
    environ = {
        k: v for k, v in os.environ.items() if k not in ("MALLOC_ARENA_MAX", "GLIBC_TUNABLES")
    }
    if malloc_arena_max is not None:
        environ["MALLOC_ARENA_MAX"] = malloc_arena_max
    before, after, _ = run_after_loading(ARENAS_AFTER_THREADS, environ).stderr.split("--\n")
    return before.count("Arena "), after.count("Arena ")


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc arenas are glibc's")
def test_a_run_process_allocates_from_a_capped_number_of_malloc_arenas():
    """Memory freed in a thread's own arena stays there: capped, the steps after the lake start
    from 491 MB instead of 768 MB on a 10M-event day (README, Performance). Arenas made while
    the modules were imported stay; new threads make no more."""
    before, after = arenas_before_and_after_threads()
    assert after <= max(before, 2)
    # the measure itself: where an operator allows more, each thread gets an arena of its own
    before, after = arenas_before_and_after_threads("64")
    assert after >= before + 8

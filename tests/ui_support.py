"""Helpers of the browser tests: build a small platform, run the real `dagster dev` on it, and
drive Debian's Chromium with Playwright.

Run by hand (`python tests/ui_support.py DIR`) it builds the data under DIR and serves the UI
until interrupted, which is how the selectors of `test_ui.py` were found.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1440, "height": 900}

# The data behind the UI: 3 days of deliveries with faults, brought through every stage by one
# range run that starts 1 day early (late events).
SIM_START, SIM_DAYS, SIM_EVENTS, SIM_SEED = date(2026, 3, 1), 3, 1000, 3
RANGE_START, RANGE_END = date(2026, 2, 28), date(2026, 3, 3)

SERVER_START_TIMEOUT = 150  # s; `dagster dev` needs 40-55 s for its first page here
SERVER_STOP_TIMEOUT = 30  # s


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_platform(home: Path, dagster_home: Path) -> dict[str, str]:
    """Simulate the landing zone and run `daily_pipeline` once over the range, in this process,
    recording the run in the instance under `dagster_home`. Returns the environment the UI
    needs to load the same platform."""
    import dagster as dg

    from platform_assets.definitions import build_definitions
    from platform_assets.simulate import simulate

    dagster_home.mkdir(parents=True, exist_ok=True)
    link = dagster_home / "dagster.yaml"
    if not link.exists():
        link.symlink_to(REPO / "dagster.yaml")
    environ = {"PLATFORM_ENV": "test", "PLATFORM_HOME": str(home)}
    simulate(home / "landing", SIM_START, SIM_DAYS, SIM_EVENTS, seed=SIM_SEED, faults=True)
    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    try:
        with dg.DagsterInstance.get() as instance:
            result = (
                build_definitions(environ)
                .resolve_job_def("daily_pipeline")
                .execute_in_process(
                    instance=instance,
                    tags={
                        "dagster/asset_partition_range_start": RANGE_START.isoformat(),
                        "dagster/asset_partition_range_end": RANGE_END.isoformat(),
                    },
                )
            )
            if not result.success:
                raise RuntimeError("daily_pipeline failed while building the UI test data")
    finally:
        if previous is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = previous
    return {**environ, "DAGSTER_HOME": str(dagster_home)}


def _default_signals() -> None:
    # `dagster dev` started in the background inherits "ignore SIGINT" and copies it onto
    # SIGTERM; restore the defaults so that it can be stopped.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


class DagsterDev:
    """`dagster dev -w workspace.yaml` (webserver + daemon) on 127.0.0.1 and a free port."""

    def __init__(self, environ: dict[str, str], log: Path, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        bin_dir = str(Path(sys.executable).parent)
        self.env = {
            **os.environ,
            **environ,
            "DO_NOT_TRACK": "1",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        }
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        cmd = [
            str(Path(sys.executable).parent / "dagster"),
            "dev",
            "-w",
            "workspace.yaml",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                cmd,
                cwd=REPO,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_default_signals,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = SERVER_START_TIMEOUT) -> float:
        """Poll /server_info until it answers; returns the seconds it took."""
        started = time.monotonic()
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"dagster dev exited with {self.proc.returncode}: {self.tail()}")
            try:
                with urllib.request.urlopen(self.url + "/server_info", timeout=5) as r:
                    if r.status == 200:
                        return time.monotonic() - started
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(1)
        raise TimeoutError(f"dagster dev did not answer within {timeout} s: {self.tail()}")

    def graphql(self, query: str, variables: dict | None = None, timeout: float = 30) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            self.url + "/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as r:
            answer = json.load(r)
        if answer.get("errors"):
            raise RuntimeError(f"GraphQL errors: {answer['errors']}")
        return answer["data"]

    def wait_code_location(self, timeout: float = 60) -> None:
        """Wait until the code location is loaded (the assets are known to the webserver)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                nodes = self.graphql("{ assetNodes { assetKey { path } } }")["assetNodes"]
                if nodes:
                    return
            except (OSError, RuntimeError) as e:
                last = e
            time.sleep(1)
        raise TimeoutError(f"code location not loaded within {timeout} s ({last})")

    def stop(self) -> None:
        """SIGINT to the whole process group (webserver, daemon, code servers, runs), wait
        (bounded), then SIGKILL whatever is left."""
        if self.proc is None:
            return
        pgid = self.proc.pid  # start_new_session: the group id is the leader's pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=SERVER_STOP_TIMEOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _group_alive(pgid):
            time.sleep(0.5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


if __name__ == "__main__":
    base = Path(sys.argv[1]).resolve()
    environ = build_platform(base / "platform", base / "dagster_home")
    server = DagsterDev(
        environ, base / "dagster_dev.log", port=int(sys.argv[2]) if len(sys.argv) > 2 else None
    )
    server.start()
    try:
        print("ready after", round(server.wait_ready(), 1), "s at", server.url, flush=True)
        server.graphql("mutation { setNuxSeen }")
        server.proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()

"""The Dagster UI in a real browser: Playwright drives Debian's Chromium against the real
`dagster dev` (webserver + daemon) serving a small platform built by one `daily_pipeline` run.

Skipped when Chromium is missing (`CHROMIUM_PATH`, default /usr/bin/chromium). Screenshots of
the lineage graph, an asset page and a run page go to `UI_SCREENSHOTS_DIR` (default: a pytest
temporary folder); `make screenshots` refreshes the ones in docs/screenshots.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from urllib.parse import quote

import dagster as dg
import pytest
from playwright.sync_api import Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from ui_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    VIEWPORT,
    DagsterDev,
    build_platform,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"UI tests skipped because Chromium is not installed ({CHROMIUM} not found; "
        "apt-get install chromium, or point CHROMIUM_PATH at a Chromium binary)",
    ),
]

GROUPS = ["sources", "lake", "warehouse", "ml_features"]
# landing -> lake -> dbt -> features, one path through the graph
CHAIN = [
    "app_events_deliveries",
    "raw_app_events",
    "clean_app_events",
    "stg_app_events",
    "fct_events",
    "user_features",
]
PARTITION = "2026-03-02"
RUN_TIMEOUT_MS = 150_000  # queued -> started -> one step, on 2 cores
UI_TIMEOUT_MS = 30_000
MAX_SCREENSHOT_HEIGHT = 2400
# Launching one clean asset fails while the reconciliation checks of all clean assets are one
# multi-asset check without can_subset (see test_materialize_a_partition_by_clicking).
KNOWN_SUBSET_BUG = "the AssetsDefinition 'lake_reconciliation' contains asset keys []"

expect.set_options(timeout=UI_TIMEOUT_MS)


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    """Landing zone with faults, run once through every stage, in a fresh Dagster instance."""
    base = tmp_path_factory.mktemp("ui")
    environ = build_platform(base / "platform", base / "dagster_home")
    return {"base": base, "environ": environ, "dagster_home": base / "dagster_home"}


@pytest.fixture(scope="module")
def server(platform):
    """`dagster dev` on a free port, started once for the module and always stopped."""
    dev = DagsterDev(platform["environ"], platform["base"] / "dagster_dev.log")
    dev.start()
    try:
        dev.wait_ready()
        dev.wait_code_location()
        # Never click a dialog away: mark the "Join the Dagster community" dialog as seen.
        dev.graphql("mutation { setNuxSeen }")
        yield dev
    finally:
        dev.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport=VIEWPORT, base_url=server.url)
    context.set_default_timeout(UI_TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = os.environ.get("UI_SCREENSHOTS_DIR")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def screenshot(page: Page, path: Path) -> None:
    """A full-page screenshot. Dagster's pages scroll inside panels, not the document, so grow
    the viewport by what the tallest panel hides (bounded), shoot, and restore it."""
    hidden: int = page.evaluate(
        """() => Math.max(0, ...Array.from(document.querySelectorAll('*'))
            .filter(e => /(auto|scroll)/.test(getComputedStyle(e).overflowY) && e.clientHeight)
            .map(e => e.scrollHeight - e.clientHeight))"""
    )
    if hidden < 50:  # a few pixels of a panel's border: not worth a taller picture
        page.screenshot(path=path, full_page=True)
        return
    height = min(VIEWPORT["height"] + hidden, MAX_SCREENSHOT_HEIGHT)
    page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
    page.wait_for_timeout(500)  # let the panels re-layout
    page.screenshot(path=path, full_page=True)
    page.set_viewport_size(VIEWPORT)


def graph_label(page: Page, name: str):
    """The label of an asset node in the lineage graph. Zoomed out, Dagster draws compact
    nodes whose long names are truncated in the middle ("app_ev…_deliveries")."""
    pattern = rf"^(?:{re.escape(name)}|{re.escape(name[:3])}[^…]*…[^…]*{re.escape(name[-3:])})$"
    return page.locator("foreignObject").get_by_text(re.compile(pattern)).first


def assert_node_drawn(page: Page, name: str) -> None:
    label = graph_label(page, name)
    expect(label).to_be_visible()
    if label.inner_text() != name:
        # a truncated label names its asset in full in a tooltip
        label.hover()
        expect(page.get_by_role("tooltip", name=name)).to_be_visible()


def expanded(groups: list[str]) -> str:
    return "expanded=" + quote(",".join(f"global@global:{g}" for g in groups), safe="")


def test_lineage_draws_groups_and_the_chain_from_landing_to_features(page, shots):
    page.goto("/asset-groups")
    expect(page.get_by_text("Global asset lineage")).to_be_visible()
    for group in GROUPS:  # 27 assets: the graph starts with one node per group
        expect(page.locator("foreignObject").get_by_text(group, exact=True).first).to_be_visible()

    # Every group expanded, zoomed out one step so that all of it fits: the overview picture.
    page.goto(f"/asset-groups?{expanded(GROUPS)}")
    expect(graph_label(page, "raw_app_events")).to_be_visible()
    page.get_by_role("button").filter(has=page.get_by_label("zoom_out")).click()
    page.wait_for_timeout(1000)  # zoom animation
    screenshot(page, shots / "lineage.png")
    for name in ("app_events_deliveries", "clean_orders", "fct_daily_revenue", "training_set"):
        assert_node_drawn(page, name)

    # The assets on a path from the app-events delivery to the features: exactly the chain.
    selection = quote('key:"app_events_deliveries"+ and +key:"user_features"', safe="")
    page.goto(f"/asset-groups~{selection}/?{expanded(GROUPS)}")
    for name in CHAIN:
        assert_node_drawn(page, name)
    for group in GROUPS:  # each stage of the chain sits in its group's box
        expect(page.locator("foreignObject").get_by_text(group, exact=True).first).to_be_visible()
    # all of the chain but the deliveries (observed, not materialized)
    materializable = len(CHAIN) - 1
    expect(
        page.get_by_role("button", name=re.compile(rf"Materialize all \({materializable}\)"))
    ).to_be_visible()


def latest_materialization(dagster_home: Path, asset: str, partition: str):
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[partition]),
            limit=1,
        ).records
    assert records, f"no materialization of {asset} {partition} in the instance"
    return records[0]


@pytest.mark.parametrize(
    ("asset", "metadata_keys"),
    [
        ("raw_orders", ["dagster/row_count", "files"]),
        ("clean_orders", ["dagster/row_count", "rows_received", "rows_quarantined"]),
    ],
)
def test_materialize_a_partition_by_clicking(page, platform, shots, asset, metadata_keys):
    page.goto(f"/assets/{asset}")
    page.get_by_role("button", name="Materialize…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text(f"Launch runs to materialize {asset}")).to_be_visible()
    # Wait for the partitions to load (the range under the picker shows dates); by default the
    # picker offers the last 90 days only, and the demo data may be older than that.
    expect(dialog.get_by_text(re.compile(r"^\d{4}-\d{2}-\d{2}$")).first).to_be_visible()
    show_all = dialog.get_by_role("button", name="Show all partitions")
    if show_all.is_visible():
        show_all.click()
        expect(show_all).to_have_count(0)
    picker = dialog.get_by_role("textbox").first
    picker.fill(PARTITION)
    picker.press("Enter")
    expect(dialog.get_by_text("1 partition", exact=True)).to_be_visible()
    dialog.get_by_role("button", name="Launch 1 run").click()

    launched = page.get_by_text(re.compile(r"^Launched run [0-9a-f]{8}$"))
    error = page.get_by_role("dialog").filter(has=page.get_by_role("button", name="Copy"))
    expect(launched.or_(error).first).to_be_visible()
    if error.count():
        message = error.first.inner_text()
        if KNOWN_SUBSET_BUG in message:
            pytest.xfail(
                f"known bug: the UI cannot launch {asset} alone because the multi-asset check "
                "'lake_reconciliation' (platform_assets/lake/reconcile.py) cannot be subset"
            )
        pytest.fail(f"the UI refused to launch {asset}:\n{message}")
    view = page.get_by_role("link", name="View", exact=True)
    run_id = view.get_attribute("href").rsplit("/", 1)[-1]
    view.click()
    page.mouse.move(5, VIEWPORT["height"] // 2)  # off the toast: hovering keeps it open

    expect(page).to_have_url(re.compile(rf"/runs/{run_id}"))
    status = page.get_by_text(re.compile(r"^(Success|Failure|Canceled)$")).first
    expect(status).to_be_visible(timeout=RUN_TIMEOUT_MS)
    assert status.inner_text() == "Success", f"run {run_id} of {asset} ended {status.inner_text()}"
    expect(page.get_by_text(f"partition: {PARTITION}")).to_be_visible()
    with contextlib.suppress(PlaywrightTimeoutError):  # the "Launched run" toast fades out
        launched.wait_for(state="hidden", timeout=15_000)
    screenshot(page, shots / "run.png")  # the clean run, when it runs, replaces the raw one

    record = latest_materialization(platform["dagster_home"], asset, PARTITION)
    assert record.run_id == run_id
    stored = {k: v.value for k, v in record.asset_materialization.metadata.items()}

    page.goto(f"/assets/{asset}?view=partitions&partition={PARTITION}")
    expect(page.get_by_text(run_id[:8], exact=True)).to_be_visible()
    for key in metadata_keys:
        row = page.get_by_role("row").filter(has=page.get_by_role("cell", name=key, exact=True))
        expect(row.first.get_by_role("cell").nth(1)).to_have_text(str(stored[key]))

    # The asset's overview: status, description, columns and the latest metadata.
    page.goto(f"/assets/{asset}")
    expect(page.get_by_text("Latest materialization")).to_be_visible()
    expect(page.get_by_text("Row count", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name=metadata_keys[-1], exact=True).first).to_be_visible()
    screenshot(page, shots / "asset.png")


@pytest.mark.parametrize(
    ("asset", "checks"),
    [
        ("clean_app_events", ["pandera_contract", "nothing_lost"]),
        ("fct_events", ["unique_fct_events_event_id", "non_negative_fct_events_price"]),
    ],
)
def test_checks_are_listed_with_their_last_result(page, asset, checks):
    page.goto(f"/assets/{asset}?view=checks")
    expect(page.get_by_text(re.compile(r"^Checks \(\d+\)$"))).to_be_visible()
    for check in checks:
        name = page.get_by_title(check, exact=True)
        expect(name).to_be_visible()
        # the list row: the check's name, then the status of its latest execution
        expect(name.locator("xpath=..")).to_contain_text("Succeeded")
        name.click()
        expect(page.get_by_text("Latest execution")).to_be_visible()
        expect(page.get_by_text("Evaluation result")).to_be_visible()
        expect(page.get_by_text("Passed", exact=True)).to_be_visible()

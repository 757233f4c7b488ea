"""The Dagster UI in headless Chromium: the asset graph, the tenant partitions, a finished run.

Drives Debian's /usr/bin/chromium through Playwright (`make test` installs it when missing; no
browser is ever downloaded). With OKTUALLY_UPDATE_SCREENSHOTS=1 it refreshes the README's picture
of the asset graph, docs/img/asset-graph.png.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from oktually_pipeline_tests.e2e.conftest import (
    REPO_ROOT,
    TENANT,
    FinishedBackfill,
    Stack,
)

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
]
SCREENSHOT = REPO_ROOT / "docs" / "img" / "asset-graph.png"
TIMEOUT_MS = 90_000


@pytest.fixture(autouse=True)
def _screenshot_on_failure(request, tmp_path_factory):
    yield
    report = getattr(request.node, "rep_call", None)
    page = request.node.funcargs.get("page")
    if page is not None and report is not None and report.failed:
        path = tmp_path_factory.mktemp("browser") / f"{request.node.name}.png"
        page.screenshot(path=str(path))
        print(f"screenshot of the failure: {path}")


@pytest.fixture(scope="module")
def page():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, timeout=TIMEOUT_MS)
        try:
            context = browser.new_context(viewport={"width": 1800, "height": 1200})
            # The UI greets a first visitor on localhost with a newsletter dialog; mark it seen.
            context.add_init_script("window.localStorage.setItem('communityNux', JSON.stringify('1'))")
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            yield page
        finally:
            browser.close()


def _open(page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")


def _in_view(page, name: str) -> bool:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    label = page.get_by_text(name, exact=True)
    if not label.count():
        return False
    try:
        box = label.first.bounding_box(timeout=2_000)
    except PlaywrightTimeout:  # re-rendered while being measured
        return False
    size = page.viewport_size
    return bool(box) and box["x"] >= 0 and box["y"] >= 0 and \
        box["x"] + box["width"] <= size["width"] and box["y"] + box["height"] <= size["height"]


def test_asset_graph_shows_the_groups_and_the_assets(page, dagster_stack: Stack, finished_backfill: FinishedBackfill,
                                                     tmp_path: Path):
    page.set_viewport_size({"width": 1600, "height": 1000})
    _open(page, f"{dagster_stack.url}/asset-groups")
    groups = ("okta_events", "okta_state", "models", "extracts")
    for group in groups:
        page.get_by_text(group, exact=True).first.wait_for(state="visible")
    page.wait_for_timeout(1000)  # the graph's edges are drawn after its nodes
    # The collapsed graph (group to group) is the readable one: the README shows it.
    shot = SCREENSHOT if os.environ.get("OKTUALLY_UPDATE_SCREENSHOTS") else tmp_path / SCREENSHOT.name
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000

    # Tall enough that the expanded okta_state group (one node per state table) fits at a zoom that
    # still draws labels.
    page.set_viewport_size({"width": 2400, "height": 2800})
    page.keyboard.press("Alt+e")  # the graph's "Expand all groups"
    names = ("okta_log_events", "okta_apps", "okta_users", "okta_groups", "tenant_admins", "parquet_extract")
    # The graph renders only the nodes inside the viewport, and no labels at all once zoomed out
    # too far: zoom out one step at a time until every name is in view.
    zoom_out = page.locator("button:has([aria-label='zoom_out'])")
    for _ in range(12):
        if all(_in_view(page, name) for name in names):
            break
        zoom_out.click()
        page.wait_for_timeout(300)
    missing = [name for name in names if not _in_view(page, name)]
    assert not missing, f"not in the expanded asset graph's view: {missing}"
    page.set_viewport_size({"width": 1800, "height": 1200})


def test_the_tenant_partitions_are_visible(page, dagster_stack: Stack, finished_backfill: FinishedBackfill):
    _open(page, f"{dagster_stack.url}/assets/okta_log_events?view=partitions")
    page.get_by_placeholder("Filter by tenant", exact=False).wait_for(state="visible")
    page.get_by_text(TENANT, exact=True).first.wait_for(state="visible")
    materialized = page.get_by_text(re.compile(r"^Materialized \((\d+)\)$")).first
    materialized.wait_for(state="visible")
    assert int(re.search(r"\d+", materialized.inner_text()).group()) >= len(finished_backfill.days)


def test_a_finished_run_is_shown_as_successful(page, dagster_stack: Stack, finished_backfill: FinishedBackfill):
    run_id = finished_backfill.runs[0].run_id
    _open(page, f"{dagster_stack.url}/runs/{run_id}")
    page.get_by_text("Success", exact=True).first.wait_for(state="visible")
    page.get_by_text("okta_log_events", exact=True).first.wait_for(state="visible")

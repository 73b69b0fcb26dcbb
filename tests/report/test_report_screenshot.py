"""The HTML report in a real headless browser (Debian's chromium driven by Playwright's Python package): the page
renders, and a screenshot of it is kept in the test's folder (``report.png``) for a reader to look at."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import SAMPLE, bench, needs_weights

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def _browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


@pytest.mark.slow
@needs_weights
def test_report_page_renders_in_a_browser_and_is_screenshotted(tmp_path: Path) -> None:
    browser = _browser()
    if browser is None:
        pytest.skip(f"no browser installed ({', '.join(BROWSERS)}): apt-get install chromium")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")
    runs = tmp_path / "runs"
    for run_id, seed in (("a", "0"), ("b", "1")):
        args = ("--model", "Dlib", "--backend", "opencv", "--metric", "cosine", "--n", "60", "--seed", seed)
        code, text = bench("accuracy", "--i", str(SAMPLE), *args, "--o", str(runs), "--run-id", run_id)
        assert code == 0, text
    page_file = tmp_path / "report.html"
    code, text = bench("report", str(runs / "a"), str(runs / "b"), "--o", str(page_file))
    assert code == 0, text
    shot = tmp_path / "report.png"
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=browser, args=["--no-sandbox"])
        page = chromium.new_page(viewport={"width": 1280, "height": 900})
        page.goto(page_file.as_uri())
        assert page.title() == "facebench report"
        assert page.locator("h2", has_text="across runs").count() == 1
        broken = page.evaluate("[...document.images].filter(i => !i.complete || i.naturalWidth === 0).length")
        assert broken == 0 and page.evaluate("document.images.length") >= 2
        page.screenshot(path=str(shot), full_page=True)
        chromium.close()
    assert shot.stat().st_size > 10_000

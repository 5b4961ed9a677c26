"""Headless Chromium for the browser tests (the HTML reports and the explorer): where it is,
the mark that skips a module without it, and one driver per module."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver


def _find(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name) or (name if Path(name).is_file() else None)
        if found:
            return found
    return None


CHROMIUM = _find("chromium", "chromium-browser", "google-chrome", "/usr/lib/chromium/chromium")
CHROMEDRIVER = _find("chromedriver", "/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="no Chromium/chromedriver installed (apt-get install chromium chromium-driver)")


def headless_chromium() -> Iterator[WebDriver]:
    """A headless Chromium at 1400x1000, quit afterwards (the body of a module fixture)."""
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM or ""
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        yield driver
    finally:
        driver.quit()

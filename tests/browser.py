"""Headless Chromium (Debian's package) driven by Playwright, for tests of the HTML report."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
# A closed network: no background connections, no sandbox (tests run as root in CI).
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium_page(width: int = 1500, height: int = 950) -> Iterator[Page]:
    """A page in a real headless Chromium; fails clearly when Chromium is not installed."""
    if not shutil.which(CHROMIUM):
        raise RuntimeError(f"{CHROMIUM} not found: run `make system-deps` (Debian's chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()

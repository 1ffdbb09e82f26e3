"""Make docs/report_tables.png and docs/report_figures.png: the HTML report in headless Chromium.

    .venv/bin/snakemake --configfile config/demo.yaml --report results/demo/report.html
    .venv/bin/python docs/scripts/report_screenshot.py [results/demo/report.html]

Opens the report in Debian's Chromium (through Playwright, as the test does), shows Table I and
Figure 3, and saves a screenshot of each.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
from browser import chromium_page  # noqa: E402


def main() -> None:
    report = Path(sys.argv[1] if len(sys.argv) > 1 else REPO / "results/demo/report.html")
    with chromium_page(width=1400, height=900) as page:
        page.goto(report.resolve().as_uri())
        page.get_by_text("Tables", exact=True).click()
        page.locator("tr", has_text="Table I:").locator("a[iconname=eye]").click()
        page.frame_locator("iframe").locator("tbody tr").first.wait_for()
        page.screenshot(path=REPO / "docs/report_tables.png")
        page.get_by_text("Results", exact=True).click()
        page.get_by_text("Figures", exact=True).click()
        page.locator("tr", has_text="Figure 3:").locator("a[iconname=eye]").click()
        page.wait_for_function(
            "() => [...document.images].some(i => i.src.includes('fig3') && i.naturalWidth)"
        )
        page.screenshot(path=REPO / "docs/report_figures.png")


if __name__ == "__main__":
    main()

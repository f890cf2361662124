"""Take the README's screenshot, docs/widget.png, from a real render in headless Chromium.

Usage: ``.venv/bin/python docs/shoot.py`` (needs the demo model, the built bundle and
/usr/bin/chromium; ``make setup chromium`` installs all three). SmolLM2 runs on the README's
sentence, the widget is written with ``to_html`` (the same front end, offline), Chromium opens
the page and the widget's element is captured once its canvas is painted.
"""

from __future__ import annotations

import pathlib
import sys
import tempfile

from playwright.sync_api import sync_playwright

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout: the e2e helpers hold the browser flags

import bos_widget  # noqa: E402
from tests.e2e.jupyter import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

OUT = REPO / "docs" / "widget.png"
TEXT = "The old lighthouse keeper climbed the stairs every evening to light the lamp."
LAYER = 3  # an early layer where the sink already dominates but other arcs remain


def main() -> int:
    w = bos_widget.show(TEXT, model="smollm2", layer=LAYER)
    with tempfile.TemporaryDirectory() as tmp:
        page_path = w.to_html(pathlib.Path(tmp) / "widget.html")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1100, "height": 1000}, device_scale_factor=1)
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(page_path.as_uri())
            root = page.get_by_test_id("bosw-root")
            root.wait_for(timeout=60_000)
            page.wait_for_function(
                "() => (document.querySelector('[data-testid=bosw-root]')?.dataset.painted"
                f" ?? '').startsWith('{LAYER}|-1|raw')",
                timeout=60_000,
            )
            page.wait_for_timeout(300)
            root.screenshot(path=str(OUT))
            browser.close()
    if errors:
        print("page errors:", *errors, sep="\n  ")
        return 1
    print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.0f} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

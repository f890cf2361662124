"""Take the README's screenshots (docs/widget.png, docs/generation.png) from real renders in
headless Chromium.

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

DOCS = REPO / "docs"
TEXT = "The old lighthouse keeper climbed the stairs every evening to light the lamp."
LAYER = 3  # an early layer where the sink already dominates but other arcs remain
PROMPT = "The old lighthouse keeper climbed the stairs every evening to"


def _widgets() -> dict[str, bos_widget.AttentionWidget]:
    gen = bos_widget.show(PROMPT, model="smollm2", max_new_tokens=8, layer=LAYER, progress=False)
    gen.step = 3  # the query row of generation step 3, its arcs and readout
    return {
        "widget.png": bos_widget.show(TEXT, model="smollm2", layer=LAYER, progress=False),
        "generation.png": gen,
    }


def shoot(page, w: bos_widget.AttentionWidget, out: pathlib.Path, tmp: str) -> None:
    page_path = w.to_html(pathlib.Path(tmp) / f"{out.stem}.html")
    page.goto(page_path.as_uri())
    root = page.get_by_test_id("bosw-root")
    root.wait_for(timeout=60_000)
    page.wait_for_function(
        "([key]) => (document.querySelector('[data-testid=bosw-root]')?.dataset.painted"
        " ?? '').startsWith(key)",
        arg=[f"{w.layer}|{w.head}|raw"],
        timeout=60_000,
    )
    page.wait_for_timeout(300)
    root.screenshot(path=str(out))
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} kB)")


def main() -> int:
    errors: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 1000}, device_scale_factor=1)
        page.on("pageerror", lambda e: errors.append(str(e)))
        for name, w in _widgets().items():
            shoot(page, w, DOCS / name, tmp)
        browser.close()
    if errors:
        print("page errors:", *errors, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Dev harness screenshots: serve the repo root, open the harness, save PNGs to js/dev/shots/.

Usage: .venv/bin/python js/dev/shoot.py [name=query ...]   (server must run on :8765)
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
OUT = Path(__file__).parent / "shots"
OUT.mkdir(exist_ok=True)
shots = dict(a.split("=", 1) for a in sys.argv[1:]) or {
    "light_T24_arcs": "T=24",
    "dark_T24_arcs": "T=24&theme=dark",
    "light_T600_matrix": "T=600",
    "dark_T600_matrix": "T=600&theme=dark",
}
with sync_playwright() as p:
    b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
    page = b.new_page(viewport={"width": 1020, "height": 900}, device_scale_factor=1)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: errors.append("DIALOG " + d.message))
    for name, q in shots.items():
        page.goto(f"http://127.0.0.1:8765/js/dev/harness.html?{q}")
        page.wait_for_function("window.bosw && window.bosw.ready")
        page.wait_for_timeout(600)
        page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
        print(name, "paintMs", page.evaluate("document.querySelector('.bosw').dataset.paintMs"))
    print("errors:", errors)
    b.close()

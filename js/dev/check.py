"""Dev harness checks in a real browser: interactions, trait sync, de-dup, cleanup, timing.

Usage: .venv/bin/python js/dev/check.py   (serve the repo root on 127.0.0.1:8765 first)
"""

from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
URL = "http://127.0.0.1:8765/js/dev/harness.html?"
OUT = Path(__file__).parent / "shots"
OUT.mkdir(exist_ok=True)
M = "window.bosw.models[0]"

with sync_playwright() as p:
    b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
    page = b.new_page(viewport={"width": 1020, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: (errors.append("DIALOG " + d.message), d.dismiss()))

    page.goto(URL + "T=24&views=2")
    page.wait_for_function("window.bosw && window.bosw.ready")
    page.wait_for_timeout(400)
    root = page.get_by_test_id("bosw-root")
    assert root.count() == 2, "two views of one model"
    hostile = page.locator("[data-testid=bosw-token][data-index='5']").first
    assert hostile.inner_text() == "<img src=x onerror=alert(1)>", hostile.inner_text()
    assert page.locator("img").count() == 0, "token text became markup"
    assert page.locator("[data-testid=bosw-cell]").count() == 2 * 30 * 9

    # Python sets a trait: both views follow
    page.evaluate(f"{M}.set('layer', 12)")
    page.wait_for_timeout(200)
    vals = page.locator("[data-testid=bosw-layer]").evaluate_all("els => els.map(e => e.value)")
    assert vals == ["12", "12"], vals
    assert "12/29" in page.get_by_test_id("bosw-header").first.inner_text()

    # slider drives the model
    page.get_by_test_id("bosw-head").first.focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate(f"{M}.get('head')") == 0
    page.get_by_test_id("bosw-threshold").first.fill("0.5")
    assert page.evaluate(f"{M}.get('threshold')") == 0.5

    # de-dup: each view requests each key at most once
    sent = page.evaluate(f"{M}.sent.map(s => s.layer + '|' + s.head + '|' + s.weighting)")
    assert len(sent) <= 2 * len(set(sent)), sent

    # grid click sets layer and head
    page.locator("[data-testid=bosw-cell][data-layer='7'][data-head='3']").first.click()
    assert page.evaluate(f"[{M}.get('layer'), {M}.get('head')]") == [7, 3]
    page.wait_for_timeout(200)
    cur = page.locator(".bosw-cell.current").first
    assert cur.get_attribute("data-layer") == "7"

    # token click toggles selection; canvas arrows move it
    page.locator("[data-testid=bosw-token][data-index='9']").first.click()
    v = page.evaluate(f"{M}.get('selected')"); assert v == 9, v
    page.get_by_test_id("bosw-canvas").first.focus()
    page.keyboard.press("ArrowLeft")
    assert page.evaluate(f"{M}.get('selected')") == 8
    page.evaluate(f"{M}.set('threshold', 0.3)")
    page.mouse.move(0, 0)
    page.wait_for_timeout(100)
    readout = page.get_by_test_id("bosw-readout").first.inner_text()
    assert "Query #8" in readout, readout
    page.locator(".cell").first.screenshot(path=str(OUT / "light_T24_selected.png"))
    page.locator("[data-testid=bosw-token][data-index='8']").first.click()
    assert page.evaluate(f"{M}.get('selected')") is None

    # sink class in the strip
    sinks = page.locator(".cell").first.locator("[data-testid=bosw-token].sink").count()
    assert sinks >= 1, "no sink token highlighted"

    # error banner from Python and from an error reply; dismiss
    page.evaluate(f"{M}.set('error', 'Model failed: try a shorter text.')")
    banner = page.get_by_test_id("bosw-error").first
    assert banner.is_visible() and "shorter" in banner.inner_text()
    page.get_by_test_id("bosw-error-dismiss").first.click()
    assert not banner.is_visible()

    # view switch
    page.get_by_test_id("bosw-view").first.select_option("matrix")
    assert page.evaluate(f"{M}.get('view')") == "matrix"

    # cleanup removes every listener
    n0 = page.evaluate(f"{M}.listenerCount()")
    page.evaluate("window.bosw.cleanups.forEach(c => c())")
    n1 = page.evaluate(f"{M}.listenerCount()")
    assert n1 == 0 and n0 > 0, (n0, n1)
    assert page.get_by_test_id("bosw-root").count() == 0

    # repaint time at T = 1024 with cached slices (layer switch; both views)
    for view in ("matrix", "arcs"):
        page.goto(URL + f"T=1024&view={view}&head=4&latency=0")
        page.wait_for_function("window.bosw && window.bosw.ready")
        page.wait_for_timeout(3000)  # slice + prefetched neighbours arrive
        ms = page.evaluate(f"""() => {{
            const m = {M}; const out = [];
            for (let i = 0; i < 10; i++) {{
                const t0 = performance.now();
                m.set('layer', i % 2 ? 5 : 6);
                out.push(performance.now() - t0);
            }}
            return out;
        }}""")
        loading = page.get_by_test_id("bosw-header").inner_text()
        assert "loading" not in loading, loading
        ms.sort()
        print(f"T=1024 {view}: layer switch repaint median {ms[5]:.1f} ms, max {ms[-1]:.1f} ms")
        page.screenshot(path=str(OUT / f"light_T1024_{view}.png"), full_page=True)

    assert not errors, errors
    print("all checks passed")
    b.close()

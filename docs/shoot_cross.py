"""Take the README's cross-attention screenshot, docs/cross_attention.png, in headless Chromium.

Usage: ``.venv/bin/python docs/shoot_cross.py`` (needs the built bundle and /usr/bin/chromium).
No encoder-decoder weights ship offline, so a small random T5 is built in code (seeded; weights
drawn at 3x the default scale so that its heads are peaked enough to show structure): the
picture shows what the view draws, not what a trained T5 attends to. The cross-attention part
is written with ``to_html`` (the same front end, offline) and captured once painted.
"""

from __future__ import annotations

import pathlib
import sys
import tempfile

import torch
from playwright.sync_api import sync_playwright
from transformers import T5Config, T5ForConditionalGeneration

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout: the e2e helpers hold the browser flags

import bos_widget  # noqa: E402
from tests.e2e.jupyter import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.unit import tiny  # noqa: E402

OUT = REPO / "docs" / "cross_attention.png"
TEXT, TARGET = "the quick brown fox jumps over the lazy dog", "a red fox ran to the river"
LAYER = 1


def model() -> T5ForConditionalGeneration:
    cfg = T5Config(
        vocab_size=tiny.V,
        d_model=64,
        d_kv=16,
        d_ff=128,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=4,
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=2,
        initializer_factor=3.0,
    )
    torch.manual_seed(0)
    return T5ForConditionalGeneration(cfg).eval()


def main() -> int:
    view = bos_widget.AttentionWidget.from_model(
        model(), tiny.tokenizer(), TEXT, decoder_text=TARGET, model_name="random T5 (in code)"
    )
    cross = view.cross
    head = int(cross.run.sink_scores()[LAYER].max(-1).argmax())  # the head with the top sink
    cross.layer, cross.head, cross.threshold = LAYER, head, 0.3
    with tempfile.TemporaryDirectory() as tmp:
        page_path = cross.to_html(pathlib.Path(tmp) / "cross.html")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1000, "height": 1000}, device_scale_factor=1)
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(page_path.as_uri())
            root = page.get_by_test_id("bosw-root")
            root.wait_for(timeout=60_000)
            page.wait_for_function(
                "() => (document.querySelector('[data-testid=bosw-root]')?.dataset.painted"
                f" ?? '').startsWith('{LAYER}|{head}|raw')",
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

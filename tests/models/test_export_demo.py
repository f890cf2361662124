"""Export on the real demo models: SmolLM2 (causal, norm weighting available) and MiniLM
(bidirectional, [CLS] ... [SEP]): every slice in the page, sizes as measured, images drawn."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

from bos_widget import AttentionWidget

TEXT = "The old lighthouse keeper climbed the stairs every evening to light the lamp."


def _data(path) -> dict:
    page = path.read_text(encoding="utf-8")
    m = re.search(r'<script type="application/json" id="bosw-data">(.*?)</script>', page, re.S)
    assert m
    return json.loads(m.group(1))


def test_smollm2_page_holds_every_slice(smollm2, tmp_path):
    w = AttentionWidget.from_model(*smollm2, TEXT, model_name="smollm2", layer=3)
    path = w.to_html(tmp_path / "smol.html")
    data = _data(path)
    assert len(data["slices"]) == 30 * 10 * 2  # layers x (9 heads + mean) x (raw, norm)
    assert data["state"]["layer"] == 3 and data["state"]["meta"]["model"] == "smollm2"
    assert path.stat().st_size < 3e6, f"{path.stat().st_size / 1e6:.1f} MB for T={w.run.T}"
    reply = data["slices"]["3|-1|norm"]["reply"]
    assert reply["stats"] is not None and len(reply["stats"]["hidden_norm"]) == w.run.T


@pytest.mark.parametrize("view", ["arcs", "matrix"])
def test_minilm_images(minilm, tmp_path, view):
    pytest.importorskip("matplotlib")
    w = AttentionWidget.from_model(*minilm, TEXT, model_name="minilm", layer=2, view=view)
    svg = w.save_image(tmp_path / "m.svg")
    title = ET.parse(svg).getroot().findtext("{http://www.w3.org/2000/svg}title") or ""
    assert title.startswith(f"minilm · T={w.run.T} · layer 2/5 · mean of 12 heads · raw")
    assert "BOS added" in title  # [CLS]
    png = w.save_image(tmp_path / "m.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
